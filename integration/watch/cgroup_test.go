package watch

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reaper-init/reaper-init/integration/internal/testenv"
)

// TestPIDPressureCgroup: with the namespace in a cgroup limited to 100
// PIDs, a workload that holds 90 makes the PID-pressure warning fire,
// naming the cgroup limit, its use, and the workload as top holder.
func TestPIDPressureCgroup(t *testing.T) {
	const max, target = 100, 90
	testenv.RequirePIDNamespace(t)
	cg := testenv.NewPidsCgroup(t, max)
	cmd := testenv.InitCommand(t, "--watch", interval.String(), "--",
		testenv.Helper(t), "watch_hold", filepath.Join(cg.Dir, "pids.current"), strconv.Itoa(target))
	cg.Wrap(cmd)
	p := start(t, cmd)
	ready := p.ready()
	pid := ready["pid"]
	held := atoi(t, "ready held", ready["held"])

	deadline := 2*interval + slack
	_, line, ok := p.stderr.wait(0, deadline, func(l string) bool {
		return strings.HasPrefix(l, "[reaper-init] warning: PID use near its limit ")
	})
	if !ok {
		cur, _ := os.ReadFile(filepath.Join(cg.Dir, "pids.current"))
		t.Fatalf("no PID-pressure warning within %v of the workload holding %d processes (pids.current %s, pids.max %d)\nstderr:\n%s",
			deadline, held, strings.TrimSpace(string(cur)), max, p.stderr)
	}
	t.Logf("%s", line)
	f := fields(t, line)
	if f["limit"] != "cgroup" || f["max"] != strconv.Itoa(max) || f["path"] != filepath.Join(cg.Dir, "pids.max") {
		t.Errorf("warning %q: want limit=cgroup max=%d path=%s", line, max, filepath.Join(cg.Dir, "pids.max"))
	}
	if used := atoi(t, "used", f["used"]); used*100 <= max*80 || used > max {
		t.Errorf("warning %q: used=%d, want above 80%% of %d", line, used, max)
	}
	// The holder: the workload, holding its own threads and its children.
	top, _, _ := strings.Cut(f["holders"], ",")
	parts := strings.Split(top, ":")
	if len(parts) != 3 || parts[0] != pid || atoi(t, "holders", parts[2]) < held {
		t.Errorf("warning %q: want the workload (pid %s, %d children) first among the holders", line, pid, held)
	}
}

// TestPIDPressureQuiet: the same cgroup with room to spare gives no
// warning.
func TestPIDPressureQuiet(t *testing.T) {
	const max, target = 100, 40
	testenv.RequirePIDNamespace(t)
	cg := testenv.NewPidsCgroup(t, max)
	cmd := testenv.InitCommand(t, "--watch", interval.String(), "--",
		testenv.Helper(t), "watch_hold", filepath.Join(cg.Dir, "pids.current"), strconv.Itoa(target))
	cg.Wrap(cmd)
	p := start(t, cmd)
	p.ready()
	time.Sleep(5 * interval)
	for _, l := range p.stderr.snapshot() {
		if strings.Contains(l, "PID use") {
			t.Errorf("warned at %d of %d PIDs: %q", target, max, l)
		}
	}
}
