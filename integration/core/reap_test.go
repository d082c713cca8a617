package core

import (
	"fmt"
	"testing"
	"time"

	"github.com/reaper-init/reaper-init/integration/internal/testenv"
)

// zombieTimeout bounds how long reaping may take once the orphans are
// gone.
const zombieTimeout = 10 * time.Second

// TestReapOrphans double-forks 500 orphans under reaper-init as PID 1
// and checks that none of them is left a zombie while reaper-init and its
// child keep running. The control run shows the same workload under a
// PID 1 that does not reap leaves all 500.
func TestReapOrphans(t *testing.T) {
	t.Parallel()
	const n = 500
	flags := []string{"-n", fmt.Sprint(n), "-linger", "10ms"}

	t.Run("reaper-init", func(t *testing.T) {
		t.Parallel()
		o := newOrphans(t)
		p := startInit(t, cmdline(nil, o.command(t, flags...))...)
		o.waitDone(t)
		deadline := time.Now().Add(zombieTimeout)
		for z := testenv.Zombies(p.pid); z != 0; z = testenv.Zombies(p.pid) {
			if time.Now().After(deadline) {
				t.Fatalf("%d zombies left %v after the workload's %d orphans exited", z, zombieTimeout, n)
			}
			time.Sleep(10 * time.Millisecond)
		}
		if !p.alive() {
			t.Fatalf("reaper-init is gone while its child still runs\n%s", p.stderr)
		}
		if kids := childrenOf(p.pid); len(kids) != 1 {
			t.Errorf("reaper-init has children %+v, want only the main child", kids)
		}
		o.stop(t, 0)
		p.wantExit(0)
	})

	t.Run("control", func(t *testing.T) {
		t.Parallel()
		o := newOrphans(t)
		p := startNS(t, o.command(t, flags...)...)
		o.waitDone(t)
		waitFor(t, zombieTimeout, fmt.Sprintf("%d zombies under a PID 1 that does not reap", n), func() bool {
			return testenv.Zombies(p.pid) == n
		})
		o.stop(t, 0)
		p.wantExit(0)
	})
}

// TestReapBurst holds 200 orphans, checks that they were all adopted by
// reaper-init, then lets them exit at the same moment: SIGCHLDs coalesce
// and reaper-init must still reap every one.
func TestReapBurst(t *testing.T) {
	t.Parallel()
	const n = 200
	o := newOrphans(t)
	p := startInit(t, o.command(t, "-n", fmt.Sprint(n), "-hold")...)
	o.waitOrphaned(t)
	// The main child and the n orphans.
	if kids := childrenOf(p.pid); len(kids) != n+1 {
		t.Fatalf("reaper-init has %d children, want %d (main child and %d adopted orphans)", len(kids), n+1, n)
	}
	o.release(t)
	o.waitDone(t)
	deadline := time.Now().Add(zombieTimeout)
	for z := testenv.Zombies(p.pid); z != 0; z = testenv.Zombies(p.pid) {
		if time.Now().After(deadline) {
			t.Fatalf("%d zombies left %v after %d orphans exited at once", z, zombieTimeout, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if kids := childrenOf(p.pid); len(kids) != 1 {
		t.Errorf("reaper-init has children %+v, want only the main child", kids)
	}
	o.stop(t, 0)
	p.wantExit(0)
}

// TestExitCodeWithBurst makes the main child exit with code 42 at the
// very moment 200 adopted orphans exit, twenty times: the main child's
// status must never be lost among the other SIGCHLDs.
func TestExitCodeWithBurst(t *testing.T) {
	t.Parallel()
	for i := 0; i < 20; i++ {
		o := newOrphans(t)
		p := startInit(t, o.command(t, "-n", "200", "-hold", "-exit", "42")...)
		st := p.wait()
		if st.sig != 0 || st.code != 42 {
			t.Fatalf("run %d: reaper-init %v, want exit code 42\n%s", i+1, st, st.output)
		}
	}
}
