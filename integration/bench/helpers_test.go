package main

import (
	"os"
	"os/exec"
	"slices"
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
	if room < 0 || room > pidMax() || why == "" {
		t.Errorf("pidRoom() = %d, %q; pid_max is %d", room, why, pidMax())
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
