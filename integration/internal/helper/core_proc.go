package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"time"
	"unsafe"
)

func init() {
	commands["core-killself"] = coreKillself
	commands["core-group"] = coreGroup
	commands["core-spin"] = coreSpin
	commands["core-tty"] = coreTTY
	commands["core-blockexec"] = coreBlockexec
	commands["core-openexec"] = coreOpenexec
	commands["core-report"] = coreReport
}

// coreKillself sends signal SIG (a number) to itself with the default
// disposition and, should it survive, exits 1.
//
// Usage: core-killself SIG
func coreKillself(args []string) int {
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: core-killself SIG")
		return 2
	}
	n, err := strconv.Atoi(args[0])
	if err != nil || n <= 0 {
		fmt.Fprintln(os.Stderr, "core-killself: bad signal", args[0])
		return 2
	}
	sig := syscall.Signal(n)
	signal.Reset(sig)
	if err := syscall.Kill(os.Getpid(), sig); err != nil {
		return coreFail("core-killself", err)
	}
	time.Sleep(10 * time.Second)
	return 1
}

// coreGroup starts several commands in its own process group and waits
// for all of them; it exits with the first command's code. The parent of
// the commands is this process, so none of them gets a SIGCHLD from
// another.
//
// Usage: core-group COMMAND [ARGS...] [+ COMMAND [ARGS...]]...
func coreGroup(args []string) int {
	var cmds [][]string
	cur := []string{}
	for _, a := range args {
		if a == "+" {
			cmds = append(cmds, cur)
			cur = []string{}
			continue
		}
		cur = append(cur, a)
	}
	cmds = append(cmds, cur)
	var started []*exec.Cmd
	for _, c := range cmds {
		if len(c) == 0 {
			fmt.Fprintln(os.Stderr, "usage: core-group COMMAND [ARGS...] [+ COMMAND [ARGS...]]...")
			return 2
		}
		cmd := exec.Command(c[0], c[1:]...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
		if err := cmd.Start(); err != nil {
			return coreFail("core-group", err)
		}
		started = append(started, cmd)
	}
	// Reap each command as it ends, whatever the order, so that none
	// stays a zombie while an earlier one still runs.
	errs := make([]error, len(started))
	doneCh := make(chan struct{}, len(started))
	for i, cmd := range started {
		go func() {
			errs[i] = cmd.Wait()
			doneCh <- struct{}{}
		}()
	}
	for range started {
		<-doneCh
	}
	code := 0
	for i, err := range errs {
		var ee *exec.ExitError
		switch {
		case err == nil:
		case errors.As(err, &ee):
			if i == 0 {
				code = ee.ExitCode()
				if code < 0 {
					code = 98
				}
			}
		default:
			return coreFail("core-group", err)
		}
	}
	return code
}

// coreSpin keeps one CPU busy until FILE exists.
//
// Usage: core-spin FILE
func coreSpin(args []string) int {
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: core-spin FILE")
		return 2
	}
	deadline := time.Now().Add(coreMaxLife)
	x := uint64(1)
	for time.Now().Before(deadline) {
		for i := uint64(0); i < 1<<20; i++ {
			x = x*6364136223846793005 + i
		}
		if _, err := os.Stat(args[0]); err == nil {
			break
		}
	}
	if x == 0 {
		fmt.Println(x)
	}
	return 0
}

// coreTTY reports its place on the terminal on stdin, then reads one line
// from stdin and echoes it.
//
// Usage: core-tty
//
// The report is one line "tty pid=P pgid=G ppgid=Q fg=F": F is the
// foreground process group of the terminal on fd 0 (tcgetpgrp), or -1
// when fd 0 is no terminal. The echo is "got LINE", or "eof" when stdin
// ends first.
func coreTTY(args []string) int {
	fg := int32(-1)
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, 0, syscall.TIOCGPGRP, uintptr(unsafe.Pointer(&fg))); e != 0 {
		fg = -1
	}
	ppgid, err := syscall.Getpgid(os.Getppid())
	if err != nil {
		ppgid = -1
	}
	fmt.Printf("tty pid=%d pgid=%d ppgid=%d fg=%d\n", os.Getpid(), syscall.Getpgrp(), ppgid, fg)
	line, err := bufio.NewReader(os.Stdin).ReadString('\n')
	switch {
	case err == nil:
		fmt.Printf("got %s", line)
	case errors.Is(err, io.EOF):
		fmt.Println("eof")
	default:
		return coreFail("core-tty", err)
	}
	return 0
}

// coreBlockexec executes COMMAND with SIGTSTP and SIGUSR1 blocked and
// SIGINT and SIGQUIT ignored, the state a careless parent passes on.
//
// Usage: core-blockexec COMMAND [ARGS...]
func coreBlockexec(args []string) int {
	if len(args) < 1 {
		fmt.Fprintln(os.Stderr, "usage: core-blockexec COMMAND [ARGS...]")
		return 2
	}
	path, err := exec.LookPath(args[0])
	if err != nil {
		return coreFail("core-blockexec", err)
	}
	signal.Ignore(syscall.SIGINT, syscall.SIGQUIT)
	// The mask is per thread and survives execve: block on the thread
	// that executes.
	runtime.LockOSThread()
	set := uint64(1)<<(syscall.SIGTSTP-1) | uint64(1)<<(syscall.SIGUSR1-1)
	const sigBlock = 0
	if _, _, e := syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, sigBlock, uintptr(unsafe.Pointer(&set)), 0, 8, 0, 0); e != 0 {
		return coreFail("core-blockexec", fmt.Errorf("block signals: %w", e))
	}
	err = syscall.Exec(path, args, os.Environ())
	return coreFail("core-blockexec", fmt.Errorf("exec %s: %w", path, err))
}

// coreOpenexec opens PATH for writing as file descriptor FD, not closed
// on exec, and executes COMMAND with it. Opening a FIFO blocks until it
// has a reader.
//
// Usage: core-openexec FD PATH COMMAND [ARGS...]
func coreOpenexec(args []string) int {
	if len(args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: core-openexec FD PATH COMMAND [ARGS...]")
		return 2
	}
	target, err := strconv.Atoi(args[0])
	if err != nil || target < 3 {
		fmt.Fprintln(os.Stderr, "core-openexec: bad descriptor", args[0])
		return 2
	}
	path, err := exec.LookPath(args[2])
	if err != nil {
		return coreFail("core-openexec", err)
	}
	fd, err := syscall.Open(args[1], syscall.O_WRONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return coreFail("core-openexec", fmt.Errorf("open %s: %w", args[1], err))
	}
	if fd == target {
		if _, _, e := syscall.RawSyscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_SETFD, 0); e != 0 {
			return coreFail("core-openexec", fmt.Errorf("fcntl: %w", e))
		}
	} else {
		if err := syscall.Dup3(fd, target, 0); err != nil {
			return coreFail("core-openexec", fmt.Errorf("dup3: %w", err))
		}
		syscall.Close(fd)
	}
	err = syscall.Exec(path, args[2:], os.Environ())
	return coreFail("core-openexec", fmt.Errorf("exec %s: %w", path, err))
}

// coreReport describes how it was started, then waits to be stopped.
//
// Usage: core-report DIR
//
// It writes DIR/report with the lines "cwd=DIR" (its working directory)
// and "fd3=TARGET" (where file descriptor 3 points, or "none"). When fd 3
// is a pipe or FIFO it then writes "hello\n" to it and closes it, and
// writes DIR/closed. (When nothing was inherited as fd 3 the Go runtime
// may have opened a file of its own there, such as a cgroup limit.) It exits with the code in DIR/stop once that appears.
func coreReport(args []string) int {
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: core-report DIR")
		return 2
	}
	dir := args[0]
	cwd, err := os.Readlink("/proc/self/cwd")
	if err != nil {
		return coreFail("core-report", err)
	}
	fd3, err := os.Readlink("/proc/self/fd/3")
	if err != nil {
		fd3 = "none"
	}
	if err := coreWriteFile(filepath.Join(dir, "report"), fmt.Sprintf("cwd=%s\nfd3=%s\n", cwd, fd3)); err != nil {
		return coreFail("core-report", err)
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(3, &st); err == nil && st.Mode&syscall.S_IFMT == syscall.S_IFIFO {
		if _, err := syscall.Write(3, []byte("hello\n")); err != nil {
			return coreFail("core-report", fmt.Errorf("write fd 3: %w", err))
		}
		if err := syscall.Close(3); err != nil {
			return coreFail("core-report", fmt.Errorf("close fd 3: %w", err))
		}
		if err := coreWriteFile(filepath.Join(dir, "closed"), "closed\n"); err != nil {
			return coreFail("core-report", err)
		}
	}
	code, err := coreWaitStop(filepath.Join(dir, "stop"))
	if err != nil {
		return coreFail("core-report", err)
	}
	return code
}
