package core

import (
	"fmt"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/reaper-init/reaper-init/integration/internal/testenv"
)

// forwardable is every signal reaper-init forwards when another process
// sends it: 1 to 31 but SIGKILL, SIGSTOP and SIGCHLD, and the real-time
// signals 35 to 64 (32 to 34 stay reserved). SIGPROF is left to
// TestSIGPROFForwarded: the recorder's Go runtime keeps it for its
// profiler and never hands it on.
var forwardable = func() []syscall.Signal {
	var sigs []syscall.Signal
	for s := syscall.Signal(1); s <= 64; s++ {
		switch {
		case s == syscall.SIGKILL, s == syscall.SIGSTOP, s == syscall.SIGCHLD, s == syscall.SIGPROF:
		case s >= 32 && s <= 34:
		default:
			sigs = append(sigs, s)
		}
	}
	return sigs
}()

// notForwarded are the signals reaper-init must neither forward nor die of.
var notForwarded = []syscall.Signal{syscall.SIGCHLD, 32, 33, 34}

// rtShift is what qemu-user does to real-time signals, which some tests
// cannot check through it: host and guest numbers differ by two.
const rtShift = "qemu-user shifts real-time signals by two between host and guest " +
	"(the host's signal 40 reaches the emulated init as 38, and the 40 it sends leaves as 42)"

// rtReserved are the host's real-time signals that reach an emulated init
// as the guest's 32 to 34, which reaper-init reserves: it must not forward
// them, and after one the emulated runtime at times delivers no further
// signal to the init (qemu-user 7.2; the native build of the same code,
// the os/signal fallback, does not).
var rtReserved = []syscall.Signal{34, 35, 36}

// underEmulation returns sigs without those in drop when the init is
// emulated, and then runs a subtest named name that skips with a line
// naming the emulator's limit.
func underEmulation(t *testing.T, name string, sigs, drop []syscall.Signal, limit string) []syscall.Signal {
	t.Helper()
	if !testenv.Emulated(t) {
		return sigs
	}
	var kept, dropped []syscall.Signal
	for _, sig := range sigs {
		if slices.Contains(drop, sig) {
			dropped = append(dropped, sig)
		} else {
			kept = append(kept, sig)
		}
	}
	if len(dropped) > 0 {
		t.Run(name, func(t *testing.T) {
			testenv.SkipIfEmulated(t, limit+": not sending "+sigList(dropped))
		})
	}
	return kept
}

// TestForwardSignals sends every forwardable signal to reaper-init, one
// at a time, and checks the child receives each exactly once and nothing
// else, in group mode (the default and -g) and with -c.
func TestForwardSignals(t *testing.T) {
	sigs := underEmulation(t, "reserved", forwardable, rtReserved,
		rtShift+"; host signals 35 and 36 arrive as the reserved 33 and 34")
	for _, opts := range [][]string{nil, {"-g"}, {"-c"}} {
		t.Run(fmt.Sprint(opts), func(t *testing.T) {
			t.Parallel()
			r := newRecorder(t)
			p := startInit(t, cmdline(opts, r.command(t))...)
			r.waitReady(t)
			var want []syscall.Signal
			for _, sig := range sigs {
				p.kill(sig)
				want = append(want, sig)
				r.waitSignal(t, sig, 1)
				if got := r.signals(t); !slices.Equal(got, want) {
					t.Fatalf("after sending %s the child received %s, want %s",
						sigName(sig), sigList(got), sigList(want))
				}
			}
			time.Sleep(quietPeriod)
			if got := r.signals(t); !slices.Equal(got, want) {
				t.Errorf("the child received %s, want %s", sigList(got), sigList(want))
			}
			r.stop(t, 3)
			p.wantExit(3)
		})
	}
}

// shellRecorder is a POSIX shell script that records SIGPROF and SIGUSR1
// the way core-sigrecord does, for the signal a Go program cannot see.
const shellRecorder = `trap 'echo 27 >> "$1"' PROF
trap 'echo 10 >> "$1"' USR1
: > "$1"
echo ready > "$1.ready"
while [ ! -e "$1.stop" ]; do sleep 0.01; done
exit "$(cat "$1.stop")"`

// TestSIGPROFForwarded: a SIGPROF another process sends reaches the
// child, once, although reaper-init's Go runtime uses SIGPROF for its
// profiler: the handler tells the two apart by their siginfo. A shell is
// the child, since a Go recorder cannot see SIGPROF.
func TestSIGPROFForwarded(t *testing.T) {
	t.Parallel()
	r := newRecorder(t)
	p := startInit(t, "--", "sh", "-c", shellRecorder, "sh", r.log)
	testenv.WaitFile(t, r.log+".ready", readyTimeout)
	p.kill(syscall.SIGPROF)
	r.waitSignal(t, syscall.SIGPROF, 1)
	p.kill(syscall.SIGUSR1)
	r.waitSignal(t, syscall.SIGUSR1, 1)
	time.Sleep(quietPeriod)
	if got, want := r.signals(t), []syscall.Signal{syscall.SIGPROF, syscall.SIGUSR1}; !slices.Equal(got, want) {
		t.Errorf("the child received %s, want %s", sigList(got), sigList(want))
	}
	if !p.alive() {
		t.Fatalf("reaper-init died of SIGPROF\n%s", p.stderr)
	}
	r.stop(t, 6)
	p.wantExit(6)
}

// TestNotForwarded sends SIGCHLD and the reserved real-time signals 32 to
// 34 to reaper-init. None may reach the child and none may kill
// reaper-init: each is followed by a SIGWINCH that must arrive alone, and
// reaper-init later exits with the child's code.
func TestNotForwarded(t *testing.T) {
	t.Parallel()
	const sentinel = syscall.SIGWINCH
	sigs := underEmulation(t, "reserved", notForwarded, rtReserved,
		rtShift+"; host signal 34 arrives as the reserved 32, after which the emulated init at times gets no further signal")
	r := newRecorder(t)
	p := startInit(t, cmdline(nil, r.command(t))...)
	r.waitReady(t)
	var want []syscall.Signal
	for _, sig := range sigs {
		p.kill(sig)
		p.kill(sentinel)
		want = append(want, sentinel)
		r.waitSignal(t, sentinel, len(want))
		if got := r.signals(t); !slices.Equal(got, want) {
			t.Fatalf("after sending %s and %s the child received %s, want only %s",
				sigName(sig), sigName(sentinel), sigList(got), sigList(want))
		}
		if !p.alive() {
			t.Fatalf("reaper-init died of %s\n%s", sigName(sig), p.stderr)
		}
	}
	time.Sleep(quietPeriod)
	if got := r.signals(t); !slices.Equal(got, want) {
		t.Errorf("the child received %s, want only %s", sigList(got), sigList(want))
	}
	r.stop(t, 4)
	p.wantExit(4)
}

// TestProcessGroup checks that a signal reaches the whole process group
// of the child by default, and the child alone with -c.
func TestProcessGroup(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name             string
		opts             []string
		grandchildGetsIt bool
	}{
		{"group", nil, true},
		{"g", []string{"-g"}, true},
		{"c", []string{"-c"}, false},
		{"singleChild", []string{"--single-child"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			child, grandchild := newRecorder(t), newRecorder(t)
			p := startInit(t, cmdline(tt.opts, child.command(t, grandchild.command(t)...))...)
			c, g := child.waitReady(t), grandchild.waitReady(t)
			if c.pgid != c.pid {
				t.Errorf("the child (pid %d) is in process group %d, want a group of its own", c.pid, c.pgid)
			}
			if c.ppgid == c.pgid {
				t.Errorf("the child shares process group %d with reaper-init", c.pgid)
			}
			if g.pgid != c.pgid {
				t.Fatalf("the grandchild is in process group %d, not the child's %d", g.pgid, c.pgid)
			}

			p.kill(syscall.SIGTERM)
			child.waitSignal(t, syscall.SIGTERM, 1)
			if tt.grandchildGetsIt {
				grandchild.waitSignal(t, syscall.SIGTERM, 1)
			}
			time.Sleep(quietPeriod)
			want := []syscall.Signal{syscall.SIGTERM}
			if got := child.signals(t); !slices.Equal(got, want) {
				t.Errorf("the child received %s, want %s", sigList(got), sigList(want))
			}
			got := grandchild.signals(t)
			if !tt.grandchildGetsIt {
				want = nil
			}
			if !slices.Equal(got, want) {
				t.Errorf("the grandchild received %s, want %s", sigList(got), sigList(want))
			}
			if !tt.grandchildGetsIt {
				// Prove the grandchild would have recorded it.
				kids := childrenOf(p.pid)
				if len(kids) != 1 {
					t.Fatalf("reaper-init has children %+v, want only the main child", kids)
				}
				gkids := testenv.Children(kids[0].PID)
				if len(gkids) != 1 {
					t.Fatalf("the child has children %v, want one", gkids)
				}
				if err := syscall.Kill(gkids[0], syscall.SIGUSR2); err != nil {
					t.Fatal(err)
				}
				grandchild.waitSignal(t, syscall.SIGUSR2, 1)
			}
			grandchild.stop(t, 0)
			child.stop(t, 0)
			p.wantExit(0)
		})
	}
}

// TestRewrite checks -r: a rewritten signal reaches the child as its
// replacement, a signal rewritten to 0 is dropped, other signals pass
// unchanged. Each case ends with a SIGWINCH that must arrive.
func TestRewrite(t *testing.T) {
	t.Parallel()
	const (
		TERM = syscall.SIGTERM
		USR1 = syscall.SIGUSR1
		USR2 = syscall.SIGUSR2
		HUP  = syscall.SIGHUP
	)
	tests := []struct {
		name string
		opts []string
		send []syscall.Signal
		want []syscall.Signal // before the final SIGWINCH
	}{
		{"names", []string{"-r", "TERM:USR1"}, []syscall.Signal{TERM}, []syscall.Signal{USR1}},
		{"sigNames", []string{"-r", "SIGTERM:SIGUSR1"}, []syscall.Signal{TERM}, []syscall.Signal{USR1}},
		{"numbers", []string{"-r", "15:10"}, []syscall.Signal{TERM}, []syscall.Signal{USR1}},
		{"attached", []string{"-rTERM:USR1"}, []syscall.Signal{TERM}, []syscall.Signal{USR1}},
		{"long", []string{"--rewrite", "TERM:USR1"}, []syscall.Signal{TERM}, []syscall.Signal{USR1}},
		{"longEquals", []string{"--rewrite=TERM:USR1"}, []syscall.Signal{TERM}, []syscall.Signal{USR1}},
		{"othersUnchanged", []string{"-r", "TERM:USR1"}, []syscall.Signal{HUP, USR1}, []syscall.Signal{HUP, USR1}},
		{"drop", []string{"-r", "USR2:0"}, []syscall.Signal{USR2}, nil},
		{"dropNumber", []string{"-r", "12:0"}, []syscall.Signal{USR2, HUP}, []syscall.Signal{HUP}},
		{"lastWins", []string{"-r", "TERM:USR1", "-r", "TERM:USR2"}, []syscall.Signal{TERM}, []syscall.Signal{USR2}},
		{"two", []string{"-r", "TERM:USR1", "-r", "HUP:0"}, []syscall.Signal{HUP, TERM}, []syscall.Signal{USR1}},
		{"realtime", []string{"-r", "TERM:40"}, []syscall.Signal{TERM}, []syscall.Signal{40}},
		{"singleChild", []string{"-c", "-r", "TERM:USR1"}, []syscall.Signal{TERM}, []syscall.Signal{USR1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if slices.ContainsFunc(tt.want, func(sig syscall.Signal) bool { return sig >= 32 }) {
				testenv.SkipIfEmulated(t, rtShift)
			}
			r := newRecorder(t)
			p := startInit(t, cmdline(tt.opts, r.command(t))...)
			r.waitReady(t)
			sent := append(append([]syscall.Signal{}, tt.send...), syscall.SIGWINCH)
			for _, sig := range sent {
				p.kill(sig)
				time.Sleep(20 * time.Millisecond)
			}
			r.waitSignal(t, syscall.SIGWINCH, 1)
			time.Sleep(quietPeriod)
			// The kernel may deliver pending signals in any order: compare
			// what arrived, not when.
			got := r.signals(t)
			want := append(append([]syscall.Signal{}, tt.want...), syscall.SIGWINCH)
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("%v: sent %s, the child received %s, want %s", tt.opts, sigList(sent), sigList(got), sigList(want))
			}
			r.stop(t, 0)
			p.wantExit(0)
		})
	}
}

// TestNoSpuriousSignals keeps reaper-init busy with thousands of SIGCHLDs
// on a loaded machine while a recorder in the child's process group
// listens: nobody sends a signal, so none may arrive. A Go init that
// forwards its runtime's preemption SIGURGs fails here. A SIGURG sent at
// the end must then arrive exactly once.
//
// The test loads both CPUs, so it does not run in parallel with others.
func TestNoSpuriousSignals(t *testing.T) {
	const perStorm = 5000
	r := newRecorder(t)
	storm1, storm2 := newOrphans(t), newOrphans(t)
	spinStop := filepath.Join(t.TempDir(), "spin-stop")

	var group []string
	group = append(group, helper(t, "core-group")...)
	group = append(group, r.command(t)...)
	for _, s := range []orphans{storm1, storm2} {
		group = append(group, "+")
		group = append(group, s.command(t, "-n", fmt.Sprint(perStorm), "-after", r.log+".ready")...)
	}
	for i := 0; i < 2; i++ {
		group = append(group, "+")
		group = append(group, helper(t, "core-spin", spinStop)...)
	}
	p := startInit(t, cmdline(nil, group)...)
	r.waitReady(t)
	begin := time.Now()
	storm1.waitDone(t)
	storm2.waitDone(t)
	t.Logf("%d orphans made and reaped in %v", 2*perStorm, time.Since(begin))
	time.Sleep(quietPeriod)
	if got := r.signals(t); len(got) != 0 {
		t.Errorf("nobody sent a signal, yet the child received %s", sigList(got))
	}
	writeFile(t, spinStop, "stop\n")
	waitFor(t, zombieTimeout, "no zombies after the orphan storm", func() bool {
		return testenv.Zombies(p.pid) == 0
	})

	p.kill(syscall.SIGURG)
	r.waitSignal(t, syscall.SIGURG, 1)
	time.Sleep(quietPeriod)
	if got, want := r.signals(t), []syscall.Signal{syscall.SIGURG}; !slices.Equal(got, want) {
		t.Errorf("after one SIGURG sent, the child received %s, want %s", sigList(got), sigList(want))
	}
	storm1.stop(t, 0)
	storm2.stop(t, 0)
	r.stop(t, 0)
	p.wantExit(0)
}
