package watch

import (
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reaper-init/reaper-init/integration/internal/testenv"
)

// orphanLines waits for watch_orphans' two "orphan pid=P comm=NAME" lines
// and returns the PIDs by command name.
func orphanLines(t *testing.T, p *proc) map[string]string {
	t.Helper()
	byComm := map[string]string{}
	from := 0
	for len(byComm) < 2 {
		i, line, ok := p.stdout.wait(from, readyTimeout, func(l string) bool { return strings.HasPrefix(l, "orphan ") })
		if !ok {
			t.Fatalf("the orphans did not report within %v\nstdout:\n%s\nstderr:\n%s", readyTimeout, p.stdout, p.stderr)
		}
		pid, comm, _ := strings.Cut(strings.TrimPrefix(line, "orphan pid="), " comm=")
		byComm[comm] = pid
		from = i + 1
	}
	return byComm
}

// TestWarnOnReap: with -w each reaped orphan is logged with its PID, its
// command name (quoted when it holds spaces) and how it ended; the main
// child is not.
func TestWarnOnReap(t *testing.T) {
	p := startInit(t, "-w", "--watch", "0", "--", testenv.Helper(t), "watch_orphans")
	orphans := orphanLines(t, p)
	want := []string{
		"[reaper-init] reaped orphan pid=" + orphans["orphan-exit7"] + " comm=orphan-exit7 exit=7",
		"[reaper-init] reaped orphan pid=" + orphans["orphan (sig)"] + ` comm="orphan (sig)" signal=SIGKILL`,
	}
	for _, w := range want {
		if _, _, ok := p.stderr.wait(0, readyTimeout, func(l string) bool { return l == w }); !ok {
			t.Errorf("no line %q within %v\nstderr:\n%s", w, readyTimeout, p.stderr)
		}
	}
	if err := syscall.Kill(p.pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.exit(); code != 128+int(syscall.SIGTERM) {
		t.Errorf("exit code %d, want %d", code, 128+int(syscall.SIGTERM))
	}
	// The middle process was reaped by the main child, and the main child
	// by reaper-init as its own: neither is an orphan.
	n := 0
	for _, l := range p.stderr.snapshot() {
		if strings.Contains(l, "reaped orphan") {
			n++
		}
	}
	if n != len(want) {
		t.Errorf("%d \"reaped orphan\" lines, want %d\nstderr:\n%s", n, len(want), p.stderr)
	}
}

// TestWarnOnReapOff: without -w the same orphans are reaped silently.
func TestWarnOnReapOff(t *testing.T) {
	p := startInit(t, "--watch", "0", "--", testenv.Helper(t), "watch_orphans")
	orphans := orphanLines(t, p)
	// Wait until both orphans are gone from /proc: reaped.
	deadline := time.Now().Add(readyTimeout)
	for {
		left := 0
		for _, s := range testenv.Descendants(p.pid) {
			if s.Comm == "orphan-exit7" || s.Comm == "orphan (sig)" {
				left++
			}
		}
		if left == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("orphans %v still not reaped after %v", orphans, readyTimeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := syscall.Kill(p.pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	p.exit()
	for _, l := range p.stderr.snapshot() {
		if strings.Contains(l, "reaped orphan") || strings.Contains(l, "orphan-exit7") {
			t.Errorf("logged without -w: %q", l)
		}
	}
	if _, err := strconv.Atoi(orphans["orphan-exit7"]); err != nil {
		t.Errorf("orphan pid %q", orphans["orphan-exit7"])
	}
}
