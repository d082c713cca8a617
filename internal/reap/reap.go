// Package reap collects exited children for reaper-init's one wait loop.
//
// A PID 1 inherits every orphan in its PID namespace, and a subreaper
// every orphan below it. The kernel coalesces SIGCHLD: a hundred children
// that exit together may raise it once. So each SIGCHLD, however many it
// stands for, is answered by the reap loop of package supervise
// (reapAll), which names an exited child with [Peek] and reaps it with
// [Collect] until nothing is left to collect, and the main child is
// recognised inside that loop by its PID, never by a second waiter
// (os/exec's Wait would race the loop for the same child and lose its
// status).
package reap

import (
	"os"
	"unsafe"

	"github.com/reaper-init/reaper-init/internal/rawsys"
	"golang.org/x/sys/unix"
)

// Status is how a child ended, as wait4 reports it.
type Status = unix.WaitStatus

// ExitCode converts a wait status to the exit code a shell would report:
// the exit status, or 128+N when signal N killed the process.
func ExitCode(ws Status) int {
	switch {
	case ws.Exited():
		return ws.ExitStatus()
	case ws.Signaled():
		return 128 + int(ws.Signal())
	}
	return 128
}

// Peek reports the PID of an exited child that has not been reaped yet,
// without reaping it (waitid with WNOWAIT), so that its /proc entry can be
// read, or the handler told, first. It returns 0 when no child has
// exited. With stopped set it also reports a child that has stopped (job
// control) and whose stop has not been collected; stop then says which
// it is.
func Peek(stopped bool) (pid int, stop bool) {
	opts := unix.WEXITED | unix.WNOHANG | unix.WNOWAIT
	if stopped {
		opts |= unix.WSTOPPED
	}
	var info unix.Siginfo
	if err := rawsys.Waitid(unix.P_ALL, 0, &info, opts); err != nil {
		return 0, false
	}
	ci := (*childInfo)(unsafe.Pointer(&info))
	return int(ci.pid), ci.code == cldStopped
}

// Collect reaps the exited child pid. It returns false when pid is not
// an exited child of the caller. With stopped set it also collects the
// stop of a stopped child (the Status then says Stopped).
func Collect(pid int, stopped bool) (Status, bool) {
	opts := unix.WNOHANG
	if stopped {
		opts |= unix.WUNTRACED
	}
	var ws Status
	got, err := rawsys.Wait4(pid, &ws, opts)
	return ws, err == nil && got == pid
}

// HasChildren reports whether the caller has any child left, living or
// exited but not reaped.
func HasChildren() bool {
	var info unix.Siginfo
	err := rawsys.Waitid(unix.P_ALL, 0, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT)
	return err != unix.ECHILD
}

// IsSubreaper reports whether the caller is a child subreaper (the
// attribute survives exec: a parent may have made it one).
func IsSubreaper() (bool, error) {
	var v int32
	if err := unix.Prctl(unix.PR_GET_CHILD_SUBREAPER, uintptr(unsafe.Pointer(&v)), 0, 0, 0); err != nil {
		return false, os.NewSyscallError("prctl PR_GET_CHILD_SUBREAPER", err)
	}
	return v != 0, nil
}

// SetSubreaper makes the calling process a child subreaper: orphans below
// it are re-parented to it instead of to PID 1 of the namespace.
func SetSubreaper() error {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return os.NewSyscallError("prctl PR_SET_CHILD_SUBREAPER", err)
	}
	return nil
}

// childInfo is the SIGCHLD layout of siginfo_t on Linux: unix.Siginfo
// keeps the union opaque. The union follows si_signo, si_errno and
// si_code aligned as a pointer is (it holds pointers): si_pid is at 16 on
// a 64-bit architecture, at 12 on a 32-bit one.
type childInfo struct {
	signo, errno, code int32
	_                  [unionOffset - 12]byte
	pid                int32
	uid                uint32
	status             int32
	_                  [siginfoSize - unionOffset - 12]byte
}

const (
	ptrSize     = unsafe.Sizeof(uintptr(0))
	unionOffset = (12 + ptrSize - 1) &^ (ptrSize - 1)
	siginfoSize = 128
)

// cldStopped is the si_code of a child that stopped.
const cldStopped = 5

var _ [unsafe.Sizeof(unix.Siginfo{}) - unsafe.Sizeof(childInfo{})]struct{}
var _ [unsafe.Sizeof(childInfo{}) - unsafe.Sizeof(unix.Siginfo{})]struct{}
