package core

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reaper-init/reaper-init/integration/internal/testenv"
)

// TestSigqueuedFaultSignals sends the fault signals to reaper-init as PID
// 1 with sigqueue (si_code SI_QUEUE), as `kill -q` does: a Go runtime left
// to itself takes those for real faults and crashes. reaper-init must
// survive every one and forward it.
func TestSigqueuedFaultSignals(t *testing.T) {
	t.Parallel()
	kill, err := exec.LookPath("kill")
	if err != nil || !strings.HasPrefix(kill, "/") {
		t.Skip("skipping: no kill command")
	}
	if out, err := exec.Command("/bin/kill", "-q", "1", "-0", strconv.Itoa(os.Getpid())).CombinedOutput(); err != nil {
		t.Skipf("skipping: /bin/kill has no -q (sigqueue): %v %s", err, out)
	}
	r := newRecorder(t)
	p := startInit(t, cmdline(nil, r.command(t))...)
	r.waitReady(t)
	faults := []syscall.Signal{syscall.SIGSEGV, syscall.SIGBUS, syscall.SIGFPE, syscall.SIGILL, syscall.SIGTRAP, syscall.SIGSYS, syscall.SIGABRT}
	for i, sig := range faults {
		out, err := exec.Command("/bin/kill", "-q", strconv.Itoa(i+7), "-"+strconv.Itoa(int(sig)), strconv.Itoa(p.pid)).CombinedOutput()
		if err != nil {
			t.Fatalf("kill -q %d -%d: %v %s", i+7, sig, err, out)
		}
		r.waitSignal(t, sig, 1)
		if !p.alive() {
			t.Fatalf("reaper-init died of a sigqueued %s\n%s", sigName(sig), p.stderr)
		}
	}
	time.Sleep(quietPeriod)
	if got := r.signals(t); !slices.Equal(got, faults) {
		t.Errorf("the child received %s, want %s", sigList(got), sigList(faults))
	}
	r.stop(t, 5)
	p.wantExit(5)
}

// TestRewriteAnySignal: a rewrite rule applies to every signal forwarded
// under it, the job-control and fault signals included.
func TestRewriteAnySignal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		rule      string
		send, got syscall.Signal
	}{
		{"TTIN:TERM", syscall.SIGTTIN, syscall.SIGTERM},
		{"TTOU:INT", syscall.SIGTTOU, syscall.SIGINT},
		{"31:1", syscall.SIGSYS, syscall.SIGHUP},
		{"SEGV:USR2", syscall.SIGSEGV, syscall.SIGUSR2},
		{"PROF:WINCH", syscall.SIGPROF, syscall.SIGWINCH},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			t.Parallel()
			r := newRecorder(t)
			p := startInit(t, cmdline([]string{"-r", tt.rule}, r.command(t))...)
			r.waitReady(t)
			p.kill(tt.send)
			r.waitSignal(t, tt.got, 1)
			time.Sleep(quietPeriod)
			if got, want := r.signals(t), []syscall.Signal{tt.got}; !slices.Equal(got, want) {
				t.Errorf("-r %s: sent %s, the child received %s, want %s", tt.rule, sigName(tt.send), sigList(got), sigList(want))
			}
			r.stop(t, 0)
			p.wantExit(0)
		})
	}
}

// TestStopSignalsStartGrace: a signal named in --stop-signals (SIGWINCH
// for Apache httpd, SIGRTMIN+3 for systemd) starts the grace period.
func TestStopSignalsStartGrace(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		sig  syscall.Signal
	}{{"WINCH", syscall.SIGWINCH}, {"SIGRTMIN+3", 37}} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if tt.sig >= 32 {
				testenv.SkipIfEmulated(t, rtShift)
			}
			r := newRecorder(t) // records, and so ignores, every signal
			p := startInit(t, cmdline([]string{"--grace", "1s", "--stop-signals", tt.name}, r.command(t))...)
			r.waitReady(t)
			begin := time.Now()
			p.kill(tt.sig)
			st := p.wait()
			took := time.Since(begin)
			if st.sig != 0 || st.code != 137 {
				t.Errorf("--stop-signals %s: %v, want exit code 137 after the grace period\n%s", tt.name, st, st.output)
			}
			if took < 900*time.Millisecond || took > 15*time.Second {
				t.Errorf("ended %v after %s, want about the 1s grace period", took, tt.name)
			}
		})
	}
	// The default set does not include SIGWINCH: no grace period.
	r := newRecorder(t)
	p := startInit(t, cmdline([]string{"--grace", "1s"}, r.command(t))...)
	r.waitReady(t)
	p.kill(syscall.SIGWINCH)
	r.waitSignal(t, syscall.SIGWINCH, 1)
	time.Sleep(1500 * time.Millisecond)
	if !p.alive() {
		t.Errorf("SIGWINCH started a grace period without --stop-signals")
	}
	r.stop(t, 0)
	p.wantExit(0)
}

// TestChildLeavesItsGroup: a main child that leaves its process group
// (setpgid) still gets every forwarded signal, once, and so does what is
// left in the group: from the handler, and from the loop (a held signal).
func TestChildLeavesItsGroup(t *testing.T) {
	t.Parallel()
	child, grandchild := newRecorder(t), newRecorder(t)
	argv := append(append(helper(t, "core-leave-group"), child.command(t)...), "--")
	argv = append(argv, grandchild.command(t)...)
	p := startInit(t, cmdline([]string{"--delay", "USR2:50ms"}, argv)...)
	c, g := child.waitReady(t), grandchild.waitReady(t)
	if c.pgid == g.pgid {
		t.Fatalf("the child (pgid %d) did not leave the grandchild's group", c.pgid)
	}
	for _, sig := range []syscall.Signal{syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGHUP} {
		p.kill(sig)
		child.waitSignal(t, sig, 1)
		grandchild.waitSignal(t, sig, 1)
	}
	time.Sleep(quietPeriod)
	want := []syscall.Signal{syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGHUP}
	if got := child.signals(t); !slices.Equal(got, want) {
		t.Errorf("the child that left its group received %s, want %s", sigList(got), sigList(want))
	}
	if got := grandchild.signals(t); !slices.Equal(got, want) {
		t.Errorf("the process left in the group received %s, want %s", sigList(got), sigList(want))
	}
	grandchild.stop(t, 0)
	child.stop(t, 0)
	p.wantExit(0)
}

// TestRelativeMetricsFile: a relative --metrics-file is resolved against
// the directory reaper-init started in, not against "/", where it moves.
func TestRelativeMetricsFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cmd := testenv.InitCommand(t, "--metrics-file", "m.prom", "--", "true")
	cmd.Dir = dir
	p := start(t, cmd, true)
	p.wantExit(0)
	if _, err := os.Stat(filepath.Join(dir, "m.prom")); err != nil {
		t.Errorf("no metrics file in the starting directory: %v\n%s", err, p.stderr)
	}
}

// TestWatchFloor: an interval that would scan /proc back to back is a
// usage error, on the command line and in the environment.
func TestWatchFloor(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"--watch", "1ns"}, {"--watch", "10ms"}} {
		p := startInit(t, append(args, "--", "true")...)
		p.wantExit(2)
		if !strings.Contains(p.stderr.String(), "watch") {
			t.Errorf("%v: stderr %q does not name the option", args, p.stderr)
		}
	}
	cmd := testenv.InitCommand(t, "--", "true")
	cmd.Env = append(os.Environ(), "REAPER_WATCH=1ns")
	p := start(t, cmd, true)
	p.wantExit(2)
	if !strings.Contains(p.stderr.String(), "REAPER_WATCH") {
		t.Errorf("stderr %q does not name REAPER_WATCH", p.stderr)
	}
}

// TestOptionNeedsValue: `--grace -- cmd` is a missing value, not a grace
// period called "--".
func TestOptionNeedsValue(t *testing.T) {
	t.Parallel()
	for _, opt := range []string{"--grace", "--delay", "-e", "--metrics-file", "-r"} {
		p := startInit(t, opt, "--", "true")
		p.wantExit(2)
		if want := "option " + opt + " needs a value"; !strings.Contains(p.stderr.String(), want) {
			t.Errorf("%s --: stderr %q, want %q", opt, p.stderr, want)
		}
	}
}
