package supervise

import (
	"bytes"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/reaper-init/reaper-init/internal/logx"
	"github.com/reaper-init/reaper-init/internal/signals"
	"github.com/reaper-init/reaper-init/internal/spawn"
	"golang.org/x/sys/unix"
)

// These tests run the supervisor in the test process against real
// children: the test binary is their parent, so the supervisor's wait4(-1)
// sees them. None runs in parallel, as the supervisor reaps every child
// of the process.

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// pipeSignals stands in for a signals.Catcher: the test writes the
// signals "received" into a pipe, and a goroutine adds SIGCHLD, which
// os/signal delivers for the test's real children.
type pipeSignals struct{ r, w int }

func (p *pipeSignals) FD() int { return p.r }

func (p *pipeSignals) Drain(fn func(unix.Signal)) {
	var buf [64]byte
	for {
		n, err := unix.Read(p.r, buf[:])
		if err != nil || n <= 0 {
			return
		}
		for _, b := range buf[:n] {
			fn(unix.Signal(b))
		}
	}
}

func (p *pipeSignals) send(sig unix.Signal) { _, _ = unix.Write(p.w, []byte{byte(sig)}) }

type fixture struct {
	t   *testing.T
	sig *pipeSignals
	log *syncBuffer
	cfg Config
}

func newFixture(t *testing.T, argv ...string) *fixture {
	t.Helper()
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, sig: &pipeSignals{r: p[0], w: p[1]}, log: &syncBuffer{}}
	chld := make(chan os.Signal, 1)
	signal.Notify(chld, syscall.SIGCHLD)
	go func() {
		for range chld {
			f.sig.send(unix.SIGCHLD)
		}
	}()
	t.Cleanup(func() {
		signal.Stop(chld)
		close(chld)
	})
	pid, err := spawn.Start(argv, os.Environ(), spawn.Options{})
	if err != nil {
		t.Fatalf("start %q: %v", argv, err)
	}
	t.Cleanup(func() {
		_ = unix.Kill(-pid, unix.SIGKILL)
		var ws unix.WaitStatus
		for {
			if got, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil); got <= 0 || err != nil {
				return
			}
		}
	})
	f.cfg = Config{Child: pid, Log: logx.New(f.log, logx.LevelDebug)}
	return f
}

// run runs the supervisor and returns its exit code and how long it took.
func (f *fixture) run(send ...unix.Signal) (int, time.Duration) {
	f.t.Helper()
	s := New(f.cfg, f.sig)
	for _, sig := range send {
		f.sig.send(sig)
	}
	begin := time.Now()
	done := make(chan int, 1)
	go func() { done <- s.Run(0) }()
	select {
	case code := <-done:
		return code, time.Since(begin)
	case <-time.After(30 * time.Second):
		f.t.Fatalf("supervisor still running after 30s\n%s", f.log)
		return 0, 0
	}
}

// ready waits for the shell child to have set its traps.
func ready(t *testing.T, path string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not created within 10s", path)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestExitCodeOfMainChild(t *testing.T) {
	f := newFixture(t, "/bin/sh", "-c", "exit 7")
	if code, _ := f.run(); code != 7 {
		t.Errorf("exit code %d, want 7", code)
	}
}

func TestForwardThroughRewrite(t *testing.T) {
	dir := t.TempDir()
	f := newFixture(t, "/bin/sh", "-c", `trap 'exit 10' USR1; trap 'exit 15' TERM; : > `+dir+`/ready; while :; do sleep 0.01; done`)
	ready(t, dir+"/ready")
	var rw signals.Rewrites
	rw.Set(unix.SIGTERM, unix.SIGUSR1)
	f.cfg.Rewrites = &rw
	var forwarded []unix.Signal
	f.cfg.OnForward = func(sig unix.Signal) { forwarded = append(forwarded, sig) }
	if code, _ := f.run(unix.SIGTERM); code != 10 {
		t.Errorf("exit code %d, want 10 (TERM rewritten to USR1)\n%s", code, f.log)
	}
	if len(forwarded) != 1 || forwarded[0] != unix.SIGUSR1 {
		t.Errorf("forwarded %v, want [SIGUSR1]", forwarded)
	}
}

func TestNotForwardable(t *testing.T) {
	dir := t.TempDir()
	f := newFixture(t, "/bin/sh", "-c", `trap 'exit 11' SEGV; trap 'exit 12' USR2; : > `+dir+`/ready; while :; do sleep 0.01; done`)
	ready(t, dir+"/ready")
	if code, _ := f.run(unix.SIGSEGV, unix.SIGUSR2); code != 12 {
		t.Errorf("exit code %d, want 12: SIGSEGV must not be forwarded\n%s", code, f.log)
	}
}

func TestGraceKillsChildIgnoringTerm(t *testing.T) {
	dir := t.TempDir()
	f := newFixture(t, "/bin/sh", "-c", `trap '' TERM; : > `+dir+`/ready; while :; do sleep 0.01; done`)
	ready(t, dir+"/ready")
	f.cfg.Grace = 300 * time.Millisecond
	code, took := f.run(unix.SIGTERM)
	if code != 137 {
		t.Errorf("exit code %d, want 137\n%s", code, f.log)
	}
	if took < 250*time.Millisecond || took > 10*time.Second {
		t.Errorf("took %v, want about the 300ms grace period", took)
	}
	if !strings.Contains(f.log.String(), "grace period over: killed") {
		t.Errorf("log has no kill line:\n%s", f.log)
	}
}

func TestSecondTerminatingSignalKillsAtOnce(t *testing.T) {
	dir := t.TempDir()
	f := newFixture(t, "/bin/sh", "-c", `trap '' TERM INT; : > `+dir+`/ready; while :; do sleep 0.01; done`)
	ready(t, dir+"/ready")
	f.cfg.Grace = time.Minute
	code, took := f.run(unix.SIGTERM, unix.SIGINT)
	if code != 137 || took > 10*time.Second {
		t.Errorf("exit code %d after %v, want 137 at once\n%s", code, took, f.log)
	}
}

func TestDelayHoldsSignal(t *testing.T) {
	dir := t.TempDir()
	f := newFixture(t, "/bin/sh", "-c", `trap 'exit 15' TERM; : > `+dir+`/ready; while :; do sleep 0.01; done`)
	ready(t, dir+"/ready")
	var delays [signals.Max + 1]time.Duration
	delays[unix.SIGTERM] = 300 * time.Millisecond
	f.cfg.Delays = &delays
	code, took := f.run(unix.SIGTERM)
	if code != 15 {
		t.Errorf("exit code %d, want 15\n%s", code, f.log)
	}
	if took < 250*time.Millisecond {
		t.Errorf("TERM forwarded after %v, want no earlier than the 300ms delay", took)
	}
}

func TestDrainTermsLeftovers(t *testing.T) {
	// As a subreaper the test process adopts the leftover, as the init
	// does with -s.
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Skipf("skipping: cannot become a subreaper: %v", err)
	}
	defer unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
	dir := t.TempDir()
	// The leftover is in the main child's group; it exits on TERM.
	f := newFixture(t, "/bin/sh", "-c", `(trap 'echo term > `+dir+`/term; exit 0' TERM; : > `+dir+`/ready; while :; do sleep 0.01; done) & exit 3`)
	ready(t, dir+"/ready")
	f.cfg.Grace = 10 * time.Second
	code, took := f.run()
	if code != 3 {
		t.Errorf("exit code %d, want the main child's 3\n%s", code, f.log)
	}
	if took > 8*time.Second {
		t.Errorf("drain took %v; the leftover exits on TERM at once", took)
	}
	if b, err := os.ReadFile(dir + "/term"); err != nil || string(b) != "term\n" {
		t.Errorf("leftover did not record its SIGTERM (%q, %v)\n%s", b, err, f.log)
	}
	if !strings.Contains(f.log.String(), "drain:") {
		t.Errorf("log has no drain line:\n%s", f.log)
	}
}

// TestHeldSignalDroppedWhenMainChildExits checks that a SIGTERM held by
// --delay does not reach the drain as a "second" terminating signal,
// which would SIGKILL the leftovers before the grace period ends.
func TestHeldSignalDroppedWhenMainChildExits(t *testing.T) {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Skipf("skipping: cannot become a subreaper: %v", err)
	}
	defer unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
	dir := t.TempDir()
	// The main child exits after 200ms, the leftover 1s after its TERM.
	f := newFixture(t, "/bin/sh", "-c", `(trap 'sleep 1; exit 0' TERM; : > `+dir+`/ready; while :; do sleep 0.01; done) & sleep 0.2; exit 4`)
	ready(t, dir+"/ready")
	var delays [signals.Max + 1]time.Duration
	delays[unix.SIGTERM] = 500 * time.Millisecond
	f.cfg.Delays = &delays
	f.cfg.Grace = 10 * time.Second
	code, _ := f.run(unix.SIGTERM)
	if code != 4 {
		t.Errorf("exit code %d, want the main child's 4\n%s", code, f.log)
	}
	if strings.Contains(f.log.String(), "killed") {
		t.Errorf("the leftover was killed instead of drained:\n%s", f.log)
	}
}
