package watch

import (
	"errors"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/reaper-init/reaper-init/integration/internal/testenv"
)

// Generous bounds: the machine may have two cores shared with other
// suites.
const (
	interval     = 200 * time.Millisecond // the --watch interval of the tests
	slack        = 2 * time.Second        // added to every deadline counted in intervals
	readyTimeout = 90 * time.Second       // for a workload to set itself up
	exitTimeout  = 30 * time.Second
)

// lines is an io.Writer that keeps what it is given as lines, for a test
// to wait on while the command runs.
type lines struct {
	mu      sync.Mutex
	partial []byte
	all     []string
	changed chan struct{}
}

func newLines() *lines { return &lines{changed: make(chan struct{}, 1)} }

func (l *lines) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, b...)
	for {
		i := strings.IndexByte(string(l.partial), '\n')
		if i < 0 {
			break
		}
		l.all = append(l.all, string(l.partial[:i]))
		l.partial = l.partial[i+1:]
	}
	select {
	case l.changed <- struct{}{}:
	default:
	}
	return len(b), nil
}

// snapshot returns the complete lines so far.
func (l *lines) snapshot() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.all...)
}

func (l *lines) String() string { return strings.Join(l.snapshot(), "\n") }

// wait returns the index and text of the first line from index from on
// that match accepts, waiting up to timeout. ok is false on timeout.
func (l *lines) wait(from int, timeout time.Duration, match func(string) bool) (int, string, bool) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		all := l.snapshot()
		for i := from; i < len(all); i++ {
			if match(all[i]) {
				return i, all[i], true
			}
		}
		select {
		case <-l.changed:
		case <-deadline.C:
			return 0, "", false
		}
	}
}

// proc is a reaper-init started as PID 1 of a fresh PID namespace.
type proc struct {
	t      *testing.T
	cmd    *exec.Cmd
	pid    int // PID 1 of the namespace, as seen from the test
	stdout *lines
	stderr *lines
	done   chan struct{}
	err    error // cmd.Wait's, once done is closed
}

// startInit starts reaper-init with args as PID 1 of a fresh namespace.
func startInit(t *testing.T, args ...string) *proc {
	t.Helper()
	return start(t, testenv.InitCommand(t, args...))
}

// start starts cmd, an unshare command from testenv (possibly wrapped),
// and finds the namespace's PID 1.
func start(t *testing.T, cmd *exec.Cmd) *proc {
	t.Helper()
	p := &proc{t: t, cmd: cmd, stdout: newLines(), stderr: newLines(), done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", strings.Join(cmd.Args, " "), err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(p.cleanup)
	p.pid = testenv.InitPID(t, cmd)
	return p
}

// cleanup kills whatever is left: killing a namespace's PID 1 kills the
// namespace.
func (p *proc) cleanup() {
	select {
	case <-p.done:
		return
	default:
	}
	if p.pid > 0 {
		_ = syscall.Kill(p.pid, syscall.SIGKILL)
	}
	_ = p.cmd.Process.Kill()
	select {
	case <-p.done:
	case <-time.After(exitTimeout):
		p.t.Errorf("%s still running %v after SIGKILL", p.cmd.Args[0], exitTimeout)
	}
}

// exit waits for reaper-init to exit and returns its exit code, as
// unshare passes it on.
func (p *proc) exit() int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(exitTimeout):
		p.t.Fatalf("reaper-init did not exit within %v\nstderr:\n%s", exitTimeout, p.stderr)
	}
	var ee *exec.ExitError
	if p.err != nil && !errors.As(p.err, &ee) {
		p.t.Fatalf("wait: %v", p.err)
	}
	return testenv.ExitCode(p.t, p.err)
}

// ready waits for the workload's "ready pid=N ..." line on stdout and
// returns its fields.
func (p *proc) ready() map[string]string {
	p.t.Helper()
	_, line, ok := p.stdout.wait(0, readyTimeout, func(l string) bool { return strings.HasPrefix(l, "ready ") })
	if !ok {
		p.t.Fatalf("the workload did not get ready within %v\nstdout:\n%s\nstderr:\n%s", readyTimeout, p.stdout, p.stderr)
	}
	return fields(p.t, line)
}

// fields parses the key=value fields of a log line; quoted values are
// unquoted. Words without '=' are skipped.
func fields(t *testing.T, line string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for {
		line = strings.TrimLeft(line, " ")
		if line == "" {
			return m
		}
		eq := strings.IndexByte(line, '=')
		sp := strings.IndexByte(line, ' ')
		if eq < 0 {
			return m
		}
		if sp >= 0 && sp < eq {
			line = line[sp:]
			continue
		}
		key, rest := line[:eq], line[eq+1:]
		if strings.HasPrefix(rest, `"`) {
			q, err := strconv.QuotedPrefix(rest)
			if err != nil {
				t.Fatalf("bad quoted value in %q: %v", line, err)
			}
			m[key], _ = strconv.Unquote(q)
			line = rest[len(q):]
			continue
		}
		end := strings.IndexByte(rest, ' ')
		if end < 0 {
			end = len(rest)
		}
		m[key], line = rest[:end], rest[end:]
	}
}

// atoi parses a field the test needs as a number.
func atoi(t *testing.T, what, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("%s: %q is not a number", what, s)
	}
	return n
}

// hostPID finds, among the descendants of the namespace's PID 1, the
// living process named comm, and returns its PID as seen from the test.
func (p *proc) hostPID(comm string) int {
	p.t.Helper()
	for _, s := range testenv.Descendants(p.pid) {
		if s.Comm == comm && s.State != 'Z' {
			return s.PID
		}
	}
	p.t.Fatalf("no living process named %q below reaper-init (pid %d)", comm, p.pid)
	return 0
}
