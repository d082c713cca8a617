package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func init() {
	commands["core-sigrecord"] = coreSigrecord
}

// coreSigrecord records every signal it receives.
//
// Usage: core-sigrecord LOG [COMMAND [ARGS...]]
//
// It catches every catchable signal, starts COMMAND (if given) as its
// child in the same process group, then writes "pid=P pgid=G ppgid=Q" to
// LOG.ready. Each signal received appends its number and a newline to
// LOG. When LOG.stop appears it waits for COMMAND and exits with the code
// written in LOG.stop.
//
// The Go runtime preempts goroutines by sending its own threads SIGURG,
// which a recorder of SIGURG must not see: the subcommand re-executes
// itself with asynchronous preemption off before listening.
func coreSigrecord(args []string) int {
	if len(args) < 1 {
		fmt.Fprintln(os.Stderr, "usage: core-sigrecord LOG [COMMAND [ARGS...]]")
		return 2
	}
	if !coreAsyncPreemptOff() {
		env := []string{"GODEBUG=" + coreJoinGodebug(os.Getenv("GODEBUG"), "asyncpreemptoff=1")}
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "GODEBUG=") {
				env = append(env, kv)
			}
		}
		err := syscall.Exec("/proc/self/exe", os.Args, env)
		return coreFail("core-sigrecord", fmt.Errorf("re-exec with asyncpreemptoff=1: %w", err))
	}
	logPath := args[0]
	log, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return coreFail("core-sigrecord", err)
	}
	defer log.Close()

	ch := make(chan os.Signal, 4096)
	signal.Notify(ch)

	var child *exec.Cmd
	if len(args) > 1 {
		child = exec.Command(args[1], args[2:]...)
		child.Stdin, child.Stdout, child.Stderr = os.Stdin, os.Stdout, os.Stderr
		if err := child.Start(); err != nil {
			return coreFail("core-sigrecord", err)
		}
	}
	ppgid, err := syscall.Getpgid(os.Getppid())
	if err != nil {
		ppgid = -1
	}
	ready := fmt.Sprintf("pid=%d pgid=%d ppgid=%d\n", os.Getpid(), syscall.Getpgrp(), ppgid)
	if err := coreWriteFile(logPath+".ready", ready); err != nil {
		return coreFail("core-sigrecord", err)
	}

	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.Now().Add(coreMaxLife)
	for {
		select {
		case s := <-ch:
			sig, ok := s.(syscall.Signal)
			if !ok {
				continue
			}
			if _, err := fmt.Fprintf(log, "%d\n", int(sig)); err != nil {
				return coreFail("core-sigrecord", err)
			}
		case now := <-tick.C:
			code, ok := coreStopCode(logPath + ".stop")
			if !ok && now.Before(deadline) {
				continue
			}
			if !ok {
				return coreFail("core-sigrecord", errors.New("no stop file"))
			}
			if child != nil {
				if err := child.Wait(); err != nil {
					var ee *exec.ExitError
					if !errors.As(err, &ee) {
						return coreFail("core-sigrecord", err)
					}
				}
			}
			return code
		}
	}
}

// coreAsyncPreemptOff reports whether GODEBUG turns asynchronous preemption
// off (the last setting of asyncpreemptoff wins, as in the runtime).
func coreAsyncPreemptOff() bool {
	off := false
	for _, kv := range strings.Split(os.Getenv("GODEBUG"), ",") {
		if v, ok := strings.CutPrefix(kv, "asyncpreemptoff="); ok {
			off = v == "1"
		}
	}
	return off
}

// coreJoinGodebug appends setting to a GODEBUG value.
func coreJoinGodebug(cur, setting string) string {
	if cur == "" {
		return setting
	}
	return cur + "," + setting
}
