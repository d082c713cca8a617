package grace

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/reaper-init/reaper-init/integration/internal/testenv"
)

// mode is how reaper-init runs in a test.
type mode string

const (
	// asPID1 runs reaper-init as PID 1 of a fresh PID namespace.
	asPID1 mode = "pid1"
	// asSubreaper runs reaper-init -s as a direct child of the test.
	asSubreaper mode = "subreaper"
)

var modes = []mode{asPID1, asSubreaper}

// readyTimeout bounds the wait for a helper's ready file.
const readyTimeout = 20 * time.Second

// proc is one running reaper-init.
type proc struct {
	t      *testing.T
	mode   mode
	cmd    *exec.Cmd
	stderr *bytes.Buffer
	pid    int // reaper-init's pid as seen from the test

	mu     sync.Mutex
	done   bool
	doneCh chan struct{}
	err    error
	exited time.Time
}

// cleanEnv returns the test's environment without variables that
// reaper-init reads, so that the machine's settings cannot change a test.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "REAPER_") || strings.HasPrefix(kv, "TINI_") || strings.HasPrefix(kv, "GOTRACEBACK=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// start runs reaper-init with args in mode m, with env added to a clean
// environment. In subreaper mode -s is prepended to args.
func start(t *testing.T, m mode, env []string, args ...string) *proc {
	t.Helper()
	var cmd *exec.Cmd
	switch m {
	case asPID1:
		cmd = testenv.InitCommand(t, args...)
	case asSubreaper:
		testenv.SkipIfNoSubreaper(t)
		cmd = exec.Command(testenv.Init(t), append([]string{"-s"}, args...)...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	default:
		t.Fatalf("unknown mode %q", m)
	}
	p := &proc{t: t, mode: m, cmd: cmd, stderr: new(bytes.Buffer), doneCh: make(chan struct{})}
	cmd.Env = cleanEnv(env...)
	cmd.Stdout = p.stderr
	cmd.Stderr = p.stderr
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", strings.Join(cmd.Args, " "), err)
	}
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		p.err, p.exited, p.done = err, time.Now(), true
		p.mu.Unlock()
		close(p.doneCh)
	}()
	t.Cleanup(func() {
		if !p.finished() {
			if p.pid > 0 {
				_ = syscall.Kill(p.pid, syscall.SIGKILL)
			}
			_ = cmd.Process.Kill()
			<-p.doneCh
		}
		if t.Failed() {
			t.Logf("%s\noutput of reaper-init:\n%s", strings.Join(cmd.Args, " "), p.stderr.String())
		}
	})
	if m == asPID1 {
		p.pid = testenv.InitPID(t, cmd)
	} else {
		p.pid = cmd.Process.Pid
	}
	return p
}

// finished reports whether reaper-init has exited.
func (p *proc) finished() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.done
}

// signal sends sig to reaper-init and returns the time just before.
func (p *proc) signal(sig syscall.Signal) time.Time {
	p.t.Helper()
	now := time.Now()
	if err := syscall.Kill(p.pid, sig); err != nil {
		p.t.Fatalf("kill(%d, %v): %v", p.pid, sig, err)
	}
	return now
}

// wait waits for reaper-init to exit and returns its exit status and the
// time it was seen to exit. It fails the test when reaper-init is still
// running after limit, which callers choose far above any duration they
// expect, so that reaching it is a failure of the binary and not of a
// slow machine.
func (p *proc) wait(limit time.Duration) (int, time.Time) {
	p.t.Helper()
	select {
	case <-p.doneCh:
	case <-time.After(limit):
		p.t.Fatalf("%s did not exit within %v", strings.Join(p.cmd.Args, " "), limit)
	}
	return testenv.ExitCode(p.t, p.err), p.exited
}

// output returns what reaper-init and its child wrote; call it after wait.
func (p *proc) output() string {
	return p.stderr.String()
}

// link makes a symbolic link named name to the helper program in dir and
// returns its path. A process started through it has name as its command
// name (/proc/PID/comm), which lets the tests find it in log lines.
func link(t *testing.T, dir, name string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.Symlink(testenv.Helper(t), path); err != nil {
		t.Fatalf("symlink: %v", err)
	}
	return path
}

// readyPID waits for a helper's ready file and returns the pid it holds
// (as seen from reaper-init's PID namespace).
func readyPID(t *testing.T, path string) int {
	t.Helper()
	b := testenv.WaitFile(t, path, readyTimeout)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("ready file %s: %v", path, err)
	}
	return pid
}

// record is one signal noted by grace-trap -record.
type record struct {
	at  time.Time
	sig string
}

// readRecords parses a grace-trap -record file; a missing file is no
// records.
func readRecords(t *testing.T, path string) []record {
	t.Helper()
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	// grace-trap creates the file before it writes a line: only lines
	// already terminated by a newline count.
	var recs []record
	lines := strings.Split(string(b), "\n")
	for _, line := range lines[:len(lines)-1] {
		f := strings.Fields(line)
		if len(f) != 2 {
			t.Fatalf("malformed record %q in %s", line, path)
		}
		ns, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			t.Fatalf("malformed record %q in %s: %v", line, path, err)
		}
		recs = append(recs, record{at: time.Unix(0, ns), sig: f[1]})
	}
	return recs
}

// waitRecords waits until path holds at least n records and returns them.
func waitRecords(t *testing.T, path string, n int) []record {
	t.Helper()
	deadline := time.Now().Add(readyTimeout)
	for {
		if recs := readRecords(t, path); len(recs) >= n {
			return recs
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s holds fewer than %d records after %v", path, n, readyTimeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// readStamp reads the time written by grace-orphan -stamp.
func readStamp(t *testing.T, path string) time.Time {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read stamp: %v", err)
	}
	ns, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		t.Fatalf("stamp %s: %v", path, err)
	}
	return time.Unix(0, ns)
}

// logLines returns reaper-init's log lines (prefixed "[reaper-init] ")
// that contain word.
func logLines(out, word string) []string {
	var lines []string
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "[reaper-init] ") && strings.Contains(line, word) {
			lines = append(lines, line)
		}
	}
	return lines
}

// names reports whether line names the process pid with command name
// comm: the pid as a number of its own and the name as a substring.
func names(line string, pid int, comm string) bool {
	re := regexp.MustCompile(fmt.Sprintf(`(^|[^0-9A-Za-z.])%d([^0-9A-Za-z.]|$)`, pid))
	return re.MatchString(line) && strings.Contains(line, comm)
}

// anyNames reports whether one of lines names pid and comm.
func anyNames(lines []string, pid int, comm string) bool {
	for _, l := range lines {
		if names(l, pid, comm) {
			return true
		}
	}
	return false
}

// running reports whether pid is a living (not zombie) process whose
// command name is comm. It is only meaningful for processes in the
// test's own PID namespace.
func running(pid int, comm string) bool {
	s, err := testenv.ReadStat(pid)
	return err == nil && s.Comm == comm && s.State != 'Z'
}

// present reports whether pid exists, living or zombie, with command name
// comm.
func present(pid int, comm string) bool {
	s, err := testenv.ReadStat(pid)
	return err == nil && s.Comm == comm
}

// killOnCleanup makes sure that pid, a process of the test's PID
// namespace named comm, does not outlive the test.
func killOnCleanup(t *testing.T, pid int, comm string) {
	t.Cleanup(func() {
		if running(pid, comm) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
}

// between fails the test unless lo <= d <= hi.
func between(t *testing.T, what string, d, lo, hi time.Duration) {
	t.Helper()
	if testenv.Emulated(t) {
		// qemu-user translates the init's code as it first runs it and
		// slows every step after: on a loaded machine the init can act
		// seconds late. The lower bound, which the init's own timers
		// set, stays.
		hi *= 3
	}
	if d < lo || d > hi {
		t.Errorf("%s took %v, want between %v and %v", what, d.Round(time.Millisecond), lo, hi)
	}
}
