package watch

import (
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reaper-init/reaper-init/integration/internal/testenv"
)

const (
	zombieComm  = "zombie (farm)" // watch_zombieparent's name: spaces and parentheses
	zombieCount = 300
)

// isZombieWarning reports whether line is a zombie warning about pid.
func isZombieWarning(t *testing.T, line string, pid int) bool {
	return strings.HasPrefix(line, "[reaper-init] warning: zombies piling up ") &&
		fields(t, line)["pid"] == strconv.Itoa(pid)
}

// TestZombieWarning: a parent that forks 300 children and never waits is
// named, with its command and count, within two watch intervals; the
// steady state is said once; the warning clears when the parent reaps.
func TestZombieWarning(t *testing.T) {
	p := startInit(t, "--watch", interval.String(), "--zombie-threshold", "100", "--",
		testenv.Helper(t), "watch_zombieparent", strconv.Itoa(zombieCount))
	pid := atoi(t, "ready pid", p.ready()["pid"])
	readyAt := time.Now()

	// Wait two intervals (and the slack) for the warning. A tick during
	// the forks may have warned with part of the count first; the warning
	// about all 300 is then said only if the count said differs by a
	// quarter or more (the rate limit). So the last warning by the
	// deadline must say 300, or a count within a quarter of it.
	deadline := 2*interval + slack
	settled := func(l string) bool {
		if !isZombieWarning(t, l, pid) {
			return false
		}
		c := atoi(t, "zombies", fields(t, l)["zombies"])
		return c == zombieCount || (c < zombieCount && 4*(zombieCount-c) < c)
	}
	if _, _, ok := p.stderr.wait(0, deadline, settled); !ok {
		t.Fatalf("no zombie warning naming pid %d with zombies=%d within %v of the parent being ready\nstderr:\n%s",
			pid, zombieCount, deadline, p.stderr)
	}
	t.Logf("warned within %v of ready", time.Since(readyAt).Round(time.Millisecond))
	i, line := -1, ""
	for k, l := range p.stderr.snapshot() {
		if isZombieWarning(t, l, pid) {
			i, line = k, l
		}
	}
	if !settled(line) {
		t.Fatalf("the last zombie warning %q does not say the count, %d", line, zombieCount)
	}
	f := fields(t, line)
	if f["comm"] != zombieComm || !strings.Contains(line, " comm="+strconv.Quote(zombieComm)+" ") {
		t.Errorf("warning %q: want comm=%s", line, strconv.Quote(zombieComm))
	}
	if f["threshold"] != "100" {
		t.Errorf("warning %q: want threshold=100", line)
	}
	if n := testenv.Zombies(p.pid); n != zombieCount {
		t.Errorf("/proc shows %d zombies below reaper-init, want %d", n, zombieCount)
	}

	// Nothing changes: nothing more is said for several intervals.
	time.Sleep(6 * interval)
	if _, again, ok := p.stderr.wait(i+1, 0, func(l string) bool { return isZombieWarning(t, l, pid) }); ok {
		t.Errorf("steady state said again: %q after %q", again, line)
	}

	// The parent reaps its zombies: the warning clears, once.
	if err := syscall.Kill(p.hostPID(zombieComm), syscall.SIGUSR1); err != nil {
		t.Fatalf("SIGUSR1 to the zombie parent: %v", err)
	}
	if _, _, ok := p.stdout.wait(0, readyTimeout, func(l string) bool { return l == "reaped "+strconv.Itoa(zombieCount) }); !ok {
		t.Fatalf("the zombie parent did not reap its %d zombies\nstdout:\n%s", zombieCount, p.stdout)
	}
	j, cleared, ok := p.stderr.wait(i+1, deadline, func(l string) bool {
		return strings.HasPrefix(l, "[reaper-init] zombies cleared ") && fields(t, l)["pid"] == strconv.Itoa(pid)
	})
	if !ok {
		t.Fatalf("no \"zombies cleared pid=%d\" line within %v of the reaping\nstderr:\n%s", pid, deadline, p.stderr)
	}
	// The count is the scan's: one that began while the parent was
	// still reaping (a scan takes many steps, long ones under an
	// emulator) can have seen a few zombies left. The state clears at
	// three quarters of the threshold.
	if f := fields(t, cleared); f["comm"] != zombieComm {
		t.Errorf("cleared line %q: want comm=%s", cleared, strconv.Quote(zombieComm))
	} else if n := atoi(t, "zombies", f["zombies"]); n < 0 || n > 75 {
		t.Errorf("cleared line %q: want zombies= at most 75, three quarters of the threshold", cleared)
	}
	if n := testenv.Zombies(p.pid); n != 0 {
		t.Errorf("/proc shows %d zombies below reaper-init after the parent reaped, want 0", n)
	}
	time.Sleep(3 * interval)
	for _, l := range p.stderr.snapshot()[j+1:] {
		if strings.Contains(l, "zombies") {
			t.Errorf("after the cleared line: %q", l)
		}
	}
}

// TestZombieUnderThreshold: 300 zombies under a threshold of 400 are not
// warned about.
func TestZombieUnderThreshold(t *testing.T) {
	p := startInit(t, "--watch", interval.String(), "--zombie-threshold", "400", "--",
		testenv.Helper(t), "watch_zombieparent", strconv.Itoa(zombieCount))
	p.ready()
	time.Sleep(5 * interval)
	if n := testenv.Zombies(p.pid); n != zombieCount {
		t.Fatalf("/proc shows %d zombies below reaper-init, want %d", n, zombieCount)
	}
	for _, l := range p.stderr.snapshot() {
		if strings.Contains(l, "zombies") {
			t.Errorf("warned under the threshold: %q", l)
		}
	}
}

// TestZombieWatchOff: with --watch 0 nothing is scanned, so nothing is
// said however many zombies there are.
func TestZombieWatchOff(t *testing.T) {
	p := startInit(t, "--watch", "0", "--zombie-threshold", "10", "--",
		testenv.Helper(t), "watch_zombieparent", "50")
	p.ready()
	time.Sleep(5 * interval)
	for _, l := range p.stderr.snapshot() {
		if strings.Contains(l, "zombies") {
			t.Errorf("warned with the watch off: %q", l)
		}
	}
}

// TestZombieWatchEnv: REAPER_WATCH sets the interval.
func TestZombieWatchEnv(t *testing.T) {
	cmd := testenv.InitCommand(t, "--zombie-threshold", "10", "--", testenv.Helper(t), "watch_zombieparent", "50")
	cmd.Env = append(cmd.Environ(), "REAPER_WATCH="+interval.String())
	p := start(t, cmd)
	pid := atoi(t, "ready pid", p.ready()["pid"])
	deadline := 2*interval + slack
	if _, _, ok := p.stderr.wait(0, deadline, func(l string) bool { return isZombieWarning(t, l, pid) }); !ok {
		t.Fatalf("REAPER_WATCH=%v: no zombie warning naming pid %d within %v\nstderr:\n%s", interval, pid, deadline, p.stderr)
	}
}
