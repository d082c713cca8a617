package core

import (
	"bufio"
	"fmt"
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

// Pause mode (-P, --pause) is the role of Kubernetes' pause and of
// podman's infra container: no command, PID 1 of a PID namespace that
// other containers join. Here the namespace is an unshare'd one and the
// "containers" are processes that join it with nsenter, as runc does for
// a container started with a shared PID namespace: their orphans are
// re-parented to the namespace's PID 1.

// joined is a process started inside another PID namespace.
type joined struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error // cmd.Wait's, once done is closed
}

// wait waits for the joined process, failing the test after d.
func (j *joined) wait(t *testing.T, d time.Duration) error {
	t.Helper()
	select {
	case <-j.done:
		return j.err
	case <-time.After(d):
		t.Fatalf("the joined process %v did not exit within %v", j.cmd.Args, d)
		return nil
	}
}

// join starts args inside the PID and mount namespaces of p's PID 1
// with nsenter. The process is killed, if still there, when the test
// ends.
func join(t *testing.T, p *proc, args ...string) *joined {
	t.Helper()
	if _, err := exec.LookPath("nsenter"); err != nil {
		t.Skip("skipping: no nsenter in PATH (util-linux) to join the PID namespace")
	}
	if p.pid <= 0 {
		t.Fatalf("reaper-init exited at once\nstdout:\n%s\nstderr:\n%s", p.stdout, p.stderr)
	}
	cmd := exec.Command("nsenter", append([]string{"-t", strconv.Itoa(p.pid), "-p", "-m", "--"}, args...)...)
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("nsenter: %v", err)
	}
	j := &joined{cmd: cmd, done: make(chan struct{})}
	go func() { j.err = cmd.Wait(); close(j.done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		select {
		case <-j.done:
		case <-time.After(exitTimeout):
			t.Errorf("nsenter %v still running after SIGKILL", args)
		}
		if t.Failed() {
			t.Logf("output of the joined %v:\n%s", args, out.String())
		}
	})
	return j
}

// sigMask returns the named mask (SigCgt, SigBlk, ...) of process pid.
func sigMask(pid int, name string) (uint64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+":"); ok {
			return strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", name, pid)
}

// waitHandles waits until p's PID 1 runs the binary under test and
// catches or blocks (for a signalfd or sigwait loop) each of sigs. The
// kernel drops a signal sent to a PID 1 that does neither, so sending one
// earlier would test nothing; and before its exec the process is still
// unshare's, with unshare's signal masks.
func waitHandles(t *testing.T, p *proc, sigs ...syscall.Signal) {
	t.Helper()
	exited := func() {
		t.Helper()
		st := p.wait()
		t.Fatalf("reaper-init -P exited: %v\n%s", st, st.output)
	}
	if p.pid <= 0 {
		exited()
	}
	var want uint64
	for _, s := range sigs {
		want |= sigBit(s)
	}
	waitFor(t, readyTimeout, "reaper-init -P to handle "+sigList(sigs), func() bool {
		if !p.alive() {
			exited()
		}
		if !testenv.RunsInit(t, p.pid) {
			return false
		}
		cgt, err1 := sigMask(p.pid, "SigCgt")
		blk, err2 := sigMask(p.pid, "SigBlk")
		return err1 == nil && err2 == nil && (cgt|blk)&want == want && loopRunning(t, p.pid)
	})
}

// loopRunning reports whether pid looks like an init that has reached its
// main loop, if it is reaper-init: its timerfd exists. (The Go runtime's
// own handlers are in place, and show in SigCgt, a few hundred
// microseconds before reaper-init's; a signal in between ends it, as
// docs/startup-signals.md says.) Another init has none, and is taken as
// ready on its masks alone.
func loopRunning(t *testing.T, pid int) bool {
	if !testenv.RunsInit(t, pid) {
		return true
	}
	fds, _ := filepath.Glob(fmt.Sprintf("/proc/%d/fd/*", pid))
	for _, fd := range fds {
		if link, _ := os.Readlink(fd); link == "anon_inode:[timerfd]" {
			return true
		}
	}
	return false
}

// TestPauseModeReapsOrphansOfJoinedProcesses: a process that joined the
// namespace makes 50 orphans; every one is re-parented to reaper-init -P
// (PID 1 has no child of its own), and reaped once they exit together.
func TestPauseModeReapsOrphansOfJoinedProcesses(t *testing.T) {
	t.Parallel()
	const n = 50
	for _, flag := range []string{"-P", "--pause"} {
		t.Run(flag, func(t *testing.T) {
			t.Parallel()
			p := startInit(t, flag)
			waitHandles(t, p, syscall.SIGTERM, syscall.SIGCHLD)
			o := newOrphans(t)
			j := join(t, p, o.command(t, "-n", strconv.Itoa(n), "-hold")...)
			o.waitOrphaned(t)
			if kids := childrenOf(p.pid); len(kids) != n {
				t.Fatalf("reaper-init -P has %d children, want the %d orphans of the joined process", len(kids), n)
			}
			o.release(t)
			o.waitDone(t)
			waitFor(t, zombieTimeout, "reaper-init -P to reap the joined process's orphans", func() bool {
				return len(childrenOf(p.pid)) == 0
			})
			o.stop(t, 0)
			if err := j.wait(t, exitTimeout); err != nil {
				t.Errorf("the joined process: %v", err)
			}
			if !p.alive() {
				t.Fatalf("reaper-init -P exited when the joined process did\n%s", p.stderr)
			}
			p.kill(syscall.SIGTERM)
			p.wantExit(0)
		})
	}
}

// TestPauseModeExitsZeroOnTermAndInt: SIGTERM and SIGINT end the pause
// with exit code 0, as Kubernetes' pause and catatonit -P do.
func TestPauseModeExitsZeroOnTermAndInt(t *testing.T) {
	t.Parallel()
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sigName(sig), func(t *testing.T) {
			t.Parallel()
			p := startInit(t, "-P")
			waitHandles(t, p, sig)
			p.kill(sig)
			p.wantExit(0)
		})
	}
}

// TestPauseModeIgnoresOtherSignals sends the pause every other signal a
// user or a runtime is likely to send: it keeps running, and a later
// SIGTERM still ends it with 0.
func TestPauseModeIgnoresOtherSignals(t *testing.T) {
	t.Parallel()
	p := startInit(t, "-P")
	waitHandles(t, p, syscall.SIGTERM)
	others := []syscall.Signal{syscall.SIGUSR1, syscall.SIGHUP, syscall.SIGUSR2, syscall.SIGQUIT,
		syscall.SIGALRM, syscall.SIGWINCH, syscall.SIGPIPE, syscall.SIGCONT, syscall.SIGTSTP, syscall.SIGURG}
	for _, sig := range others {
		p.kill(sig)
	}
	time.Sleep(2 * quietPeriod)
	if !p.alive() {
		st := p.wait()
		t.Fatalf("reaper-init -P ended on %s: %v, want it to ignore them\n%s", sigList(others), st, st.output)
	}
	p.kill(syscall.SIGTERM)
	p.wantExit(0)
}

// TestPauseModeGraceDrainsJoinedProcessThenExitsZero: with --grace 1s a
// SIGTERM first drains the namespace: SIGTERM to every process in it,
// the grace period, SIGKILL to what is left; then the pause exits 0. A
// joined process that ignores SIGTERM gets it, and the pause ends about a
// second later.
func TestPauseModeGraceDrainsJoinedProcessThenExitsZero(t *testing.T) {
	t.Parallel()
	p := startInit(t, "-P", "--grace", "1s")
	waitHandles(t, p, syscall.SIGTERM)
	dir := t.TempDir()
	ready, record := filepath.Join(dir, "ready"), filepath.Join(dir, "record")
	join(t, p, helper(t, "grace-trap", "-ignore", "-record", record, ready)...)
	waitFor(t, readyTimeout, "the joined process to be ready", func() bool {
		if !p.alive() {
			st := p.wait()
			t.Fatalf("reaper-init -P --grace 1s exited: %v\n%s", st, st.output)
		}
		b, err := os.ReadFile(ready)
		return err == nil && len(b) > 0
	})
	start := time.Now()
	p.kill(syscall.SIGTERM)
	p.wantExit(0)
	took := time.Since(start)
	b, _ := os.ReadFile(record)
	t.Logf("reaper-init -P --grace 1s exited %v after SIGTERM; the joined process recorded %q", took.Round(time.Millisecond), b)
	if !strings.Contains(string(b), " TERM\n") {
		t.Errorf("the joined process did not get SIGTERM from the drain (recorded %q)", b)
	}
	if took < 900*time.Millisecond || took >= 3*time.Second {
		t.Errorf("reaper-init -P --grace 1s exited %v after SIGTERM, want about 1s (the grace period, then SIGKILL)", took)
	}
}

// ctxSwitches sums the voluntary and involuntary context switches of
// every thread of pid.
func ctxSwitches(t *testing.T, pid int) uint64 {
	t.Helper()
	files, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", pid))
	if err != nil || len(files) == 0 {
		t.Fatalf("no threads of pid %d in /proc", pid)
	}
	var sum uint64
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // a thread that just ended
		}
		for _, line := range strings.Split(string(b), "\n") {
			k, v, ok := strings.Cut(line, ":")
			if ok && (k == "voluntary_ctxt_switches" || k == "nonvoluntary_ctxt_switches") {
				n, _ := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
				sum += n
			}
		}
	}
	return sum
}

// TestPauseModeIdleHasNoContextSwitches: with the default options (the
// watch is off in pause mode) an idle pause never wakes up: no thread of
// it is switched in over 5 s.
func TestPauseModeIdleHasNoContextSwitches(t *testing.T) {
	t.Parallel()
	p := startInit(t, "-P")
	waitHandles(t, p, syscall.SIGTERM)
	time.Sleep(2 * time.Second) // start-up is over
	before := ctxSwitches(t, p.pid)
	time.Sleep(5 * time.Second)
	after := ctxSwitches(t, p.pid)
	if after != before {
		t.Errorf("idle reaper-init -P was switched in %d times in 5s, want never", after-before)
	}
	p.kill(syscall.SIGTERM)
	p.wantExit(0)
}
