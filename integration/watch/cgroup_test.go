package watch

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reaper-init/reaper-init/integration/internal/testenv"
)

const cgroupMount = "/sys/fs/cgroup"

// pidsCgroup makes a child cgroup of the pids controller with the given
// pids.max and returns its directory, removed at the end of the test
// (after the processes in it are gone). It skips the test when no pids
// hierarchy is writable here.
func pidsCgroup(t *testing.T, max int) string {
	t.Helper()
	name := "reaper-init-watch-" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	var dir string
	var errs []string
	// cgroup v1: a hierarchy of the pids controller.
	if _, err := os.Stat(filepath.Join(cgroupMount, "pids", "cgroup.procs")); err == nil {
		d := filepath.Join(cgroupMount, "pids", name)
		if err := os.Mkdir(d, 0o755); err == nil {
			dir = d
		} else {
			errs = append(errs, "v1: "+err.Error())
		}
	} else {
		errs = append(errs, "v1: no pids hierarchy at "+filepath.Join(cgroupMount, "pids"))
	}
	// cgroup v2: the unified hierarchy, with pids enabled for children.
	if dir == "" {
		if err := enableV2Pids(); err != nil {
			errs = append(errs, "v2: "+err.Error())
		} else {
			d := filepath.Join(cgroupMount, name)
			if err := os.Mkdir(d, 0o755); err == nil {
				dir = d
			} else {
				errs = append(errs, "v2: "+err.Error())
			}
		}
	}
	if dir == "" {
		t.Skipf("skipping: no writable pids cgroup (%s)", strings.Join(errs, "; "))
	}
	t.Cleanup(func() { removeCgroup(t, dir) })
	if err := os.WriteFile(filepath.Join(dir, "pids.max"), []byte(strconv.Itoa(max)), 0o644); err != nil {
		t.Skipf("skipping: cannot set pids.max in %s: %v", dir, err)
	}
	return dir
}

// enableV2Pids makes sure the cgroup v2 root lets its children use the
// pids controller.
func enableV2Pids() error {
	controllers, err := os.ReadFile(filepath.Join(cgroupMount, "cgroup.controllers"))
	if err != nil {
		return errors.New("no cgroup v2 hierarchy at " + cgroupMount)
	}
	if !strings.Contains(" "+strings.TrimSpace(string(controllers))+" ", " pids ") {
		return errors.New("the pids controller is not available in " + cgroupMount)
	}
	subtree := filepath.Join(cgroupMount, "cgroup.subtree_control")
	if b, err := os.ReadFile(subtree); err == nil && strings.Contains(" "+strings.TrimSpace(string(b))+" ", " pids ") {
		return nil
	}
	return os.WriteFile(subtree, []byte("+pids"), 0o644)
}

// removeCgroup removes dir once the processes that were in it are gone.
func removeCgroup(t *testing.T, dir string) {
	deadline := time.Now().Add(exitTimeout)
	for {
		err := os.Remove(dir)
		if err == nil || errors.Is(err, os.ErrNotExist) {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("remove cgroup %s: %v", dir, err)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// inCgroup wraps an unshare command from testenv so that it starts in the
// cgroup dir: a shell writes its own PID to cgroup.procs and execs it.
func inCgroup(dir string, cmd *exec.Cmd) *exec.Cmd {
	args := append([]string{"-c", `echo $$ > "$0" && exec "$@"`, filepath.Join(dir, "cgroup.procs"), cmd.Path}, cmd.Args[1:]...)
	wrapped := exec.Command("/bin/sh", args...)
	wrapped.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return wrapped
}

// TestPIDPressureCgroup: with the namespace in a cgroup limited to 100
// PIDs, a workload that holds 90 makes the PID-pressure warning fire,
// naming the cgroup limit, its use, and the workload as top holder.
func TestPIDPressureCgroup(t *testing.T) {
	const max, target = 100, 90
	testenv.RequirePIDNamespace(t)
	dir := pidsCgroup(t, max)
	p := start(t, inCgroup(dir, testenv.InitCommand(t, "--watch", interval.String(), "--",
		testenv.Helper(t), "watch_hold", filepath.Join(dir, "pids.current"), strconv.Itoa(target))))
	ready := p.ready()
	pid := ready["pid"]
	held := atoi(t, "ready held", ready["held"])

	deadline := 2*interval + slack
	_, line, ok := p.stderr.wait(0, deadline, func(l string) bool {
		return strings.HasPrefix(l, "[reaper-init] warning: PID use near its limit ")
	})
	if !ok {
		cur, _ := os.ReadFile(filepath.Join(dir, "pids.current"))
		t.Fatalf("no PID-pressure warning within %v of the workload holding %d processes (pids.current %s, pids.max %d)\nstderr:\n%s",
			deadline, held, strings.TrimSpace(string(cur)), max, p.stderr)
	}
	t.Logf("%s", line)
	f := fields(t, line)
	if f["limit"] != "cgroup" || f["max"] != strconv.Itoa(max) || f["path"] != filepath.Join(dir, "pids.max") {
		t.Errorf("warning %q: want limit=cgroup max=%d path=%s", line, max, filepath.Join(dir, "pids.max"))
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
	dir := pidsCgroup(t, max)
	p := start(t, inCgroup(dir, testenv.InitCommand(t, "--watch", interval.String(), "--",
		testenv.Helper(t), "watch_hold", filepath.Join(dir, "pids.current"), strconv.Itoa(target))))
	p.ready()
	time.Sleep(5 * interval)
	for _, l := range p.stderr.snapshot() {
		if strings.Contains(l, "PID use") {
			t.Errorf("warned at %d of %d PIDs: %q", target, max, l)
		}
	}
}
