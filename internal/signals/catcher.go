package signals

import (
	"os"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// A Catcher receives the signals reaper-init handles and hands them to
// the main loop through a pipe: the loop polls [Catcher.FD] and calls
// [Catcher.Drain]. One byte per signal, in order of arrival; SIGCHLD at
// most once until it has been drained, since the reap loop answers any
// number of them at once.
//
// On amd64 the signals go straight from the kernel to a small assembly
// handler that writes the byte, so a signal wakes the main loop directly
// and registering costs one rt_sigaction each, and the handler can read
// the siginfo that tells the Go runtime's own SIGURG from one sent from
// outside. Elsewhere os/signal delivers them and a goroutine writes the
// bytes.
type Catcher struct {
	r, w int // the pipe
	buf  [128]byte
}

// Process-wide state shared with the signal handler (there is one
// Catcher per process).
var (
	pipeFD       int32  // the pipe's write end
	childPending uint32 // a SIGCHLD byte is in the pipe and not drained yet
)

// NewCatcher starts catching SIGCHLD and the signals Catch lists. Call it
// once, before the child starts.
func NewCatcher() (*Catcher, error) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		return nil, os.NewSyscallError("pipe2", err)
	}
	for i, fd := range p {
		p[i] = aboveStdio(fd)
	}
	c := &Catcher{r: p[0], w: p[1]}
	pipeFD = int32(c.w)
	if err := c.install(); err != nil {
		unix.Close(c.r)
		unix.Close(c.w)
		return nil, err
	}
	return c, nil
}

// aboveStdio moves fd above 2 when it is one of the standard descriptors
// (the init was started with some of them closed): they are the child's,
// and a log line written to a closed stderr must not land in the pipe.
func aboveStdio(fd int) int {
	if fd > 2 {
		return fd
	}
	moved, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 3)
	if err != nil {
		return fd
	}
	unix.Close(fd)
	return moved
}

// FD is the descriptor to poll for readability.
func (c *Catcher) FD() int { return c.r }

// Drain reads every signal that has arrived and calls fn for each, in
// order of arrival. It never blocks.
func (c *Catcher) Drain(fn func(unix.Signal)) {
	for {
		n, err := unix.Read(c.r, c.buf[:])
		if err == unix.EINTR {
			continue
		}
		if n <= 0 {
			return
		}
		for _, b := range c.buf[:n] {
			sig := unix.Signal(b)
			if sig == unix.SIGCHLD {
				// Clear first: a SIGCHLD arriving from here on writes
				// a new byte, so no exit goes unnoticed.
				atomic.StoreUint32(&childPending, 0)
			}
			fn(sig)
		}
		if n < len(c.buf) {
			return
		}
	}
}

// record is what the fallback handler does for each signal, as the
// assembly handler does: one byte, SIGCHLD coalesced.
func record(sig unix.Signal) {
	if sig == unix.SIGCHLD && !atomic.CompareAndSwapUint32(&childPending, 0, 1) {
		return
	}
	b := [1]byte{byte(sig)}
	for {
		_, err := unix.Write(int(pipeFD), b[:])
		if err != unix.EINTR {
			return
		}
	}
}

// handled lists the signals a Catcher takes: SIGCHLD, and every signal
// of Catch but SIGPROF, which stays with the Go runtime's profiler.
func handled() []unix.Signal {
	var out []unix.Signal
	for _, s := range Catch(urgForwardable()) {
		if s != unix.SIGPROF {
			out = append(out, s)
		}
	}
	return append(out, unix.SIGCHLD)
}
