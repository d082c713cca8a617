package procfs

import (
	"os"
	"os/exec"
	"slices"
	"testing"
)

// TestDescendants walks the fixture from self (pid 7): its children are
// spread over two threads' children files.
func TestDescendants(t *testing.T) {
	var got []int
	if err := Descendants(fixture, func(p *Proc) bool {
		got = append(got, p.PID)
		if *p != want[p.PID] {
			t.Errorf("Descendants: %+v, want %+v", *p, want[p.PID])
		}
		return true
	}); err != nil {
		t.Fatalf("Descendants: %v", err)
	}
	slices.Sort(got)
	if !slices.Equal(got, []int{9, 10}) {
		t.Errorf("Descendants of 7 = %v, want [9 10]", got)
	}
	n := 0
	_ = Descendants(fixture, func(*Proc) bool { n++; return false })
	if n != 1 {
		t.Errorf("Descendants went on after fn returned false: %d calls", n)
	}
}

func TestDescendantsLive(t *testing.T) {
	if _, err := os.Stat("/proc/self/task"); err != nil {
		t.Skipf("skipping: no /proc here: %v", err)
	}
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Skipf("skipping: cannot start sleep: %v", err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	found := false
	if err := Descendants("/proc", func(p *Proc) bool {
		found = found || (p.PID == cmd.Process.Pid && p.PPID == os.Getpid())
		return true
	}); err != nil {
		t.Fatalf("Descendants(/proc): %v", err)
	}
	if !found {
		t.Errorf("Descendants(/proc) did not find the child %d", cmd.Process.Pid)
	}
}

// TestWalkerClaim: a process claimed before its visit (its reaper got to
// it first) is not visited, and is claimed once.
func TestWalkerClaim(t *testing.T) {
	w := NewWalker()
	w.StartAt(fixture, 7)
	if w.Visited(9) {
		t.Fatal("Visited(9) before the walk visited anything")
	}
	if !w.Claim(9) {
		t.Fatal("Claim(9) = false before its visit")
	}
	if w.Claim(9) {
		t.Error("Claim(9) = true twice")
	}
	var got []int
	for !w.Step(1, func(p *Proc) bool { got = append(got, p.PID); return true }) {
	}
	if !slices.Equal(got, []int{10}) {
		t.Errorf("visited %v after 9 was claimed, want [10]", got)
	}
	if w.Claim(10) {
		t.Error("Claim(10) = true after its visit")
	}
}
