// Package rawsys makes the system calls of reaper-init's main loop
// without telling the Go scheduler about them.
//
// A system call made through package syscall or x/sys/unix marks the
// goroutine as being in a system call, and when the runtime's monitor
// thread (sysmon) is asleep because nothing runs, the first such call
// wakes it: a thread wake-up, and a few more as it polls until the loop
// sleeps again. The main loop's calls (reading its pipe, kill, wait4,
// the /proc scan, the metrics file) never block for long, so they are
// made raw: the loop costs one thread wake-up per event, not four. Every
// function retries EINTR. None blocks for long but Write to a pipe or a
// terminal that is full, which a raw call makes no worse: the loop is the
// only goroutine.
package rawsys

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// errno converts a raw error number to an error, nil for 0.
func errno(e unix.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}

// call is RawSyscall6 with EINTR retried.
func call(trap, a1, a2, a3, a4, a5, a6 uintptr) (uintptr, unix.Errno) {
	for {
		r, _, e := unix.RawSyscall6(trap, a1, a2, a3, a4, a5, a6)
		if e != unix.EINTR {
			return r, e
		}
	}
}

func ptr(b []byte) uintptr {
	if len(b) == 0 {
		return 0
	}
	return uintptr(unsafe.Pointer(&b[0]))
}

// Read is read(2).
func Read(fd int, b []byte) (int, error) {
	n, e := call(unix.SYS_READ, uintptr(fd), ptr(b), uintptr(len(b)), 0, 0, 0)
	return int(n), errno(e)
}

// Write is write(2): one call, which may write less than b.
func Write(fd int, b []byte) (int, error) {
	n, e := call(unix.SYS_WRITE, uintptr(fd), ptr(b), uintptr(len(b)), 0, 0, 0)
	return int(n), errno(e)
}

// WriteAll writes all of b, or returns the first error.
func WriteAll(fd int, b []byte) error {
	for len(b) > 0 {
		n, err := Write(fd, b)
		if err != nil {
			return err
		}
		if n == 0 {
			return unix.EIO
		}
		b = b[n:]
	}
	return nil
}

// Close is close(2). EINTR is not retried: the descriptor is gone.
func Close(fd int) error {
	_, _, e := unix.RawSyscall(unix.SYS_CLOSE, uintptr(fd), 0, 0)
	return errno(e)
}

// Openat is openat(2) with a NUL-terminated path, so that the caller can
// reuse its buffer and nothing is allocated.
func Openat(dirfd int, path []byte, flags int, mode uint32) (int, error) {
	if len(path) == 0 || path[len(path)-1] != 0 {
		return -1, unix.EINVAL
	}
	fd, e := call(unix.SYS_OPENAT, uintptr(dirfd), ptr(path), uintptr(flags), uintptr(mode), 0, 0)
	if e != 0 {
		return -1, e
	}
	return int(fd), nil
}

// Getdents is getdents64(2).
func Getdents(fd int, b []byte) (int, error) {
	n, e := call(unix.SYS_GETDENTS64, uintptr(fd), ptr(b), uintptr(len(b)), 0, 0, 0)
	return int(n), errno(e)
}

// Kill is kill(2).
func Kill(pid int, sig unix.Signal) error {
	_, e := call(unix.SYS_KILL, uintptr(pid), uintptr(sig), 0, 0, 0, 0)
	return errno(e)
}

// Getpgid is getpgid(2).
func Getpgid(pid int) (int, error) {
	r, e := call(unix.SYS_GETPGID, uintptr(pid), 0, 0, 0, 0, 0)
	return int(r), errno(e)
}

// Wait4 is wait4(2) without the resource usage.
func Wait4(pid int, ws *unix.WaitStatus, options int) (int, error) {
	r, e := call(unix.SYS_WAIT4, uintptr(pid), uintptr(unsafe.Pointer(ws)), uintptr(options), 0, 0, 0)
	return int(r), errno(e)
}

// Waitid is waitid(2) without the resource usage.
func Waitid(idtype, id int, info *unix.Siginfo, options int) error {
	_, e := call(unix.SYS_WAITID, uintptr(idtype), uintptr(id), uintptr(unsafe.Pointer(info)), uintptr(options), 0, 0)
	return errno(e)
}

// Renameat is renameat2(2) without flags, with NUL-terminated paths.
func Renameat(olddir int, oldpath []byte, newdir int, newpath []byte) error {
	_, e := call(unix.SYS_RENAMEAT2, uintptr(olddir), ptr(oldpath), uintptr(newdir), ptr(newpath), 0, 0)
	return errno(e)
}

// Unlinkat is unlinkat(2) with a NUL-terminated path.
func Unlinkat(dirfd int, path []byte, flags int) error {
	_, e := call(unix.SYS_UNLINKAT, uintptr(dirfd), ptr(path), uintptr(flags), 0, 0, 0)
	return errno(e)
}

// Fchmod is fchmod(2).
func Fchmod(fd int, mode uint32) error {
	_, e := call(unix.SYS_FCHMOD, uintptr(fd), uintptr(mode), 0, 0, 0, 0)
	return errno(e)
}

// IoctlGetInt is ioctl(2) reading an int.
func IoctlGetInt(fd int, req uint) (int, error) {
	var v int32
	_, e := call(unix.SYS_IOCTL, uintptr(fd), uintptr(req), uintptr(unsafe.Pointer(&v)), 0, 0, 0)
	return int(v), errno(e)
}

// Getpid is getpid(2).
func Getpid() int {
	r, _, _ := unix.RawSyscall(unix.SYS_GETPID, 0, 0, 0)
	return int(r)
}

// Getpgrp returns the caller's process group ID.
func Getpgrp() int {
	r, _ := call(unix.SYS_GETPGID, 0, 0, 0, 0, 0, 0)
	return int(r)
}

// EpollWait is epoll_pwait(2) with no signal mask.
func EpollWait(epfd int, events []unix.EpollEvent, msec int) (int, error) {
	if len(events) == 0 {
		return 0, unix.EINVAL
	}
	n, e := call(unix.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), uintptr(msec), 0, 0)
	return int(n), errno(e)
}

// TimerfdSettime is timerfd_settime(2).
func TimerfdSettime(fd int, flags int, new *unix.ItimerSpec) error {
	_, e := call(unix.SYS_TIMERFD_SETTIME, uintptr(fd), uintptr(flags), uintptr(unsafe.Pointer(new)), 0, 0, 0)
	return errno(e)
}

// SchedYield is sched_yield(2): it lets a task that is waiting for this
// CPU run first, and returns at once when there is none.
func SchedYield() {
	unix.RawSyscall(unix.SYS_SCHED_YIELD, 0, 0, 0)
}

// Nanosleep sleeps for d nanoseconds, without waking the scheduler. For
// back-off after an error only.
func Nanosleep(ns int64) {
	ts := unix.NsecToTimespec(ns)
	unix.RawSyscall(unix.SYS_NANOSLEEP, uintptr(unsafe.Pointer(&ts)), 0, 0)
}

// TcsetpgrpMasked makes pgrp the foreground process group of the
// terminal fd, with SIGTTOU blocked on the calling thread for the call:
// a background process that changes the foreground group is otherwise
// sent SIGTTOU, and the call restarted, while the signal is caught. The
// mask and the call are one function that cannot move to another thread
// in between.
//
//go:nosplit
func TcsetpgrpMasked(fd, pgrp int) error {
	block, old := uint64(1<<(unix.SIGTTOU-1)), uint64(0)
	if _, _, e := unix.RawSyscall6(unix.SYS_RT_SIGPROCMASK, unix.SIG_BLOCK, uintptr(unsafe.Pointer(&block)), uintptr(unsafe.Pointer(&old)), 8, 0, 0); e != 0 {
		return e
	}
	v := int32(pgrp)
	var err unix.Errno
	for {
		_, _, e := unix.RawSyscall(unix.SYS_IOCTL, uintptr(fd), unix.TIOCSPGRP, uintptr(unsafe.Pointer(&v)))
		if e != unix.EINTR {
			err = e
			break
		}
	}
	unix.RawSyscall6(unix.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK, uintptr(unsafe.Pointer(&old)), 0, 8, 0, 0)
	if err != 0 {
		return err
	}
	return nil
}
