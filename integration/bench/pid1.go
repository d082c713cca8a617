package main

import (
	"fmt"
	"os"
	"syscall"
)

// nsAttr returns the attributes that start a process as PID 1 of a fresh
// PID namespace: clone(2) flags rather than unshare(1), so that no extra
// process is timed. With mountNS the process also gets a mount namespace
// of its own, in which the pid1 workload mounts a /proc for the new PID
// namespace. As a user other than root, a user namespace mapping the user
// to root comes first.
func nsAttr(mountNS bool) *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID, Pdeathsig: syscall.SIGKILL}
	if mountNS {
		a.Cloneflags |= syscall.CLONE_NEWNS
	}
	if uid := os.Geteuid(); uid != 0 {
		a.Cloneflags |= syscall.CLONE_NEWUSER
		a.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: uid, Size: 1}}
		a.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}}
	}
	return a
}

// spawnDirect starts argv as PID 1 of a fresh PID namespace, with the
// environment env, standard input and output on /dev/null and standard
// error on stderr. It is the
// lightest way to start a PID 1, and the one the start-up test uses. The
// process sees the host's /proc, which serves what an init reads while it
// starts (/proc/self) as well as its own would; mounting one would add a
// mount namespace and a mount to every run.
func (b *bench) spawnDirect(argv, env []string, stderr *os.File) (int, error) {
	return spawn(argv[0], argv, env, b.null, stderr, nsAttr(false))
}

// spawnPID1 starts argv as PID 1 of fresh PID and mount namespaces, with a
// /proc mounted for the new PID namespace before argv is executed (by this
// program's pid1 workload, which execs argv and so stays PID 1), as in a
// container.
func (b *bench) spawnPID1(argv, env []string, stderr *os.File) (int, error) {
	return spawn(b.self, append([]string{b.self, "pid1"}, argv...), env, b.null, stderr, nsAttr(true))
}

// spawn starts path with the given environment and attributes, standard
// input and output on null and standard error on stderr (null when nil).
func spawn(path string, argv, env []string, null, stderr *os.File, attr *syscall.SysProcAttr) (int, error) {
	errFD := null.Fd()
	if stderr != nil {
		errFD = stderr.Fd()
	}
	pid, err := syscall.ForkExec(path, argv, &syscall.ProcAttr{
		Env:   env,
		Files: []uintptr{null.Fd(), null.Fd(), errFD},
		Sys:   attr,
	})
	if err != nil {
		return 0, fmt.Errorf("start %s as PID 1: %w", argv[0], err)
	}
	return pid, nil
}

// waitPID waits for pid and returns its exit status, 128+N when signal N
// killed it.
func waitPID(pid int) (int, error) {
	for {
		var ws syscall.WaitStatus
		_, err := syscall.Wait4(pid, &ws, 0, nil)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("wait4 %d: %w", pid, err)
		}
		if ws.Signaled() {
			return 128 + int(ws.Signal()), nil
		}
		return ws.ExitStatus(), nil
	}
}

// kill ends the PID namespace of which pid is PID 1 (the kernel kills
// every process in it when its PID 1 dies) and reaps pid.
func kill(pid int) {
	_ = syscall.Kill(pid, syscall.SIGKILL)
	_, _ = waitPID(pid)
}

// probeNamespace checks that a PID namespace can be made here, both ways
// this program makes them.
func (b *bench) probeNamespace() error {
	for _, mountNS := range []bool{false, true} {
		pid, err := spawn(b.truePath, []string{b.truePath}, b.env, b.null, nil, nsAttr(mountNS))
		if err != nil {
			return fmt.Errorf("cannot create a PID namespace here (run as root): %w", err)
		}
		if code, err := waitPID(pid); err != nil || code != 0 {
			return fmt.Errorf("%s as PID 1 of a new PID namespace: exit %d, %v", b.truePath, code, err)
		}
	}
	return nil
}

// pid1Workload mounts a /proc for the PID namespace of which it is PID 1,
// in its private mount namespace, and execs its arguments.
//
// Usage: pid1 PATH [ARGS...]
func pid1Workload(args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: bench pid1 PATH [ARGS...]")
		return 2
	}
	if os.Getpid() != 1 {
		fmt.Fprintln(os.Stderr, "bench pid1: not PID 1 of a PID namespace")
		return 1
	}
	if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
		fmt.Fprintf(os.Stderr, "bench pid1: make / private: %v\n", err)
		return 1
	}
	if err := syscall.Mount("proc", "/proc", "proc", syscall.MS_NOSUID|syscall.MS_NODEV|syscall.MS_NOEXEC, ""); err != nil {
		fmt.Fprintf(os.Stderr, "bench pid1: mount /proc: %v\n", err)
		return 1
	}
	err := syscall.Exec(args[0], args, os.Environ())
	fmt.Fprintf(os.Stderr, "bench pid1: exec %s: %v\n", args[0], err)
	return 127
}
