// Command reaper-init is a PID 1 for containers. It starts the command it
// is given in a process group of its own, forwards every signal it
// receives to that group, reaps every child it has or inherits, and exits
// with the command's exit status.
//
// main reads as the order of operations. The signal handler is already in
// place: package catch installs it before any other package is
// initialised. Then: keep the container's Go settings out of the init's
// runtime, read the command line, become a subreaper when not PID 1, move
// to "/", start the child in the caller's directory, let go of inherited
// descriptors, and loop until the child is gone. See README.md for the
// options.
package main

import (
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/reaper-init/reaper-init/internal/catch"
	"github.com/reaper-init/reaper-init/internal/cli"
	"github.com/reaper-init/reaper-init/internal/ending"
	"github.com/reaper-init/reaper-init/internal/footprint"
	"github.com/reaper-init/reaper-init/internal/gosettings"
	"github.com/reaper-init/reaper-init/internal/logx"
	"github.com/reaper-init/reaper-init/internal/procfs"
	"github.com/reaper-init/reaper-init/internal/reap"
	"github.com/reaper-init/reaper-init/internal/signals"
	"github.com/reaper-init/reaper-init/internal/spawn"
	"github.com/reaper-init/reaper-init/internal/supervise"
	"github.com/reaper-init/reaper-init/internal/version"
	"github.com/reaper-init/reaper-init/internal/watch"
	"golang.org/x/sys/unix"
)

// Exit codes of reaper-init's own.
const (
	exitUsage  = 2
	exitFailed = 1
)

// trimDelay is how long after the child's start reaper-init gives back
// the pages of its binary that only start-up used (package footprint):
// late enough not to cost a short-lived command anything.
const trimDelay = 200 * time.Millisecond

const usageLine = "usage: reaper-init [options] [--] command [args...]\n"

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	// The health probe is not an init: it branches off before anything
	// else, and gives the signals back to the runtime (see check.go).
	if cli.CheckRequested(args) {
		return check(args)
	}
	gosettings.Bound()
	// Let the runtime's own goroutines, made during its start, run once
	// and park on this thread: left runnable, the first blocking system
	// call would make the runtime start a thread to run them.
	runtime.Gosched()
	if why := gosettings.NeedReexec(os.LookupEnv); why != "" {
		// Only returns when the exec failed: go on as we are.
		_ = gosettings.Reexec(os.Args, os.Environ(), caughtSoFar())
	}
	environ, pending, _ := gosettings.Restore(os.Environ())
	lookup := lookupIn(environ)

	cfg, err := cli.Parse(args, lookup)
	if err != nil {
		if err == cli.ErrNoCommand {
			logx.Stderr.Write([]byte(usageLine))
		}
		usageError(err)
		return exitUsage
	}
	if answered(cfg) {
		return 0
	}
	log := logx.New(logx.Stderr, cfg.Verbosity)
	if call, errno := catch.Err(); call != "" {
		log.Warn("catching signals: " + call + ": " + unix.Errno(errno).Error())
	}
	if m := catch.Missed(); m != 0 {
		log.Debug("no handler for signals " + signals.Set(m).String())
	}

	if cfg.Pdeathsig != 0 {
		parent := os.Getppid()
		if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(cfg.Pdeathsig), 0, 0, 0); err != nil {
			log.Error("prctl PR_SET_PDEATHSIG: " + err.Error())
			return exitFailed
		}
		if os.Getppid() != parent {
			// The parent died before the request took effect.
			pending = append(pending, cfg.Pdeathsig)
		}
	}

	pid1 := os.Getpid() == 1
	if !pid1 {
		becomeSubreaper(cfg, log)
	}

	// Paths the user gave relative to the directory reaper-init started
	// in, which it is about to leave.
	cfg.MetricsFile = absolute(cfg.MetricsFile)
	if cfg.TerminationLog != ending.Off {
		cfg.TerminationLog = absolute(cfg.TerminationLog)
	}
	end := newEnding(cfg, log)

	child, tty := 0, -1
	if !cfg.Pause {
		delays := nestedDelays(cfg)
		cfg.Delays = delays.own
		dir, derr := spawn.LeaveWorkingDir()
		if derr != nil {
			log.Info("cannot leave the working directory: " + derr.Error())
		}
		env := append(withoutVar(environ, cli.OuterVar), cli.OuterVar+"="+cli.FormatOuter(&delays.total))
		child, err = spawn.Start(cfg.Command, env, spawn.Options{Dir: dir, RewriteListenPID: true, Handled: catch.Handled()})
		_ = dir.Close()
		if err != nil {
			logx.Stderr.Write([]byte("reaper-init: " + err.Error() + "\n"))
			code := exitFailed
			if e, ok := err.(*spawn.Error); ok {
				code = e.Code()
			}
			end.sum.ExecErr = err
			return end.finish(code, true)
		}
		log.Info("started " + logx.KV("command", cfg.Command[0]) + " " + logx.KVInt("pid", child))
		if spawn.IsControllingTerminal(0) {
			tty = 0
		}
	} else if dir, err := spawn.LeaveWorkingDir(); err == nil {
		_ = dir.Close()
	}
	spawn.ReleaseInherited()

	stats := watch.NewStats()
	watchOn := cfg.Watch > 0 && (!cfg.Pause || cfg.WatchSet)
	if watchOn && procfs.OwnNamespace("/proc") != nil {
		log.Warn("watch: /proc does not belong to this PID namespace (mount a new proc); not watching")
		watchOn = false
	}
	var watcher *watch.Watcher
	if watchOn || cfg.MetricsFile != "" {
		watcher = watch.New(watch.Config{
			ZombieThreshold: cfg.ZombieThreshold,
			PIDPressure:     cfg.PIDPressure,
			MetricsFile:     cfg.MetricsFile,
			Logf:            func(line string) { log.Print(logx.LevelWarn, line) },
			SignalName:      func(sig int) string { return signals.Name(unix.Signal(sig)) },
		}, stats)
	}
	interval := cfg.Watch
	if !watchOn {
		interval = 0
	}

	sup := supervise.New(supervise.Config{
		Child:         child,
		PID1:          pid1,
		SingleChild:   cfg.SingleChild,
		Rewrites:      &cfg.Rewrites,
		Stop:          cfg.Stop,
		Grace:         cfg.Grace,
		DumpSignal:    cfg.DumpSignal,
		DumpWait:      cfg.DumpWait,
		Delays:        &cfg.Delays,
		WarnOnReap:    cfg.WarnOnReap || log.Enabled(logx.LevelDebug),
		JobControl:    !pid1 && !cfg.Pause,
		TTY:           tty,
		Log:           log,
		Watch:         watcher,
		WatchInterval: interval,
		Stats:         stats,
		Later: func() {
			end.startCounting()
			footprint.Trim()
		},
		LaterDelay: trimDelay,
		OnStopping: func(sig unix.Signal, at time.Time, sent unix.Signal) {
			end.stopping(sig, at, sent, child, watcher)
		},
	}, handler{})
	out := sup.Run(pending)
	if out.Err != nil {
		return exitFailed
	}
	unusual := end.record(out, watcher)
	if watcher != nil {
		if err := watcher.WriteMetrics(); err != nil { // none when no file is set
			log.Warn("metrics file: " + err.Error())
		}
	}
	code := out.Code
	if cfg.Pause {
		code = 0
	}
	if code >= 0 && code < len(cfg.RemapExit) && cfg.RemapExit[code] {
		log.Info("remapping exit code " + strconv.Itoa(code) + " to 0")
		code = 0
	}
	return end.finish(code, unusual)
}

// handler steers the signal handler of package catch for the main loop.
type handler struct{}

func (handler) FD() int                         { return catch.FD() }
func (handler) Read(b []byte) int               { return catch.Read(b) }
func (handler) ChildSeen()                      { catch.ChildSeen() }
func (handler) SetTarget(t, c int)              { catch.SetTarget(t, c) }
func (handler) SetForward(s, to int, loud bool) { catch.SetForward(s, to, loud) }
func (handler) Counted(fn func(sig, n int))     { catch.Counted(fn) }
func (handler) DisableFast()                    { catch.DisableFast() }

// caughtSoFar reads the signals the handler has caught before the child
// exists (they would be lost with the pipe at a re-exec).
func caughtSoFar() []unix.Signal {
	var out []unix.Signal
	var buf [128]byte
	for {
		n := catch.Read(buf[:])
		if n <= 0 {
			return out
		}
		for _, b := range buf[:n] {
			if sig := unix.Signal(b &^ catch.Forwarded); sig != unix.SIGCHLD {
				out = append(out, sig)
			}
		}
		catch.ChildSeen()
	}
}

// becomeSubreaper makes reaper-init, when it is not PID 1, the child
// subreaper of its tree (as catatonit does), so that nested inits and
// shared-PID pods reap their own orphans without a flag. The kernel is
// asked first: a parent may have made it one already. A platform that
// refuses (gVisor, AWS Lambda, qemu-user) gets one warning, and the
// command runs anyway.
func becomeSubreaper(cfg *cli.Config, log *logx.Logger) {
	if cfg.NoSubreaper {
		log.Info("not PID 1 and REAPER_SUBREAPER=0: orphans below the child will not be reaped")
		return
	}
	if is, err := reap.IsSubreaper(); err == nil && is {
		return
	}
	if err := reap.SetSubreaper(); err != nil {
		log.Warn("cannot become a child subreaper (" + err.Error() + "): not PID 1, so orphans below the child will not be reaped")
	}
}

// delaySets are the delays this reaper-init applies itself and the ones
// its child's environment says were applied, once for both.
type delaySets struct {
	own, total [signals.Max + 1]time.Duration
}

// nestedDelays splits the delays between an outer reaper-init and this
// one: a signal the outer one already held is held here only for what
// this one's --delay asks beyond that.
func nestedDelays(cfg *cli.Config) delaySets {
	var d delaySets
	for sig := range cfg.Delays {
		own, outer := cfg.Delays[sig], cfg.OuterDelays[sig]
		d.own[sig] = max(own-outer, 0)
		d.total[sig] = max(own, outer)
	}
	return d
}

// absolute resolves a path given relative to the starting directory.
func absolute(path string) string {
	if path == "" || filepath.IsAbs(path) {
		return path
	}
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return path
}

// lookupIn is os.LookupEnv over env.
func lookupIn(env []string) func(string) (string, bool) {
	return func(key string) (string, bool) {
		for i := len(env) - 1; i >= 0; i-- {
			if k, v, ok := strings.Cut(env[i], "="); ok && k == key {
				return v, true
			}
		}
		return "", false
	}
}

// withoutVar returns env without the variable name.
func withoutVar(env []string, name string) []string {
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k != name {
			out = append(out, kv)
		}
	}
	return out
}

// usageError says on stderr, in one line, what is wrong with the command
// line.
func usageError(err error) {
	logx.Stderr.Write([]byte("reaper-init: " + err.Error() + " (see reaper-init --help)\n"))
}

// answered prints the help or the version when the command line asks for
// one, and reports whether it did: then there is nothing else to do.
func answered(cfg *cli.Config) bool {
	switch {
	case cfg.Help:
		os.Stdout.WriteString(usageText)
	case cfg.Version:
		os.Stdout.WriteString(version.Text())
	default:
		return false
	}
	return true
}
