package logx

import (
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Stderr writes to file descriptor 2 without ever raising a signal that
// the init would then mistake for one sent from outside and forward.
//
// A write to a pipe whose reader is gone makes the kernel send SIGPIPE to
// the writing thread, and a write to a terminal from a background process
// group with TOSTOP set makes it send SIGTTOU. The init catches both
// (SIGPIPE sent with kill is forwarded, as every peer does), so each write
// blocks the two on its own thread, and a SIGPIPE the write raised is
// taken off the thread's queue before they are unblocked. A blocked
// SIGTTOU also makes the kernel let the write through instead of
// restarting it forever.
var Stderr fdWriter = 2

type fdWriter int

func (fd fdWriter) Write(b []byte) (int, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var block, old unix.Sigset_t
	sigaddset(&block, unix.SIGPIPE)
	sigaddset(&block, unix.SIGTTOU)
	if err := unix.PthreadSigmask(unix.SIG_BLOCK, &block, &old); err != nil {
		return 0, err
	}
	defer unix.PthreadSigmask(unix.SIG_SETMASK, &old, nil)

	written := 0
	for written < len(b) {
		n, err := unix.Write(int(fd), b[written:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			if err == unix.EPIPE {
				var pipe unix.Sigset_t
				sigaddset(&pipe, unix.SIGPIPE)
				consumePending(&pipe)
			}
			return written, err
		}
		written += n
	}
	return written, nil
}

func sigaddset(set *unix.Sigset_t, sig unix.Signal) {
	n := uint(sig - 1)
	set.Val[n/64] |= 1 << (n % 64)
}

// consumePending removes a pending signal in set from the calling
// thread's queue without waiting (rt_sigtimedwait with a zero timeout).
func consumePending(set *unix.Sigset_t) {
	var zero unix.Timespec
	for {
		_, _, errno := unix.Syscall6(unix.SYS_RT_SIGTIMEDWAIT,
			uintptr(unsafe.Pointer(set)), 0, uintptr(unsafe.Pointer(&zero)), 8, 0, 0)
		if errno != unix.EINTR {
			return
		}
	}
}
