package logx

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// Stderr writes to file descriptor 2 without ever raising a signal that
// the init would take for one sent from outside, and without telling the
// Go scheduler (the write is a raw system call: see package rawsys).
//
// A write to a pipe whose reader is gone makes the kernel send SIGPIPE to
// the writing thread, and a write to a terminal from a background process
// group with TOSTOP set makes it send SIGTTOU and restart the write, again
// and again while the signal is caught. So each write blocks the two on
// its own thread, and a SIGPIPE the write raised is taken off the
// thread's queue before they are unblocked; a blocked SIGTTOU makes the
// kernel let the write through. The mask, the write and the clean-up are
// one function that cannot be preempted or moved to another thread
// between them (no runtime.LockOSThread, which would cost the runtime a
// thread of its own).
var Stderr fdWriter = 2

type fdWriter int

func (fd fdWriter) Write(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	n, e := writeMasked(int(fd), unsafe.Pointer(&b[0]), len(b))
	if e != 0 {
		return n, e
	}
	return n, nil
}

// maskedSignals are SIGPIPE and SIGTTOU.
const maskedSignals = 1<<(unix.SIGPIPE-1) | 1<<(unix.SIGTTOU-1)

// writeMasked writes n bytes at p to fd with SIGPIPE and SIGTTOU blocked
// on the calling thread.
//
//go:nosplit
func writeMasked(fd int, p unsafe.Pointer, n int) (int, unix.Errno) {
	block, old := uint64(maskedSignals), uint64(0)
	if _, _, e := unix.RawSyscall6(unix.SYS_RT_SIGPROCMASK, unix.SIG_BLOCK, uintptr(unsafe.Pointer(&block)), uintptr(unsafe.Pointer(&old)), 8, 0, 0); e != 0 {
		return 0, e
	}
	written := 0
	var err unix.Errno
	for written < n {
		m, _, e := unix.RawSyscall(unix.SYS_WRITE, uintptr(fd), uintptr(p)+uintptr(written), uintptr(n-written))
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			err = e
			break
		}
		if m == 0 {
			err = unix.EIO // no progress: never spin (as rawsys.WriteAll)
			break
		}
		written += int(m)
	}
	if err == unix.EPIPE {
		// Take the SIGPIPE this write raised off the thread's queue
		// (rt_sigtimedwait with a zero timeout) before unblocking it.
		pipe := uint64(1 << (unix.SIGPIPE - 1))
		var zero unix.Timespec
		for {
			_, _, e := unix.RawSyscall6(unix.SYS_RT_SIGTIMEDWAIT, uintptr(unsafe.Pointer(&pipe)), 0, uintptr(unsafe.Pointer(&zero)), 8, 0, 0)
			if e != unix.EINTR {
				break
			}
		}
	}
	unix.RawSyscall6(unix.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK, uintptr(unsafe.Pointer(&old)), 0, 8, 0, 0)
	return written, err
}
