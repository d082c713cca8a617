package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The graceful-shutdown tests need processes that handle termination
// signals in controlled ways and orphans whose readiness the test can
// wait for:
//
//	grace-trap [-sig TERM,INT] [-ignore] [-code N] [-record FILE]
//	           [-spawn-ready FILE] READY [ARGV...]
//
// traps the listed signals (TERM by default). Each one received is
// appended to FILE as "UNIXNANO NAME\n"; then the process exits with code
// N, or keeps running with -ignore. With ARGV it first starts ARGV in the
// background (same process group, never waited for) and waits until ARGV
// has written -spawn-ready. Once set up it writes its pid to READY. It
// never exits on its own, so a SIGQUIT it does not trap makes the Go
// runtime dump its goroutines.
//
//	grace-orphan [-setsid] [-code N] [-stamp FILE] CHILD_READY ARGV...
//
// starts ARGV in the background (in a new session with -setsid), waits
// until ARGV has written CHILD_READY, writes the current time to FILE and
// exits with code N, leaving ARGV an orphan.

func init() {
	commands["grace-trap"] = graceTrap
	commands["grace-orphan"] = graceOrphan
}

// graceReadyTimeout bounds the wait for a spawned process's ready file.
const graceReadyTimeout = 20 * time.Second

// graceSignals names the signals grace-trap accepts in -sig.
var graceSignals = map[string]syscall.Signal{
	"HUP":  syscall.SIGHUP,
	"INT":  syscall.SIGINT,
	"QUIT": syscall.SIGQUIT,
	"TERM": syscall.SIGTERM,
	"USR1": syscall.SIGUSR1,
	"USR2": syscall.SIGUSR2,
}

func graceTrap(args []string) int {
	fs := flag.NewFlagSet("grace-trap", flag.ContinueOnError)
	sigs := fs.String("sig", "TERM", "comma-separated signals to trap")
	ignore := fs.Bool("ignore", false, "keep running after a trapped signal")
	code := fs.Int("code", 0, "exit code after a trapped signal")
	record := fs.String("record", "", "append one line per trapped signal to this file")
	spawnReady := fs.String("spawn-ready", "", "ready file of the process started from ARGV")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() < 1 || (fs.NArg() > 1) != (*spawnReady != "") {
		fmt.Fprintln(os.Stderr, "usage: grace-trap [flags] READY [ARGV...]; ARGV and -spawn-ready go together")
		return 2
	}
	names := map[os.Signal]string{}
	var trapped []os.Signal
	for _, name := range strings.Split(*sigs, ",") {
		s, ok := graceSignals[name]
		if !ok {
			fmt.Fprintf(os.Stderr, "grace-trap: unknown signal %q\n", name)
			return 2
		}
		names[s] = name
		trapped = append(trapped, s)
	}
	ch := make(chan os.Signal, 16)
	signal.Notify(ch, trapped...)

	if fs.NArg() > 1 {
		if err := graceStart(fs.Args()[1:], false, *spawnReady); err != nil {
			fmt.Fprintf(os.Stderr, "grace-trap: %v\n", err)
			return 1
		}
	}
	if err := graceWriteFile(fs.Arg(0), fmt.Sprintf("%d\n", os.Getpid())); err != nil {
		fmt.Fprintf(os.Stderr, "grace-trap: %v\n", err)
		return 1
	}
	for s := range ch {
		if *record != "" {
			if err := graceAppend(*record, fmt.Sprintf("%d %s\n", time.Now().UnixNano(), names[s])); err != nil {
				fmt.Fprintf(os.Stderr, "grace-trap: %v\n", err)
				return 1
			}
		}
		if !*ignore {
			return *code
		}
	}
	return 0
}

func graceOrphan(args []string) int {
	fs := flag.NewFlagSet("grace-orphan", flag.ContinueOnError)
	setsid := fs.Bool("setsid", false, "start ARGV in a new session")
	code := fs.Int("code", 0, "exit code")
	stamp := fs.String("stamp", "", "write the time of exit to this file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() < 2 {
		fmt.Fprintln(os.Stderr, "usage: grace-orphan [flags] CHILD_READY ARGV...")
		return 2
	}
	if err := graceStart(fs.Args()[1:], *setsid, fs.Arg(0)); err != nil {
		fmt.Fprintf(os.Stderr, "grace-orphan: %v\n", err)
		return 1
	}
	if *stamp != "" {
		if err := graceWriteFile(*stamp, strconv.FormatInt(time.Now().UnixNano(), 10)+"\n"); err != nil {
			fmt.Fprintf(os.Stderr, "grace-orphan: %v\n", err)
			return 1
		}
	}
	return *code
}

// graceStart starts argv in the background with its standard streams on
// /dev/null and waits until it has written ready. The process is never
// waited for: it becomes an orphan when the caller exits.
func graceStart(argv []string, setsid bool, ready string) error {
	cmd := exec.Command(argv[0], argv[1:]...)
	if setsid {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	deadline := time.Now().Add(graceReadyTimeout)
	for {
		b, err := os.ReadFile(ready)
		if err == nil && len(b) > 0 {
			return nil
		}
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s (pid %d) did not write %s within %v", argv[0], cmd.Process.Pid, ready, graceReadyTimeout)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// graceWriteFile writes data to path atomically, so that a reader polling
// for the file never sees it empty or partial.
func graceWriteFile(path, data string) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(data), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// graceAppend appends one line to path with a single write.
func graceAppend(path, line string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(line); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
