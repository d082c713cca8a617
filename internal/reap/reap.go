// Package reap collects exited children: the one wait loop of reaper-init.
//
// A PID 1 inherits every orphan in its PID namespace, and a subreaper
// every orphan below it. The kernel coalesces SIGCHLD: a hundred children
// that exit together may raise it once. So each SIGCHLD, however many it
// stands for, is answered by [All], which calls wait4(-1, WNOHANG) until
// nothing is left to collect, and the main child is recognised inside
// that loop by its PID, never by a second waiter (os/exec's Wait would
// race the loop for the same child and lose its status).
package reap

import (
	"os"
	"unsafe"

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

// All reaps every child that has exited, calling fn for each, and returns
// how many it reaped. It never blocks. It stops when no exited child is
// left (or when the caller has no children at all). EINTR is retried.
func All(fn func(pid int, ws Status)) int {
	n := 0
	for {
		var ws Status
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil || pid <= 0 {
			return n
		}
		n++
		fn(pid, ws)
	}
}

// Next reports the PID of an exited child that has not been reaped yet,
// without reaping it (waitid with WNOWAIT), so that its /proc entry can be
// read first. It returns 0 when no child has exited.
func Next() int {
	for {
		var info unix.Siginfo
		err := unix.Waitid(unix.P_ALL, 0, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0
		}
		return int(siginfoPID(&info))
	}
}

// One reaps the exited child pid. It returns false when pid is not an
// exited child of the caller.
func One(pid int) (Status, bool) {
	for {
		var ws Status
		got, err := unix.Wait4(pid, &ws, unix.WNOHANG, nil)
		if err == unix.EINTR {
			continue
		}
		return ws, err == nil && got == pid
	}
}

// HasChildren reports whether the caller has any child left, living or
// exited but not reaped.
func HasChildren() bool {
	for {
		var info unix.Siginfo
		err := unix.Waitid(unix.P_ALL, 0, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
		if err == unix.EINTR {
			continue
		}
		return err != unix.ECHILD
	}
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
// keeps the union opaque.
type childInfo struct {
	signo, errno, code, _ int32
	pid                   int32
	uid                   uint32
	status                int32
	_                     [100]byte
}

func siginfoPID(info *unix.Siginfo) int32 {
	return (*childInfo)(unsafe.Pointer(info)).pid
}

var _ [unsafe.Sizeof(unix.Siginfo{}) - unsafe.Sizeof(childInfo{})]struct{}
var _ [unsafe.Sizeof(childInfo{}) - unsafe.Sizeof(unix.Siginfo{})]struct{}
