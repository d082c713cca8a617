package main

import (
	"fmt"
	"runtime"
	"syscall"
	"unsafe"
)

// coreOrphanSpec tells a forked orphan what to do between fork and exit. The
// orphan is a copy of this process without the Go runtime's other
// threads, so it runs no Go code: only raw system calls on memory that
// fork copied.
type coreOrphanSpec struct {
	// closeFD is closed first when it is >= 0 (the orphan's copy of the
	// write end of a pipe it then waits on).
	closeFD int
	// waitFD, when >= 0, is read until end of file or error.
	waitFD int
	// linger is slept before exiting when non-zero.
	linger syscall.Timespec
}

// coreSigSetmask is SIG_SETMASK for rt_sigprocmask(2).
const coreSigSetmask = 2

// coreForkOrphan double-forks: the middle process forks the orphan and exits
// at once, so the orphan is re-parented to the nearest subreaper or to
// PID 1. It returns the middle process's pid, which the caller must
// reap. All signals are blocked around the fork, so neither child ever
// runs a Go signal handler; the orphan keeps them blocked until it exits.
func coreForkOrphan(spec *coreOrphanSpec) (int, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	all, old := ^uint64(0), uint64(0)
	if _, _, e := syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, coreSigSetmask,
		uintptr(unsafe.Pointer(&all)), uintptr(unsafe.Pointer(&old)), 8, 0, 0); e != 0 {
		return 0, fmt.Errorf("block signals: %w", e)
	}
	pid, errno := coreRawDoubleFork(spec)
	if _, _, e := syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, coreSigSetmask,
		uintptr(unsafe.Pointer(&old)), 0, 8, 0, 0); e != 0 {
		return 0, fmt.Errorf("restore signal mask: %w", e)
	}
	if errno != 0 {
		return 0, fmt.Errorf("fork: %w", errno)
	}
	return pid, nil
}

// coreRawDoubleFork returns in the parent only. Like the child side of
// syscall.forkAndExecInChild it must not split the stack, allocate or
// call anything but raw system calls.
//
//go:norace
//go:nosplit
func coreRawDoubleFork(spec *coreOrphanSpec) (int, syscall.Errno) {
	r, _, e := syscall.RawSyscall6(syscall.SYS_CLONE, uintptr(syscall.SIGCHLD), 0, 0, 0, 0, 0)
	if e != 0 || r != 0 {
		return int(r), e
	}
	// The middle process.
	r, _, e = syscall.RawSyscall6(syscall.SYS_CLONE, uintptr(syscall.SIGCHLD), 0, 0, 0, 0, 0)
	if e != 0 {
		coreRawExit(1)
	}
	if r != 0 {
		coreRawExit(0)
	}
	// The orphan.
	if spec.closeFD >= 0 {
		syscall.RawSyscall(syscall.SYS_CLOSE, uintptr(spec.closeFD), 0, 0)
	}
	if spec.waitFD >= 0 {
		var b [1]byte
		for {
			n, _, e := syscall.RawSyscall(syscall.SYS_READ, uintptr(spec.waitFD), uintptr(unsafe.Pointer(&b[0])), 1)
			if e == syscall.EINTR {
				continue
			}
			if e != 0 || n == 0 {
				break
			}
		}
	}
	if spec.linger.Sec != 0 || spec.linger.Nsec != 0 {
		syscall.RawSyscall(syscall.SYS_NANOSLEEP, uintptr(unsafe.Pointer(&spec.linger)), 0, 0)
	}
	coreRawExit(0)
	return 0, 0
}

// coreRawExit ends the calling process without running any Go code.
//
//go:norace
//go:nosplit
func coreRawExit(code int) {
	for {
		syscall.RawSyscall(syscall.SYS_EXIT_GROUP, uintptr(code), 0, 0)
	}
}
