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

// TestProcessCPU reads the CPU clock of a child that spins, and of one
// that sleeps.
func TestProcessCPU(t *testing.T) {
	spin := exec.Command("sh", "-c", "while :; do :; done")
	sleep := exec.Command("sleep", "5")
	for _, c := range []*exec.Cmd{spin, sleep} {
		if err := c.Start(); err != nil {
			t.Skipf("cannot start %s: %v", c.Path, err)
		}
		defer func() { c.Process.Kill(); c.Wait() }()
	}
	time.Sleep(300 * time.Millisecond)
	busy, err := processCPU(spin.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	idle, err := processCPU(sleep.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if busy < 50*time.Millisecond || idle > 20*time.Millisecond {
		t.Errorf("CPU time: spinning child %v (want ≥ 50ms), sleeping child %v (want ≤ 20ms)", busy, idle)
	}
	if _, err := processCPU(4<<20 + 1); err == nil { // above PID_MAX_LIMIT
		t.Errorf("processCPU of a PID that cannot exist: no error")
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
