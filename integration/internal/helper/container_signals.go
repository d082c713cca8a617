package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The container-* subcommands are the workloads of the container tests
// (integration/docker and integration/realworld). They run in FROM-scratch
// images, so they use nothing but this program and the kernel.

func init() {
	commands["container-serve"] = containerServe
	commands["container-wrap"] = containerWrap
}

// containerSignalNames are the signals the container tests name, by their
// short names. Any other signal is written as its number.
var containerSignalNames = map[string]syscall.Signal{
	"HUP":   syscall.SIGHUP,
	"INT":   syscall.SIGINT,
	"QUIT":  syscall.SIGQUIT,
	"USR1":  syscall.SIGUSR1,
	"USR2":  syscall.SIGUSR2,
	"PIPE":  syscall.SIGPIPE,
	"ALRM":  syscall.SIGALRM,
	"TERM":  syscall.SIGTERM,
	"CONT":  syscall.SIGCONT,
	"TSTP":  syscall.SIGTSTP,
	"URG":   syscall.SIGURG,
	"WINCH": syscall.SIGWINCH,
}

// containerParseSignal accepts TERM, SIGTERM or 15.
func containerParseSignal(s string) (syscall.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil && n > 0 && n < 65 {
		return syscall.Signal(n), nil
	}
	if sig, ok := containerSignalNames[strings.TrimPrefix(strings.ToUpper(s), "SIG")]; ok {
		return sig, nil
	}
	return 0, fmt.Errorf("unknown signal %q", s)
}

// containerSignalName is the inverse of containerParseSignal.
func containerSignalName(sig syscall.Signal) string {
	for name, s := range containerSignalNames {
		if s == sig {
			return name
		}
	}
	return strconv.Itoa(int(sig))
}

// containerServe is a long-running server:
//
//	container-serve [-exit SIG:CODE]... [SIG]...
//
// It prints "ready pid=N" on stdout, then "got SIG" for each signal it
// receives among the ones named; a signal named with -exit is reported the
// same way and then ends the process with CODE. Signals not named keep
// their default action, so SIGTERM kills it unless it is named.
func containerServe(args []string) int {
	exitOn := map[syscall.Signal]int{}
	var caught []os.Signal
	for i := 0; i < len(args); i++ {
		if args[i] == "-exit" {
			if i+1 == len(args) {
				fmt.Fprintln(os.Stderr, "container-serve: -exit needs SIG:CODE")
				return 2
			}
			i++
			name, code, ok := strings.Cut(args[i], ":")
			sig, err := containerParseSignal(name)
			n, cerr := strconv.Atoi(code)
			if !ok || err != nil || cerr != nil || n < 0 || n > 255 {
				fmt.Fprintf(os.Stderr, "container-serve: bad -exit %q (want SIG:CODE)\n", args[i])
				return 2
			}
			exitOn[sig] = n
			caught = append(caught, sig)
			continue
		}
		sig, err := containerParseSignal(args[i])
		if err != nil {
			fmt.Fprintf(os.Stderr, "container-serve: %v\n", err)
			return 2
		}
		caught = append(caught, sig)
	}
	fmt.Printf("ready pid=%d\n", os.Getpid())
	if len(caught) == 0 {
		containerBlock()
	}
	c := make(chan os.Signal, 16)
	signal.Notify(c, caught...)
	for s := range c {
		sig := s.(syscall.Signal)
		fmt.Printf("got %s\n", containerSignalName(sig))
		if code, ok := exitOn[sig]; ok {
			return code
		}
	}
	return 0
}

// containerBlock blocks forever. A plain select{} would not do: with no
// other goroutine the runtime reports a deadlock and exits.
func containerBlock() {
	for {
		time.Sleep(time.Hour)
	}
}

// containerWrap is a launcher that never passes a signal on:
//
//	container-wrap CMD [ARGS...]
//
// It runs CMD as its child, catches every signal and drops it, and exits
// with the child's status: its code, or 128+N when signal N killed it.
// Signals are caught, not ignored, so the child starts with the default
// actions. Many language launchers and process managers behave this way;
// a signal meant for CMD reaches it only when it is sent to the whole
// process group.
func containerWrap(args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: container-wrap CMD [ARGS...]")
		return 2
	}
	c := make(chan os.Signal, 64)
	signal.Notify(c)
	go func() {
		for range c {
		}
	}()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	default:
		fmt.Fprintf(os.Stderr, "container-wrap: %v\n", err)
		return 127
	}
}
