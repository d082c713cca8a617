package supervise

import (
	"bytes"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/reaper-init/reaper-init/internal/emutest"
	"github.com/reaper-init/reaper-init/internal/logx"
	"github.com/reaper-init/reaper-init/internal/signals"
	"github.com/reaper-init/reaper-init/internal/watch"
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

func (p *pipeSignals) Read(b []byte) int {
	n, err := unix.Read(p.r, b)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

func (p *pipeSignals) ChildSeen()                {}
func (p *pipeSignals) SetTarget(int, int)        {}
func (p *pipeSignals) SetForward(int, int, bool) {}
func (p *pipeSignals) Counted(func(sig, n int))  {}
func (p *pipeSignals) DisableFast()              {}
func (p *pipeSignals) send(sig unix.Signal)      { _, _ = unix.Write(p.w, []byte{byte(sig)}) }

// sendForwarded writes sig as the handler does when it forwarded it
// itself.
func (p *pipeSignals) sendForwarded(sig unix.Signal) {
	_, _ = unix.Write(p.w, []byte{byte(sig) | forwardedBit})
}

// start starts argv in a process group of its own, as the init does.
func start(t *testing.T, argv []string) int {
	t.Helper()
	path, err := exec.LookPath(argv[0])
	if err != nil {
		t.Fatal(err)
	}
	pid, err := syscall.ForkExec(path, argv, &syscall.ProcAttr{
		Env:   os.Environ(),
		Files: []uintptr{0, 1, 2},
		Sys:   &syscall.SysProcAttr{Setpgid: true},
	})
	if err != nil {
		t.Fatalf("start %q: %v", argv, err)
	}
	return pid
}

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
	pid := start(t, argv)
	t.Cleanup(func() {
		_ = unix.Kill(-pid, unix.SIGKILL)
		var ws unix.WaitStatus
		for {
			if got, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil); got <= 0 || err != nil {
				return
			}
		}
	})
	f.cfg = Config{Child: pid, TTY: -1, Log: logx.New(f.log, logx.LevelDebug)}
	return f
}

// run runs the supervisor and returns its exit code and how long it took.
func (f *fixture) run(send ...unix.Signal) (int, time.Duration) {
	f.t.Helper()
	out, took := f.outcome(send...)
	return out.Code, took
}

// outcome runs the supervisor and returns how it ended and how long it
// took.
func (f *fixture) outcome(send ...unix.Signal) (Outcome, time.Duration) {
	f.t.Helper()
	s := New(f.cfg, f.sig)
	for _, sig := range send {
		f.sig.send(sig)
	}
	begin := time.Now()
	done := make(chan Outcome, 1)
	go func() { done <- s.Run(nil) }()
	select {
	case out := <-done:
		return out, time.Since(begin)
	case <-time.After(30 * time.Second):
		f.t.Fatalf("supervisor still running after 30s\n%s", f.log)
		return Outcome{}, 0
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
	f.cfg.Stats = watch.NewStats()
	if code, _ := f.run(unix.SIGTERM); code != 10 {
		t.Errorf("exit code %d, want 10 (TERM rewritten to USR1)\n%s", code, f.log)
	}
	for sig, n := range f.cfg.Stats.Forwarded {
		if want := map[bool]uint64{true: 1}[sig == int(unix.SIGUSR1)]; n != want {
			t.Errorf("forwarded %s %d times, want %d", signals.Name(unix.Signal(sig)), n, want)
		}
	}
}

// TestFaultSignalForwarded: a SIGSEGV another process sent is the
// application's business.
func TestFaultSignalForwarded(t *testing.T) {
	dir := t.TempDir()
	f := newFixture(t, "/bin/sh", "-c", `trap 'exit 11' SEGV; trap 'exit 12' USR2; : > `+dir+`/ready; while :; do sleep 0.01; done`)
	ready(t, dir+"/ready")
	if code, _ := f.run(unix.SIGSEGV); code != 11 {
		t.Errorf("exit code %d, want 11: SIGSEGV must be forwarded\n%s", code, f.log)
	}
}

// TestForwardedByHandler: a byte marked forwarded is bookkeeping only:
// nothing is sent again, and the grace period starts.
func TestForwardedByHandler(t *testing.T) {
	dir := t.TempDir()
	f := newFixture(t, "/bin/sh", "-c", `trap 'echo x >> `+dir+`/got' USR1; trap '' TERM; : > `+dir+`/ready; while :; do sleep 0.01; done`)
	ready(t, dir+"/ready")
	f.cfg.Grace = 300 * time.Millisecond
	f.sig.sendForwarded(unix.SIGUSR1)
	f.sig.sendForwarded(unix.SIGTERM)
	out, took := f.outcome()
	if out.Code != 137 || !out.GraceExpired || !out.Forwarded || out.Signal != unix.SIGTERM {
		t.Errorf("outcome %+v, want 137 after the grace period started by a forwarded TERM\n%s", out, f.log)
	}
	if took < 250*time.Millisecond {
		t.Errorf("took %v, want the 300ms grace period", took)
	}
	if b, _ := os.ReadFile(dir + "/got"); len(b) != 0 {
		t.Errorf("the loop sent USR1 again: %q", b)
	}
}

// TestStopSignals: a configured stop signal starts the grace period.
func TestStopSignals(t *testing.T) {
	for _, sig := range []unix.Signal{unix.SIGWINCH, 37} {
		if sig >= 32 && emutest.Emulator() != "" {
			// qemu-user sends a real-time signal of the program it
			// runs as another host signal, which the native shell
			// does not ignore.
			t.Logf("not testing %s: under %s it reaches a native child as another signal", signals.Name(sig), emutest.Emulator())
			continue
		}
		dir := t.TempDir()
		f := newFixture(t, "/bin/sh", "-c", `trap '' WINCH 37; : > `+dir+`/ready; while :; do sleep 0.01; done`)
		ready(t, dir+"/ready")
		f.cfg.Grace = 300 * time.Millisecond
		f.cfg.Stop = signals.Set(0).Add(sig)
		if code, took := f.run(sig); code != 137 || took < 250*time.Millisecond {
			t.Errorf("%s as a stop signal: exit code %d after %v, want 137 after 300ms\n%s", signals.Name(sig), code, took, f.log)
		}
	}
}

// TestPauseMode: no child; TERM ends it, other signals are ignored.
func TestPauseMode(t *testing.T) {
	f := newFixture(t, "/bin/sh", "-c", "exit 0")
	f.cfg.Child = 0
	var stopping unix.Signal
	f.cfg.OnStopping = func(sig unix.Signal, _ time.Time, _ unix.Signal) { stopping = sig }
	out, _ := f.outcome(unix.SIGUSR1, unix.SIGHUP, unix.SIGTERM)
	if out.Signal != unix.SIGTERM || stopping != unix.SIGTERM || out.Exited {
		t.Errorf("pause outcome %+v, stopping %v\n%s", out, stopping, f.log)
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
