package catch_test

import (
	"bufio"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reaper-init/reaper-init/internal/catch"
	"golang.org/x/sys/unix"
)

// trapper is a shell that prints the name of each USR1 or USR2 it gets.
type trapper struct {
	pid   int
	lines chan string
}

func startTrapper(t *testing.T, attr *syscall.SysProcAttr) *trapper {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", `trap 'echo usr1' USR1; trap 'echo usr2' USR2; echo ready; while :; do sleep 0.01; done`)
	cmd.SysProcAttr = attr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	tr := &trapper{pid: cmd.Process.Pid, lines: make(chan string, 256)}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			tr.lines <- sc.Text()
		}
		close(tr.lines)
	}()
	select {
	case l := <-tr.lines:
		if l != "ready" {
			t.Fatalf("shell %d said %q", tr.pid, l)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("shell %d did not start", tr.pid)
	}
	return tr
}

// expect waits for n lines equal to want, then checks that no other
// line follows for a while.
func (tr *trapper) expect(t *testing.T, want string, n int) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for i := 0; i < n; i++ {
		select {
		case l := <-tr.lines:
			if l != want {
				t.Errorf("shell %d got %q, want %q", tr.pid, l, want)
			}
		case <-deadline:
			t.Errorf("shell %d got %d of %d %s", tr.pid, i, n, want)
			return
		}
	}
	select {
	case l := <-tr.lines:
		t.Errorf("shell %d got an extra %q", tr.pid, l)
	case <-time.After(300 * time.Millisecond):
	}
}

// TestForwardLeavesNothingInFlight: after each signal the handler
// forwarded the in-flight counter is back at 0, and DisableFast returns.
// One signal at a time, each once the shell has answered the last: a
// shell holds one pending USR1 at most.
func TestForwardLeavesNothingInFlight(t *testing.T) {
	drain()
	tr := startTrapper(t, &syscall.SysProcAttr{Setpgid: true})
	catch.SetForward(int(unix.SIGUSR1), int(unix.SIGUSR1), true)
	defer catch.SetForward(int(unix.SIGUSR1), 0, false)
	catch.SetTarget(-tr.pid, tr.pid)
	defer disableFast(t)
	for i := 0; i < 10 && !t.Failed(); i++ {
		fromOutside(t, "", int(unix.SIGUSR1))
		if got := collect(t, 1); !slices.Equal(got, []byte{byte(unix.SIGUSR1) | catch.Forwarded}) {
			t.Errorf("signal %d: read %v", i, got)
		}
		if k := catch.Inflight(); k != 0 {
			t.Errorf("signal %d: in flight after forwarding: %d, want 0", i, k)
		}
		tr.expect(t, "usr1", 1)
	}
	disableFast(t)
}

// TestForwardBurst: a burst of queued real-time signals, which the
// kernel may deliver on several threads at once, is forwarded in full
// and leaves the counter at 0.
func TestForwardBurst(t *testing.T) {
	drain()
	tr := startTrapper(t, &syscall.SysProcAttr{Setpgid: true})
	const sig, n = 39, 50
	catch.SetForward(sig, int(unix.SIGUSR2), true)
	defer catch.SetForward(sig, 0, false)
	catch.SetTarget(-tr.pid, tr.pid)
	defer disableFast(t)
	script := strings.Repeat("kill -"+strconv.Itoa(hostSignal(sig))+" $PPID; ", n)
	if out, err := exec.Command("/bin/sh", "-c", script).CombinedOutput(); err != nil {
		t.Fatalf("sh: %v %s", err, out)
	}
	got := collect(t, n)
	if want := slices.Repeat([]byte{sig | catch.Forwarded}, n); !slices.Equal(got, want) {
		t.Errorf("read %v, want %d times %d", got, n, want[0])
	}
	disableFast(t)
	select { // USR2 coalesces in the shell: at least one
	case l := <-tr.lines:
		if l != "usr2" {
			t.Errorf("shell got %q, want usr2", l)
		}
	case <-time.After(10 * time.Second):
		t.Error("the shell got none of the forwarded signals")
	}
}

// TestForwardReachesChildOutsideItsGroup: the process group gets the
// signal, and so does the child, by PID, when it is in another group;
// a child still in the group gets it once.
func TestForwardReachesChildOutsideItsGroup(t *testing.T) {
	drain()
	group := startTrapper(t, &syscall.SysProcAttr{Setpgid: true})
	other := startTrapper(t, &syscall.SysProcAttr{Setpgid: true})
	child := startTrapper(t, &syscall.SysProcAttr{Setpgid: true, Pgid: other.pid})
	catch.SetForward(int(unix.SIGUSR1), int(unix.SIGUSR1), true)
	defer catch.SetForward(int(unix.SIGUSR1), 0, false)
	defer disableFast(t)

	catch.SetTarget(-group.pid, child.pid)
	fromOutside(t, "", int(unix.SIGUSR1))
	if got := collect(t, 1); !slices.Equal(got, []byte{byte(unix.SIGUSR1) | catch.Forwarded}) {
		t.Errorf("read %v", got)
	}
	group.expect(t, "usr1", 1)
	child.expect(t, "usr1", 1)
	other.expect(t, "", 0)

	catch.SetTarget(-group.pid, group.pid)
	fromOutside(t, "", int(unix.SIGUSR1))
	if got := collect(t, 1); !slices.Equal(got, []byte{byte(unix.SIGUSR1) | catch.Forwarded}) {
		t.Errorf("read %v", got)
	}
	group.expect(t, "usr1", 1)
	child.expect(t, "", 0)
	if k := catch.Inflight(); k != 0 {
		t.Errorf("in flight: %d, want 0", k)
	}
}

// disableFast calls DisableFast, and fails the test if it has not
// returned after ten seconds: the in-flight counter is stuck.
func disableFast(t *testing.T) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		catch.DisableFast()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Errorf("DisableFast has not returned after 10s: %d handlers in flight", catch.Inflight())
	}
}
