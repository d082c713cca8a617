package supervise

import (
	"os"
	"syscall"
	"time"

	"github.com/reaper-init/reaper-init/internal/rawsys"
	"golang.org/x/sys/unix"
)

// A waiter is where the main loop sleeps: until the signal pipe is
// readable or the nearest deadline passes, and not a moment longer.
//
// It is an epoll descriptor of its own holding the signal pipe and a
// timerfd armed for the nearest deadline, and that descriptor is what the
// loop waits on, through the Go runtime's network poller. Waiting there
// instead of in a blocking ppoll is what makes an event cost one thread
// wake-up: the loop's goroutine parks, its thread sleeps in the poller's
// epoll_wait, every P is idle, and the runtime's monitor thread (sysmon)
// sleeps too. A blocking system call would keep a P in the syscall state,
// so that sysmon polls every 20 µs until it takes the P away, and wakes
// again when the call returns: four or five context switches per event.
// The timerfd, rather than a Go timer, keeps sysmon asleep through the
// deadline too (it sleeps until the next Go timer).
type waiter struct {
	ep, timer int
	file      *os.File
	conn      syscall.RawConn
	events    [4]unix.EpollEvent
	ready     func(fd uintptr) bool
	buf       [8]byte
}

func newWaiter(sigFD int) (*waiter, error) {
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	w := &waiter{ep: ep, timer: -1}
	fail := func(call string, err error) (*waiter, error) {
		unix.Close(ep)
		if w.timer >= 0 {
			unix.Close(w.timer)
		}
		return nil, os.NewSyscallError(call, err)
	}
	w.timer, err = unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return fail("timerfd_create", err)
	}
	for _, fd := range []int{sigFD, w.timer} {
		if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)}); err != nil {
			return fail("epoll_ctl", err)
		}
	}
	if err := unix.SetNonblock(ep, true); err != nil {
		return fail("fcntl", err)
	}
	w.file = os.NewFile(uintptr(ep), "reaper-init-wait")
	if w.conn, err = w.file.SyscallConn(); err != nil {
		return fail("poller", err)
	}
	w.ready = w.check
	return w, nil
}

// check is the poller's callback: it reports whether the pipe or the
// timer is ready, consuming the timer's expiry. The pipe is left for the
// loop to read.
func (w *waiter) check(fd uintptr) bool {
	n, err := rawsys.EpollWait(int(fd), w.events[:], 0)
	if err != nil || n <= 0 {
		return false
	}
	for _, ev := range w.events[:n] {
		if int(ev.Fd) == w.timer {
			_, _ = rawsys.Read(w.timer, w.buf[:])
		}
	}
	return true
}

// wait sleeps until the signal pipe is readable or d has passed; d <= 0
// means no deadline. Setting the timer also clears an expiry that came
// while the loop was busy.
func (w *waiter) wait(d time.Duration) {
	var spec unix.ItimerSpec
	if d > 0 {
		spec.Value = unix.NsecToTimespec(int64(d))
	}
	_ = rawsys.TimerfdSettime(w.timer, 0, &spec)
	if err := w.conn.Read(w.ready); err != nil {
		// The poller refused (it should not): never spin.
		rawsys.Nanosleep(int64(10 * time.Millisecond))
	}
}
