// Command reaper-init is a PID 1 for containers. It starts the command it
// is given in a process group of its own, forwards every signal it
// receives to that group, reaps every child it has or inherits, and exits
// with the command's exit status.
//
// main reads as the order of operations: read the command line, take
// the runtime in hand, catch signals, become a subreaper if asked, start
// the child, let go of the caller's directory and descriptors, then loop
// until the child is gone. See README.md for the options.
package main

import (
	"os"
	"runtime"
	"strconv"
	"sync"

	"github.com/reaper-init/reaper-init/internal/cli"
	"github.com/reaper-init/reaper-init/internal/logx"
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

// spareThreads is how many idle OS threads the runtime is made to keep in
// reserve before the child starts, so that it does not have to create one
// later: under PID exhaustion (a fork bomb in the container) thread
// creation fails, and a Go runtime that cannot create a thread it needs
// aborts. The main loop has a thread of its own (it is locked to the main
// thread); the others run the watch, the garbage collector's workers and
// the runtime's background goroutines. The runtime starts with two idle
// threads of its own; two more cover a watch scan blocked in a system call
// while the collector runs on every P of a two-CPU container.
const spareThreads = 2

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	// Catch every signal, SIGCHLD above all, first: a Go program exits on
	// a SIGTERM it has not asked for.
	catcher, catchErr := signals.NewCatcher()

	cfg, err := cli.Parse(args, os.LookupEnv)
	if err != nil {
		logx.Stderr.Write([]byte("reaper-init: " + err.Error() + " (see reaper-init --help)\n"))
		return exitUsage
	}
	if cfg.Help {
		os.Stdout.WriteString(usageText)
		return 0
	}
	if cfg.Version {
		os.Stdout.WriteString(version.Text())
		return 0
	}
	log := logx.New(logx.Stderr, cfg.Verbosity)
	if catchErr != nil {
		log.Error("catching signals: " + catchErr.Error())
		return exitFailed
	}

	if !signals.URGForwardable() {
		log.Info("the Go runtime may send itself SIGURG (binary not linked with asyncpreemptoff=1, or GODEBUG overrides it): SIGURG will not be forwarded")
	}

	var pending unix.Signal // a signal to act on as soon as the child runs
	if cfg.Pdeathsig != 0 {
		parent := os.Getppid()
		if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(cfg.Pdeathsig), 0, 0, 0); err != nil {
			log.Error("prctl PR_SET_PDEATHSIG: " + err.Error())
			return exitFailed
		}
		if os.Getppid() != parent {
			// The parent died before the request took effect.
			pending = cfg.Pdeathsig
		}
	}

	pid1 := os.Getpid() == 1
	if !pid1 {
		if cfg.Subreaper {
			if err := reap.SetSubreaper(); err != nil {
				log.Error(err.Error())
				return exitFailed
			}
		} else {
			log.Warn("not running as PID 1 and not a subreaper: orphans below the child will not be reaped (use -s, or -q to silence this)")
		}
	}

	child, err := spawn.Start(cfg.Command, os.Environ())
	if err != nil {
		logx.Stderr.Write([]byte("reaper-init: " + err.Error() + "\n"))
		if e, ok := err.(*spawn.Error); ok {
			return e.Code()
		}
		return exitFailed
	}
	log.Info("started " + logx.KV("command", cfg.Command[0]) + " " + logx.KVInt("pid", child))
	// The main loop stays on the main thread, the one the kernel prefers
	// for a signal sent to the process: the signal's handler then runs on
	// the thread that waits in ppoll, and a forwarded signal costs one
	// wake-up. (Locking it after the child has started keeps the
	// runtime's first locked-thread set-up off the start-up path.)
	runtime.LockOSThread()
	// Spare threads now, while the child is still starting: it has to be
	// running for a while before it can have exhausted the container's
	// PIDs, and making them here overlaps with its start.
	reserveThreads(spareThreads)
	spawn.ReleaseInherited()

	stats := watch.NewStats()
	var watcher *watch.Watcher
	if cfg.Watch > 0 && !procIsOurs() {
		log.Warn("watch: /proc does not belong to this PID namespace (mount a new proc); not watching")
		cfg.Watch = 0
	}
	if cfg.Watch > 0 || cfg.MetricsFile != "" {
		watcher = watch.New(watch.Config{
			Interval:        cfg.Watch,
			ZombieThreshold: cfg.ZombieThreshold,
			MetricsFile:     cfg.MetricsFile,
			Logf:            func(line string) { log.Print(logx.LevelWarn, line) },
			SignalName:      func(sig int) string { return signals.Name(unix.Signal(sig)) },
		}, stats)
		if cfg.Watch > 0 {
			go watcher.Run(nil)
		}
	}

	sup := supervise.New(supervise.Config{
		Child:       child,
		PID1:        pid1,
		SingleChild: cfg.SingleChild,
		Rewrites:    &cfg.Rewrites,
		Grace:       cfg.Grace,
		DumpSignal:  cfg.DumpSignal,
		DumpWait:    cfg.DumpWait,
		Delays:      &cfg.Delays,
		WarnOnReap:  cfg.WarnOnReap || log.Enabled(logx.LevelDebug),
		Log:         log,
		OnReap: func(pid, code int, main bool) {
			stats.Reaped.Add(1)
			if main {
				stats.ChildExit.Store(int64(code))
			} else {
				stats.OrphansReaped.Add(1)
			}
		},
		OnForward: func(sig unix.Signal) { stats.Forwarded[sig].Add(1) },
	}, catcher)
	code := sup.Run(pending)
	if watcher != nil && cfg.MetricsFile != "" {
		if err := watcher.WriteMetrics(); err != nil {
			log.Warn("metrics file: " + err.Error())
		}
	}
	if code >= 0 && code < len(cfg.RemapExit) && cfg.RemapExit[code] {
		log.Info("remapping exit code " + strconv.Itoa(code) + " to 0")
		code = 0
	}
	return code
}

// procIsOurs reports whether /proc shows this process's PID namespace:
// under "unshare --pid --fork" without --mount-proc it still shows the
// host's, and a scan would count the host's processes.
func procIsOurs() bool {
	self, err := os.Readlink("/proc/self")
	return err == nil && self == strconv.Itoa(os.Getpid())
}

// reserveThreads makes the runtime start n more OS threads now and keep
// them idle: each of n goroutines holds a thread while the others start,
// then all let go, and the runtime parks the threads for later use.
func reserveThreads(n int) {
	var started sync.WaitGroup
	release := make(chan struct{})
	started.Add(n)
	for i := 0; i < n; i++ {
		go func() {
			runtime.LockOSThread()
			started.Done()
			<-release
			runtime.UnlockOSThread()
		}()
	}
	started.Wait()
	close(release)
}
