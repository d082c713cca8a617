package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"
)

func TestSplitNames(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"tini-static, reaper-init", []string{"tini-static", "reaper-init"}},
		{"crowd,reaper-init (GODEBUG=gctrace=1,schedtrace=1000),idle", []string{"crowd", "reaper-init (GODEBUG=gctrace=1,schedtrace=1000)", "idle"}},
		{" ,reaper-init (--watch 1s),", []string{"reaper-init (--watch 1s)"}},
	} {
		if got := splitNames(c.in); !slices.Equal(got, c.want) {
			t.Errorf("splitNames(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestSummarize(t *testing.T) {
	d := summarize([]float64{5, 1, 4, 2, 3})
	if d.n != 5 || d.med != 3 || d.max != 5 || d.p10 != 1.4 {
		t.Errorf("summarize = %+v", d)
	}
	if d := summarize(nil); d.n != 0 || d.max == d.max {
		t.Errorf("summarize(nil) = %+v, want n 0 and NaN quantiles", d)
	}
}

// TestHoldsProc starts a process that holds /proc open and one that does
// not.
func TestHoldsProc(t *testing.T) {
	holder := exec.Command("sh", "-c", "exec 3</proc; exec sleep 5")
	other := exec.Command("sleep", "5")
	for _, c := range []*exec.Cmd{holder, other} {
		if err := c.Start(); err != nil {
			t.Skipf("cannot start %s: %v", c.Path, err)
		}
		defer func() { c.Process.Kill(); c.Wait() }()
	}
	deadline := time.Now().Add(5 * time.Second)
	for !holdsProc(holder.Process.Pid) {
		if time.Now().After(deadline) {
			t.Fatalf("holdsProc: a process with /proc open on descriptor 3 is not seen holding it")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if holdsProc(other.Process.Pid) {
		t.Errorf("holdsProc: sleep is seen holding /proc")
	}
}

func TestPIDRoom(t *testing.T) {
	if _, err := os.Stat("/proc/loadavg"); err != nil {
		t.Skip("no /proc/loadavg")
	}
	room, why := pidRoom()
	pm := pidMax()
	if room < 0 || room > max(pm-300-crowdReserve, 0) {
		t.Errorf("pidRoom() = %d, %q: want 0 to %d (pid_max %d, less the 300 skipped on wrap-around and the %d kept free)",
			room, why, max(pm-300-crowdReserve, 0), pm, crowdReserve)
	}
	// why names the bound that room is computed from: room is what that
	// bound leaves, less crowdReserve, and the bound is the tightest.
	threadsMax, threadsOK := readSysInt("/proc/sys/kernel/threads-max")
	var left int
	if m := regexp.MustCompile(`^kernel\.pid_max is (\d+) and (\d+) tasks run$`).FindStringSubmatch(why); m != nil {
		n, tasks := atoiOK(t, m[1]), atoiOK(t, m[2])
		if n != pm {
			t.Errorf("pidRoom() reason %q: pid_max is %d", why, pm)
		}
		left = n - 300 - tasks
		if threadsOK && threadsMax-tasks < left {
			t.Errorf("pidRoom() reason %q: kernel.threads-max %d leaves less (%d)", why, threadsMax, threadsMax-tasks)
		}
	} else if m := regexp.MustCompile(`^kernel\.threads-max is (\d+) and (\d+) tasks run$`).FindStringSubmatch(why); m != nil {
		n, tasks := atoiOK(t, m[1]), atoiOK(t, m[2])
		if !threadsOK || n != threadsMax {
			t.Errorf("pidRoom() reason %q: kernel.threads-max reads %d (ok %v)", why, threadsMax, threadsOK)
		}
		left = n - tasks
		if left >= pm-300-tasks {
			t.Errorf("pidRoom() reason %q: kernel.pid_max %d leaves as much (%d)", why, pm, pm-300-tasks)
		}
	} else if m := regexp.MustCompile(`^(/\S+)/pids\.max is (\d+) and (\d+) are in use$`).FindStringSubmatch(why); m != nil {
		n, cur := atoiOK(t, m[2]), atoiOK(t, m[3])
		if !slices.Contains(pidsCgroups(), m[1]) {
			t.Errorf("pidRoom() reason %q: %s is not among this program's pids cgroups %q", why, m[1], pidsCgroups())
		}
		if now, ok := readSysInt(filepath.Join(m[1], "pids.max")); !ok || now != n {
			t.Errorf("pidRoom() reason %q: %s/pids.max reads %d (ok %v)", why, m[1], now, ok)
		}
		left = n - cur
	} else {
		t.Fatalf("pidRoom() = %d, %q: the reason names none of pid_max, threads-max or a pids cgroup", room, why)
	}
	if want := max(left-crowdReserve, 0); room != want {
		t.Errorf("pidRoom() = %d, %q: want %d (%d left, less the %d kept free)", room, why, want, left, crowdReserve)
	}
	if runningTasks() < 1 {
		t.Errorf("runningTasks() = %d", runningTasks())
	}
}

func TestCountArgs(t *testing.T) {
	for _, c := range []struct {
		args []string
		n    int
		ok   bool
	}{
		{[]string{"5", "ready"}, 5, true},
		{[]string{"3", "ready"}, 3, true},
		{[]string{"2", "ready"}, 0, false},
		{[]string{"x", "ready"}, 0, false},
		{[]string{"5"}, 0, false},
		{[]string{"5", "ready", "extra"}, 0, false},
	} {
		if n, ok := countArgs(c.args, "check-zombies N READY", 3); n != c.n || ok != c.ok {
			t.Errorf("countArgs(%q) = %d, %v, want %d, %v", c.args, n, ok, c.n, c.ok)
		}
	}
}

// atoiOK is strconv.Atoi for a string a regexp matched as digits; it
// fails the test when the number does not fit an int.
func atoiOK(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return n
}
