package signals

import (
	"os/exec"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

var (
	catcherOnce sync.Once
	catcher     *Catcher
	catcherErr  error
)

// testCatcher installs the process-wide Catcher once for the package.
func testCatcher(t *testing.T) *Catcher {
	t.Helper()
	catcherOnce.Do(func() { catcher, catcherErr = NewCatcher() })
	if catcherErr != nil {
		t.Fatalf("NewCatcher: %v", catcherErr)
	}
	return catcher
}

// collect drains c until want signals other than SIGCHLD have arrived or
// the deadline passes; it returns them, and whether SIGCHLD came.
func collect(t *testing.T, c *Catcher, want int) (got []unix.Signal, chld bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(got) < want && time.Now().Before(deadline) {
		fds := []unix.PollFd{{Fd: int32(c.FD()), Events: unix.POLLIN}}
		_, _ = unix.Poll(fds, 100)
		c.Drain(func(s unix.Signal) {
			if s == unix.SIGCHLD {
				chld = true
				return
			}
			got = append(got, s)
		})
	}
	return got, chld
}

// sendFromOutside has a shell, another process, send sigs to the test
// process one at a time.
func sendFromOutside(t *testing.T, sigs ...string) {
	t.Helper()
	script := ""
	for _, s := range sigs {
		script += "kill -" + s + " $PPID; sleep 0.05; "
	}
	if out, err := exec.Command("/bin/sh", "-c", script).CombinedOutput(); err != nil {
		t.Fatalf("sh: %v %s", err, out)
	}
}

func TestCatcherRecordsSignalsFromOutside(t *testing.T) {
	c := testCatcher(t)
	c.Drain(func(unix.Signal) {})
	sendFromOutside(t, "USR1", "TERM", "HUP", "USR2")
	got, chld := collect(t, c, 4)
	want := []unix.Signal{unix.SIGUSR1, unix.SIGTERM, unix.SIGHUP, unix.SIGUSR2}
	if !slices.Equal(got, want) {
		t.Errorf("drained %v, want %v", got, want)
	}
	// The shell's exit may be drained after its last signal.
	for deadline := time.Now().Add(10 * time.Second); !chld && time.Now().Before(deadline); {
		fds := []unix.PollFd{{Fd: int32(c.FD()), Events: unix.POLLIN}}
		_, _ = unix.Poll(fds, 100)
		c.Drain(func(s unix.Signal) { chld = chld || s == unix.SIGCHLD })
	}
	if !chld {
		t.Errorf("no SIGCHLD drained after the shell exited")
	}
}

func TestCatcherDropsSignalsFromItself(t *testing.T) {
	if !siginfoHandler {
		t.Skipf("skipping: only the siginfo handler can tell who sent a signal")
	}
	c := testCatcher(t)
	c.Drain(func(unix.Signal) {})
	if err := unix.Kill(unix.Getpid(), unix.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	sendFromOutside(t, "USR2")
	got, _ := collect(t, c, 1)
	time.Sleep(50 * time.Millisecond)
	c.Drain(func(s unix.Signal) {
		if s != unix.SIGCHLD {
			got = append(got, s)
		}
	})
	if want := []unix.Signal{unix.SIGUSR2}; !slices.Equal(got, want) {
		t.Errorf("drained %v, want %v: a signal the process sent itself must be dropped", got, want)
	}
}

func TestCatcherLeavesFaultsToTheRuntime(t *testing.T) {
	testCatcher(t)
	defer func() {
		if recover() == nil {
			t.Errorf("a nil dereference did not panic")
		}
	}()
	var p *int
	_ = *p
}

var sink atomic.Int64

// TestCatcherIgnoresRuntimePreemption loads the CPU with goroutines that
// the runtime must preempt, with SIGURG, and checks that only the SIGURG
// sent from outside is recorded.
func TestCatcherIgnoresRuntimePreemption(t *testing.T) {
	if !siginfoHandler {
		t.Skipf("skipping: only the siginfo handler can tell the runtime's SIGURG apart")
	}
	c := testCatcher(t)
	c.Drain(func(unix.Signal) {})
	var wg sync.WaitGroup
	for i := 0; i < 2*runtime.NumCPU(); i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			end, n := time.Now().Add(time.Second), 0
			for time.Now().Before(end) {
				for j := 0; j < 1e6; j++ {
					n += j
				}
				_ = make([]byte, 1<<16)
			}
			sink.Add(int64(n))
		}()
	}
	wg.Wait()
	sendFromOutside(t, "URG", "USR1")
	got, _ := collect(t, c, 2)
	if want := []unix.Signal{unix.SIGURG, unix.SIGUSR1}; !slices.Equal(got, want) {
		t.Errorf("drained %v, want %v", got, want)
	}
}

func TestHandled(t *testing.T) {
	h := handled()
	if !slices.Contains(h, unix.SIGCHLD) || slices.Contains(h, unix.SIGPROF) || slices.Contains(h, unix.SIGKILL) {
		t.Errorf("handled() = %v: want SIGCHLD in, SIGPROF and SIGKILL out", h)
	}
	for s := unix.Signal(32); s <= 34; s++ {
		if slices.Contains(h, s) {
			t.Errorf("handled() takes reserved signal %d", s)
		}
	}
}
