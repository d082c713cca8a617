package testenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// PidsCgroup is a cgroup with a pids limit, made for one test: every
// process and thread charged to it counts against pids.max, and fork or
// clone fails with EAGAIN once the limit is reached.
type PidsCgroup struct {
	Dir string // the cgroup's directory in the cgroup filesystem
}

// cgroupV1Pids and cgroupV2Root are where the pids controller lives on
// a cgroup v1 (or hybrid) and on a cgroup v2 machine.
const (
	cgroupV1Pids = "/sys/fs/cgroup/pids"
	cgroupV2Root = "/sys/fs/cgroup"
)

// NewPidsCgroup makes a cgroup whose pids.max is max, under the cgroup
// v1 pids hierarchy or, failing that, the cgroup v2 root (enabling the
// pids controller for its children). It skips the test when neither can
// be written. When the test ends, whatever is left in the cgroup is
// SIGKILLed and the cgroup removed.
func NewPidsCgroup(t testing.TB, max int) *PidsCgroup {
	t.Helper()
	name := UniqueName("pids")
	var errs []string
	for _, mk := range []func(string) (string, error){cgroupV1Make, cgroupV2Make} {
		dir, err := mk(name)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		c := &PidsCgroup{Dir: dir}
		t.Cleanup(func() {
			if err := c.remove(10 * time.Second); err != nil {
				t.Errorf("remove cgroup: %v", err)
			}
		})
		if err := os.WriteFile(filepath.Join(dir, "pids.max"), []byte(strconv.Itoa(max)), 0o644); err != nil {
			t.Fatalf("set pids.max: %v", err)
		}
		return c
	}
	t.Skipf("skipping: no writable pids cgroup (%s)", strings.Join(errs, "; "))
	return nil
}

// cgroupV1Make makes the cgroup name in the v1 pids hierarchy.
func cgroupV1Make(name string) (string, error) {
	if _, err := os.Stat(filepath.Join(cgroupV1Pids, "cgroup.procs")); err != nil {
		return "", fmt.Errorf("cgroup v1: no pids hierarchy at %s", cgroupV1Pids)
	}
	dir := filepath.Join(cgroupV1Pids, name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return "", fmt.Errorf("cgroup v1: %w", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "pids.max")); err != nil {
		os.Remove(dir)
		return "", fmt.Errorf("cgroup v1: %s has no pids.max", dir)
	}
	return dir, nil
}

// cgroupV2Make makes the cgroup name below the v2 root, with the pids
// controller enabled for the root's children. The root is the one cgroup
// where processes and enabled controllers may coexist.
func cgroupV2Make(name string) (string, error) {
	controllers, err := os.ReadFile(filepath.Join(cgroupV2Root, "cgroup.controllers"))
	if err != nil {
		return "", fmt.Errorf("cgroup v2: %s is not a cgroup2 root", cgroupV2Root)
	}
	if !strings.Contains(" "+strings.TrimSpace(string(controllers))+" ", " pids ") {
		return "", errors.New("cgroup v2: pids controller not available")
	}
	// Write subtree_control only when pids is not enabled there yet: a
	// root whose controllers were delegated may not let it be written.
	subtree := filepath.Join(cgroupV2Root, "cgroup.subtree_control")
	if b, err := os.ReadFile(subtree); err != nil || !strings.Contains(" "+strings.TrimSpace(string(b))+" ", " pids ") {
		if err := os.WriteFile(subtree, []byte("+pids"), 0o644); err != nil {
			return "", fmt.Errorf("cgroup v2: enable pids: %w", err)
		}
	}
	dir := filepath.Join(cgroupV2Root, name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return "", fmt.Errorf("cgroup v2: %w", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "pids.max")); err != nil {
		os.Remove(dir)
		return "", fmt.Errorf("cgroup v2: %s has no pids.max", dir)
	}
	return dir, nil
}

// Wrap rewrites cmd, not yet started, so that it first moves itself into
// the cgroup and then executes its program: the program and everything it
// starts are charged to the cgroup from their first instruction.
func (c *PidsCgroup) Wrap(cmd *exec.Cmd) {
	const script = `echo $$ > "$0" && exec "$@"`
	procs := filepath.Join(c.Dir, "cgroup.procs")
	cmd.Args = append([]string{"sh", "-c", script, procs, cmd.Path}, cmd.Args[1:]...)
	cmd.Path = "/bin/sh"
}

// Refused returns how many times the cgroup refused a fork or clone
// because pids.max was reached (the "max" count in pids.events).
func (c *PidsCgroup) Refused() (int, error) {
	b, err := os.ReadFile(filepath.Join(c.Dir, "pids.events"))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "max" {
			return strconv.Atoi(f[1])
		}
	}
	return 0, fmt.Errorf("no max count in %s/pids.events", c.Dir)
}

// Procs returns the PIDs of the processes in the cgroup.
func (c *PidsCgroup) Procs() ([]int, error) {
	b, err := os.ReadFile(filepath.Join(c.Dir, "cgroup.procs"))
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		if pid, err := strconv.Atoi(f); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// remove kills what is left in the cgroup and removes it, retrying until
// the killed processes are gone or d has passed.
func (c *PidsCgroup) remove(d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		pids, _ := c.Procs()
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		err := os.Remove(c.Dir)
		if err == nil || errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s still busy after %v: %w", c.Dir, d, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// PIDStorm is the report of the helper's container-pidstorm workload,
// which fills a pids limit with orphans and keeps hitting it.
type PIDStorm struct {
	Starts  int // spawners started
	Orphans int // orphans the spawners made
	EAGAIN  int // starts refused with EAGAIN
	Late    int // orphans made in the second half of the storm
	Zombies int // zombies left at the end
	Others  int // other living processes left at the end
}

// PIDStormArgs returns the helper command line of a storm of d against a
// pids limit, ending with exit code code: spawners of four orphans that
// live 100ms each. helper is the helper's path as the process running it
// sees it.
func PIDStormArgs(helper string, d time.Duration, code int) []string {
	return []string{helper, "container-pidstorm", "-for", d.String(), "-settle", "3s", "-exit", strconv.Itoa(code),
		"--", helper, "container-spawn", "4", "100ms"}
}

// ParsePIDStorm finds the workload's report line in out.
func ParsePIDStorm(out string) (PIDStorm, error) {
	var r PIDStorm
	i := strings.LastIndex(out, "pidstorm starts=")
	if i < 0 {
		return r, errors.New("no pidstorm report in the output")
	}
	line := out[i:]
	if j := strings.IndexByte(line, '\n'); j >= 0 {
		line = line[:j]
	}
	_, err := fmt.Sscanf(line, "pidstorm starts=%d orphans=%d eagain=%d late=%d zombies=%d others=%d",
		&r.Starts, &r.Orphans, &r.EAGAIN, &r.Late, &r.Zombies, &r.Others)
	if err != nil {
		return r, fmt.Errorf("parse %q: %w", line, err)
	}
	return r, nil
}
