package catch_test

import (
	"io"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/reaper-init/reaper-init/internal/catch"
	"golang.org/x/sys/unix"
)

// roleEnv makes the test binary, run again by a test or a benchmark, a
// helper process instead: see TestMain.
const roleEnv = "CATCH_TEST_ROLE"

// The helpers' parameters: the signal a sender sends, a forwarder
// forwards or an echoer answers; the process a sender signals or a
// forwarder forwards to; how a forwarder forwards.
const (
	sigEnv    = "CATCH_TEST_SIGNAL"
	targetEnv = "CATCH_TEST_TARGET"
	modeEnv   = "CATCH_TEST_MODE"
)

func TestMain(m *testing.M) {
	switch os.Getenv(roleEnv) {
	case "":
		os.Exit(m.Run())
	case "spinner":
		spinner()
	case "sender":
		sender()
	case "echoer":
		echoer()
	case "forwarder":
		forwarder()
	default:
		os.Exit(2)
	}
	os.Exit(0)
}

// spinner collects garbage five times while a goroutine spins without
// a preemption point, and exits: it never does when the runtime cannot
// preempt the goroutine.
func spinner() {
	var stop atomic.Bool
	go func() {
		n := 0
		for !stop.Load() {
			n++
		}
		sink.Add(int64(n))
	}()
	time.Sleep(50 * time.Millisecond) // let it start
	for i := 0; i < 5; i++ {
		runtime.GC()
	}
	stop.Store(true)
}

// sender sends the process targetEnv names the signal sigEnv names for
// each byte it reads from its standard input, until the input ends.
func sender() {
	sig, _ := strconv.Atoi(os.Getenv(sigEnv))
	target, _ := strconv.Atoi(os.Getenv(targetEnv))
	var b [64]byte
	for {
		n, err := os.Stdin.Read(b[:])
		for i := 0; i < n; i++ {
			_ = unix.Kill(target, unix.Signal(sig))
		}
		if err != nil {
			return
		}
	}
}

// echoer writes a byte to its standard output once it runs, then one
// for each signal sigEnv names that the handler records, until the
// output is closed.
func echoer() {
	sig, _ := strconv.Atoi(os.Getenv(sigEnv))
	if _, err := os.Stdout.Write([]byte{0}); err != nil { // ready
		return
	}
	var buf [128]byte
	for {
		fds := []unix.PollFd{{Fd: int32(catch.FD()), Events: unix.POLLIN}}
		if _, err := unix.Poll(fds, -1); err != nil && err != unix.EINTR {
			return
		}
		n := catch.Read(buf[:])
		for _, b := range buf[:n] {
			if int(b&^catch.Forwarded) != sig {
				continue
			}
			if _, err := os.Stdout.Write([]byte{1}); err != nil {
				return
			}
		}
	}
}

// forwarder forwards the signal sigEnv names to the process group of
// the process targetEnv names, the way modeEnv says, with a main loop as
// reaper-init's, until its standard input ends. It writes a byte to its
// standard output once it is ready.
//
//   - handler: the handler forwards (one kill(2)); the loop reads the
//     byte it wrote, for the bookkeeping.
//   - os-signal: the runtime's handler queues the signal for os/signal;
//     the loop receives it from a channel and calls kill(2), as a Go
//     program without this package does.
func forwarder() {
	sig, _ := strconv.Atoi(os.Getenv(sigEnv))
	target, _ := strconv.Atoi(os.Getenv(targetEnv))
	end := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(end)
	}()
	switch os.Getenv(modeEnv) {
	case "handler":
		catch.SetForward(sig, sig, true)
		catch.SetTarget(-target, target)
		go func() {
			var buf [128]byte
			fds := []unix.PollFd{{Fd: int32(catch.FD()), Events: unix.POLLIN}}
			for {
				if _, err := unix.Poll(fds, -1); err != nil && err != unix.EINTR {
					return
				}
				catch.Read(buf[:])
			}
		}()
	case "os-signal":
		if e := catch.GiveBack(sig); e != 0 {
			os.Exit(1)
		}
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.Signal(sig))
		go func() {
			for s := range ch {
				_ = unix.Kill(-target, s.(syscall.Signal))
			}
		}()
	default:
		os.Exit(2)
	}
	if _, err := os.Stdout.Write([]byte{0}); err != nil { // ready
		os.Exit(1)
	}
	<-end
}
