package reap

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reaper-init/reaper-init/internal/emutest"
	"golang.org/x/sys/unix"
)

func TestExitCode(t *testing.T) {
	tests := []struct {
		ws   Status
		want int
	}{
		{0, 0},              // exit 0
		{1 << 8, 1},         // exit 1
		{42 << 8, 42},       // exit 42
		{255 << 8, 255},     // exit 255
		{9, 137},            // SIGKILL
		{15, 143},           // SIGTERM
		{0x80 | 11, 139},    // SIGSEGV, core dumped
		{2, 130},            // SIGINT
		{64, 192},           // SIGRTMAX
		{0x7f | 19<<8, 128}, // stopped by SIGSTOP: not an end
		{0xffff, 128},       // continued
	}
	for _, tt := range tests {
		if got := ExitCode(tt.ws); got != tt.want {
			t.Errorf("ExitCode(%#x) = %d, want %d", uint32(tt.ws), got, tt.want)
		}
	}
}

// forkExec starts argv[0] (an absolute path) as a child of the test.
func forkExec(t testing.TB, argv ...string) int {
	t.Helper()
	pid, err := syscall.ForkExec(argv[0], argv, &syscall.ProcAttr{Files: []uintptr{0, 1, 2}})
	if err != nil {
		t.Fatalf("fork/exec %q: %v", argv, err)
	}
	return pid
}

// lookPath finds an absolute path for a program, or skips the test.
func lookPath(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("no %s program: %v", name, err)
	}
	return p
}

// waitExited blocks until some child has exited, without reaping it, as
// a SIGCHLD would tell the init. It reports false when there is no child.
func waitExited(t testing.TB) bool {
	t.Helper()
	for {
		var info unix.Siginfo
		err := unix.Waitid(unix.P_ALL, 0, &info, unix.WEXITED|unix.WNOWAIT, nil)
		switch err {
		case nil:
			return true
		case unix.EINTR:
			continue
		case unix.ECHILD:
			return false
		}
		t.Fatalf("waitid: %v", err)
	}
}

// reapExited reaps every child that has exited, one at a time as the
// init's reap loop does (package supervise, reapAll): Peek names one and
// Collect reaps it. It calls fn for each and returns how many it reaped.
func reapExited(t testing.TB, fn func(pid int, ws Status)) int {
	t.Helper()
	n := 0
	for {
		pid, _ := Peek(false)
		if pid <= 0 {
			return n
		}
		ws, ok := Collect(pid, false)
		if !ok {
			t.Fatalf("Collect(%d, false) = false for the child Peek named", pid)
		}
		n++
		fn(pid, ws)
	}
}

// reapWaited is reapExited once waitExited has seen a child exit: it
// fails the test when Peek names none, which would leave the caller's
// loop spinning.
func reapWaited(t testing.TB, fn func(pid int, ws Status)) int {
	t.Helper()
	n := reapExited(t, fn)
	if n == 0 {
		t.Fatal("a child has exited, but Peek(false) names none")
	}
	return n
}

// noChildren fails the test if the test process has children left, and
// collects them so that later tests start clean.
func noChildren(t *testing.T) {
	t.Helper()
	if HasChildren() {
		t.Errorf("children left")
		for waitExited(t) {
			reapWaited(t, func(int, Status) {})
		}
	}
}

func TestNothingToReap(t *testing.T) {
	if HasChildren() {
		t.Fatal("HasChildren() = true before any child was started")
	}
	if n := reapExited(t, func(pid int, ws Status) { t.Errorf("fn called for %d", pid) }); n != 0 {
		t.Errorf("reaped %d with no children", n)
	}
	if pid, _ := Peek(false); pid != 0 {
		t.Errorf("Peek(false) = %d with no children", pid)
	}
	if _, ok := Collect(os.Getpid(), false); ok {
		t.Errorf("Collect(own pid, false) = true")
	}
	if _, ok := Collect(1, false); ok {
		t.Errorf("Collect(1, false) = true")
	}
}

// TestReapEveryChild starts children that exit at about the same time,
// so that their SIGCHLDs coalesce, and checks that answering each wake-up
// with Peek and Collect until Peek names none collects every one of them
// exactly once, with its status.
func TestReapEveryChild(t *testing.T) {
	const n = 50
	sh := lookPath(t, "sh")
	want := make(map[int]int, n)
	for i := range n {
		code := i % 7
		want[forkExec(t, sh, "-c", "exit "+strconv.Itoa(code))] = code
	}
	got := make(map[int]int, n)
	total := 0
	for total < n {
		if !waitExited(t) {
			t.Fatalf("no children left after reaping %d of %d", total, n)
		}
		total += reapWaited(t, func(pid int, ws Status) {
			if _, dup := got[pid]; dup {
				t.Errorf("pid %d reaped twice", pid)
			}
			got[pid] = ExitCode(ws)
		})
	}
	if total != n || len(got) != n {
		t.Errorf("reaped %d children (%d distinct), want %d", total, len(got), n)
	}
	for pid, code := range want {
		if c, ok := got[pid]; !ok {
			t.Errorf("child %d not reaped", pid)
		} else if c != code {
			t.Errorf("child %d exit code %d, want %d", pid, c, code)
		}
	}
	if HasChildren() {
		t.Errorf("HasChildren() = true after every child was reaped")
	}
	if m := reapExited(t, func(int, Status) {}); m != 0 {
		t.Errorf("reaped %d after every child was reaped", m)
	}
}

// TestReapDoesNotBlock checks that Peek and Collect return at once while
// a child is still running, and leave it alone.
func TestReapDoesNotBlock(t *testing.T) {
	pid := forkExec(t, lookPath(t, "sleep"), "60")
	defer noChildren(t)
	start := time.Now()
	if n := reapExited(t, func(p int, ws Status) { t.Errorf("reaped %d (%#x) while it runs", p, uint32(ws)) }); n != 0 {
		t.Errorf("reaped %d while the only child runs", n)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("reaping took %v with a running child", d)
	}
	if !HasChildren() {
		t.Errorf("HasChildren() = false with a running child")
	}
	if err := unix.Kill(pid, unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitExited(t)
	var got Status
	if n := reapExited(t, func(p int, ws Status) {
		if p != pid {
			t.Errorf("reaped unknown pid %d", p)
		}
		got = ws
	}); n != 1 {
		t.Errorf("reaped %d after the child was killed, want 1", n)
	}
	if code := ExitCode(got); code != 137 {
		t.Errorf("ExitCode = %d for a SIGKILLed child, want 137", code)
	}
}

// procState returns the state letter of pid from /proc/pid/stat.
func procState(t *testing.T, pid int) byte {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Fatalf("read stat of %d: %v", pid, err)
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 || i+2 >= len(b) {
		t.Fatalf("bad /proc/%d/stat: %q", pid, b)
	}
	return b[i+2]
}

// TestPeekThenCollect checks the peek-then-reap sequence: Peek names an
// exited child without reaping it (its /proc entry still readable), and
// Collect reaps exactly that child.
func TestPeekThenCollect(t *testing.T) {
	pid := forkExec(t, lookPath(t, "sleep"), "60")
	defer noChildren(t)

	if got, _ := Peek(false); got != 0 {
		t.Errorf("Peek(false) = %d while the only child runs", got)
	}
	if _, ok := Collect(pid, false); ok {
		t.Errorf("Collect(%d, false) = true while it runs", pid)
	}
	if err := unix.Kill(pid, unix.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitExited(t)

	for range 2 { // peeking twice changes nothing
		if got, _ := Peek(false); got != pid {
			t.Fatalf("Peek(false) = %d, want %d", got, pid)
		}
		if s := procState(t, pid); s != 'Z' {
			t.Errorf("state of %d after Peek = %c, want Z (not reaped yet)", pid, s)
		}
	}
	if !HasChildren() {
		t.Errorf("HasChildren() = false with an unreaped zombie")
	}
	ws, ok := Collect(pid, false)
	if !ok {
		t.Fatalf("Collect(%d, false) = false for an exited child", pid)
	}
	if !ws.Signaled() || ws.Signal() != unix.SIGTERM || ExitCode(ws) != 143 {
		t.Errorf("Collect(%d, false) status %#x, want killed by SIGTERM", pid, uint32(ws))
	}
	if _, ok := Collect(pid, false); ok {
		t.Errorf("Collect(%d, false) = true twice", pid)
	}
	if got, _ := Peek(false); got != 0 {
		t.Errorf("Peek(false) = %d after the child was reaped", got)
	}
	if HasChildren() {
		t.Errorf("HasChildren() = true after the child was reaped")
	}
}

// TestCollectLeavesOthers checks that Collect reaps only the child it is
// asked for.
func TestCollectLeavesOthers(t *testing.T) {
	sh := lookPath(t, "sh")
	a := forkExec(t, sh, "-c", "exit 1")
	b := forkExec(t, sh, "-c", "exit 2")
	defer noChildren(t)
	deadline := time.Now().Add(30 * time.Second)
	for procState(t, a) != 'Z' || procState(t, b) != 'Z' {
		if time.Now().After(deadline) {
			t.Fatal("children did not exit within 30s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	ws, ok := Collect(b, false)
	if !ok || ExitCode(ws) != 2 {
		t.Errorf("Collect(b, false) = %#x, %v; want exit 2", uint32(ws), ok)
	}
	if s := procState(t, a); s != 'Z' {
		t.Errorf("other child's state %c after Collect(b, false), want Z", s)
	}
	if got, _ := Peek(false); got != a {
		t.Errorf("Peek(false) = %d, want %d", got, a)
	}
	ws, ok = Collect(a, false)
	if !ok || ExitCode(ws) != 1 {
		t.Errorf("Collect(a, false) = %#x, %v; want exit 1", uint32(ws), ok)
	}
}

// TestSetSubreaper checks that an orphan below a subreaper is re-parented
// to it and reaped by Peek and Collect. The test process stays a subreaper afterwards,
// which changes nothing for tests that reap what they start.
func TestSetSubreaper(t *testing.T) {
	sh := lookPath(t, "sh")
	lookPath(t, "sleep")
	if err := SetSubreaper(); err != nil {
		if errors.Is(err, unix.EINVAL) {
			emutest.Skip(t, "qemu-user 7.2 refuses PR_SET_CHILD_SUBREAPER with EINVAL")
		}
		t.Fatalf("SetSubreaper: %v", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	// The shell starts a grandchild, tells its pid and exits at once.
	pid, err := syscall.ForkExec(sh, []string{"sh", "-c", "sleep 0.3 >/dev/null & echo $!"},
		&syscall.ProcAttr{Files: []uintptr{0, w.Fd(), 2}})
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer noChildren(t)
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil {
		t.Fatalf("read grandchild pid: %v", err)
	}
	orphan, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatalf("bad grandchild pid %q", line)
	}

	reaped := map[int]Status{}
	for len(reaped) < 2 {
		if !waitExited(t) {
			t.Fatalf("no children left; reaped %v, want %d and %d", reaped, pid, orphan)
		}
		reapWaited(t, func(p int, ws Status) { reaped[p] = ws })
	}
	for _, p := range []int{pid, orphan} {
		if ws, ok := reaped[p]; !ok {
			t.Errorf("pid %d not reaped (reaped %v)", p, reaped)
		} else if ExitCode(ws) != 0 {
			t.Errorf("pid %d exit code %d, want 0", p, ExitCode(ws))
		}
	}
}

// BenchmarkReapAll measures fork, exec, exit and reap of short-lived
// children in batches, reaped as an init does: wake when one has exited,
// then Peek and Collect until none is left. The ns/child metric is the cost per child.
func BenchmarkReapAll(b *testing.B) {
	const batch = 16
	prog := lookPath(b, "true")
	attr := &syscall.ProcAttr{}
	argv := []string{"true"}
	children := 0
	for b.Loop() {
		for range batch {
			if _, err := syscall.ForkExec(prog, argv, attr); err != nil {
				b.Fatalf("fork/exec: %v", err)
			}
		}
		for n := 0; n < batch; {
			if !waitExited(b) {
				b.Fatalf("children lost: reaped %d of %d", n, batch)
			}
			n += reapWaited(b, func(int, Status) {})
		}
		children += batch
	}
	if children > 0 {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(children), "ns/child")
	}
}
