package testenv

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Engine is the command-line client of a container engine: the docker
// command of the machine's engine, the docker command bound to a Dockerd
// of the tests' own, or podman bound to a Podman configuration. They take
// the same commands and options for everything EngineContainer does.
type Engine interface {
	// Command returns an unstarted client command with args.
	Command(ctx context.Context, args ...string) *exec.Cmd
}

// engineOutput runs the client with args and returns its standard output,
// trimmed. The error carries the command line and standard error. ctx may
// be nil: the command then gets a default timeout.
func engineOutput(e Engine, ctx context.Context, args ...string) (string, error) {
	if ctx == nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.Background(), dockerTimeout)
		defer cancel()
	}
	var stdout, stderr bytes.Buffer
	cmd := e.Command(ctx, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return strings.TrimSpace(stdout.String()), fmt.Errorf("%s: %v: %s", strings.Join(cmd.Args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(stdout.String()), nil
}

// engineMust is engineOutput that fails the test on error.
func engineMust(t testing.TB, e Engine, args ...string) string {
	t.Helper()
	out, err := engineOutput(e, nil, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// EngineContainer is a container started by RunContainer (on the
// machine's engine), Dockerd.Run or Podman.Run.
type EngineContainer struct {
	// Name is the container's unique name.
	Name string
	e    Engine
	t    testing.TB
}

// engineRunArgs returns the arguments of run common to every test
// container: its name, the label, and no network.
func engineRunArgs(name string) []string {
	return []string{"run", "--name", name, "--label", DockerLabel, "--network", "none"}
}

// engineBuild builds the Dockerfile in the context directory dir, tagged
// tag, with --network none and the label DockerLabel. Errors carry the
// build's output.
func engineBuild(e Engine, dir, tag string) error {
	ctx, cancel := context.WithTimeout(context.Background(), dockerTimeout)
	defer cancel()
	cmd := e.Command(ctx, "build", "--network", "none", "--label", DockerLabel, "-q", "-t", tag, dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("docker build -t %s: %v\n%s", tag, err, out)
	}
	return nil
}

// engineRun starts a detached container from image running cmd, with the
// run options opts. It is named uniquely, labelled DockerLabel, has no
// network (--network none comes before opts) and is removed when the
// test ends.
func engineRun(t testing.TB, e Engine, opts []string, image string, cmd ...string) *EngineContainer {
	t.Helper()
	c := &EngineContainer{Name: UniqueName("ctr"), e: e, t: t}
	t.Cleanup(c.remove)
	args := append(engineRunArgs(c.Name), "-d")
	args = append(append(append(args, opts...), image), cmd...)
	engineMust(t, e, args...)
	return c
}

// engineRunWait runs a container to its end (run without -d, removed
// afterwards) and returns its exit code and output (standard output and
// standard error together). It fails the test when the client cannot run
// or the container outlives timeout.
func engineRunWait(t testing.TB, e Engine, timeout time.Duration, opts []string, image string, cmd ...string) (int, string) {
	t.Helper()
	name := UniqueName("ctr")
	t.Cleanup(func() { _, _ = engineOutput(e, nil, "rm", "-f", name) })
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	args := append(append(append(engineRunArgs(name), opts...), image), cmd...)
	out, err := e.Command(ctx, args...).CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("run %s did not end within %v; output:\n%s", strings.Join(cmd, " "), timeout, out)
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, string(out)
	case errors.As(err, &ee):
		return ee.ExitCode(), string(out)
	default:
		t.Fatalf("run %s: %v", strings.Join(cmd, " "), err)
		return 0, ""
	}
}

func (c *EngineContainer) remove() {
	_, _ = engineOutput(c.e, nil, "rm", "-f", c.Name)
}

// Inspect returns the container's inspect output for the Go template
// format, failing the test on error.
func (c *EngineContainer) Inspect(format string) string {
	c.t.Helper()
	return engineMust(c.t, c.e, "inspect", "--format", format, c.Name)
}

// PID returns the host PID of the container's PID 1, failing the test
// when the container is not running.
func (c *EngineContainer) PID() int {
	c.t.Helper()
	out := c.Inspect("{{.State.Pid}}")
	pid, err := strconv.Atoi(out)
	if err != nil || pid <= 0 {
		c.t.Fatalf("container %s is not running (State.Pid %q); logs:\n%s", c.Name, out, c.Logs())
	}
	return pid
}

// Logs returns the container's standard output and standard error.
func (c *EngineContainer) Logs() string {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), dockerTimeout)
	defer cancel()
	out, err := c.e.Command(ctx, "logs", c.Name).CombinedOutput()
	if err != nil {
		c.t.Fatalf("logs %s: %v\n%s", c.Name, err, out)
	}
	return string(out)
}

// WaitLog waits until the container's logs contain s and returns them,
// failing the test (with the logs) after d.
func (c *EngineContainer) WaitLog(s string, d time.Duration) string {
	c.t.Helper()
	deadline := time.Now().Add(d)
	for {
		logs := c.Logs()
		if strings.Contains(logs, s) {
			return logs
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("container %s: %q not in its logs after %v; logs:\n%s", c.Name, s, d, logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// WaitRunning waits until the container runs, failing the test (with the
// logs) as soon as it has exited, or after d.
func (c *EngineContainer) WaitRunning(d time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(d)
	for {
		switch status := c.Inspect("{{.State.Status}}"); status {
		case "running":
			return
		case "exited", "dead", "stopped":
			c.t.Fatalf("container %s has %s; logs:\n%s", c.Name, status, c.Logs())
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("container %s is not running after %v; logs:\n%s", c.Name, d, c.Logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Exec runs cmd in the container and returns its output and exit code,
// failing the test when the client itself fails.
func (c *EngineContainer) Exec(cmd ...string) (string, int) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), dockerTimeout)
	defer cancel()
	out, err := c.e.Command(ctx, append([]string{"exec", c.Name}, cmd...)...).CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &ee):
		return string(out), ee.ExitCode()
	default:
		c.t.Fatalf("exec %s %s: %v", c.Name, strings.Join(cmd, " "), err)
		return "", 0
	}
}

// Kill sends sig (a name such as USR1, or a number) to the container's
// PID 1.
func (c *EngineContainer) Kill(sig string) {
	c.t.Helper()
	engineMust(c.t, c.e, "kill", "--signal", sig, c.Name)
}

// Stop runs `stop -t timeout` and returns how long it took.
func (c *EngineContainer) Stop(timeout int) time.Duration {
	c.t.Helper()
	start := time.Now()
	engineMust(c.t, c.e, "stop", "-t", strconv.Itoa(timeout), c.Name)
	return time.Since(start)
}

// Wait waits for the container to exit and returns its exit code,
// failing the test (with the logs) after d.
func (c *EngineContainer) Wait(d time.Duration) int {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	out, err := engineOutput(c.e, ctx, "wait", c.Name)
	if err != nil {
		logs := c.Logs()
		_, _ = engineOutput(c.e, nil, "kill", c.Name)
		c.t.Fatalf("container %s did not exit within %v (%v); logs:\n%s", c.Name, d, err, logs)
	}
	code, err := strconv.Atoi(strings.TrimSpace(out))
	if err != nil {
		c.t.Fatalf("wait %s: unexpected output %q", c.Name, out)
	}
	return code
}

// Running reports whether the container is still running.
func (c *EngineContainer) Running() bool {
	c.t.Helper()
	return c.Inspect("{{.State.Running}}") == "true"
}

// engineLeftoverWait bounds the wait for an engine's processes to end
// once the engine was told to stop them.
const engineLeftoverWait = 10 * time.Second

// removeEngineDir is the end of an engine's Close: it waits up to
// engineLeftoverWait for the processes whose command line names dir
// (containerd, shims, conmon, containers) to end, kills those left,
// detaches the mounts left at or below dir, and removes dir unless a
// mount could not be undone. Each leftover is an error saying it was left
// after the step named by after ("dockerd stopped", "podman rm").
func removeEngineDir(dir, after string) []error {
	var errs []error
	var left []int
	for deadline := time.Now().Add(engineLeftoverWait); ; time.Sleep(50 * time.Millisecond) {
		left = processesNaming(dir)
		if len(left) == 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(left) > 0 {
		var desc []string
		for _, pid := range left {
			desc = append(desc, fmt.Sprintf("%d %s", pid, cmdline(pid)))
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		errs = append(errs, fmt.Errorf("processes left after %s: %s", after, strings.Join(desc, "; ")))
	}
	if mounts := mountsUnder(dir); len(mounts) > 0 {
		for _, m := range mounts {
			_ = syscall.Unmount(m, syscall.MNT_DETACH)
		}
		errs = append(errs, fmt.Errorf("mounts left after %s: %s", after, strings.Join(mounts, " ")))
	}
	if len(mountsUnder(dir)) == 0 {
		if err := os.RemoveAll(dir); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// processesNaming returns the processes whose command line contains s.
func processesNaming(s string) []int {
	self := os.Getpid()
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		if strings.Contains(cmdline(pid), s) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// cmdline returns /proc/PID/cmdline with spaces between the arguments.
func cmdline(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return strings.TrimSpace(string(bytes.ReplaceAll(b, []byte{0}, []byte{' '})))
}

// mountsUnder returns the mount points at or below dir, deepest first.
func mountsUnder(dir string) []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// ID PARENT MAJ:MIN ROOT MOUNTPOINT ...; octal escapes for spaces.
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMountinfo(fields[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			out = append(out, mp)
		}
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// unescapeMountinfo undoes the \ooo escapes of /proc/self/mountinfo.
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
