package core

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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
	exitTimeout  = 30 * time.Second
	readyTimeout = 20 * time.Second
	// quietPeriod is how long a test waits to be reasonably sure that
	// a signal which should not arrive does not.
	quietPeriod = 500 * time.Millisecond
)

// syncBuffer is a bytes.Buffer safe for a command's output goroutine and
// the test reading it at the same time.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// proc is a started reaper-init (or, for control runs, another PID 1)
// with its output captured.
type proc struct {
	t      *testing.T
	cmd    *exec.Cmd
	pid    int // the init process as seen from the test
	pidfd  int // -1 when pidfd_open is unavailable
	stdout *syncBuffer
	stderr *syncBuffer
	waited bool
}

// Linux system call numbers, the same on every architecture.
const (
	sysPidfdSendSignal = 424
	sysPidfdOpen       = 434
)

// startNS starts args as PID 1 of a fresh PID namespace.
func startNS(t *testing.T, args ...string) *proc {
	t.Helper()
	return start(t, testenv.PID1Command(t, args...), true)
}

// startInit starts reaper-init with args as PID 1 of a fresh PID
// namespace.
func startInit(t *testing.T, args ...string) *proc {
	t.Helper()
	return start(t, testenv.InitCommand(t, args...), true)
}

// start runs cmd. With ns set, cmd is unshare and the process of interest
// is its child, PID 1 of the namespace.
func start(t *testing.T, cmd *exec.Cmd, ns bool) *proc {
	t.Helper()
	p := &proc{t: t, cmd: cmd, pidfd: -1, stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	if cmd.Stdout == nil {
		cmd.Stdout = p.stdout
	}
	if cmd.Stderr == nil {
		cmd.Stderr = p.stderr
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", strings.Join(cmd.Args, " "), err)
	}
	p.pid = cmd.Process.Pid
	if ns {
		p.pid = nsInitPID(t, cmd)
	}
	if p.pid > 0 {
		if fd, _, e := syscall.Syscall(sysPidfdOpen, uintptr(p.pid), 0, 0); e == 0 {
			p.pidfd = int(fd)
		}
	}
	t.Cleanup(p.cleanup)
	return p
}

// nsInitPID is testenv.InitPID for commands that may end at once (usage
// errors, --help): it returns 0 when unshare has exited without a PID 1
// left to see.
func nsInitPID(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	deadline := time.Now().Add(readyTimeout)
	for {
		if kids := testenv.Children(cmd.Process.Pid); len(kids) > 0 {
			return kids[0]
		}
		if s, err := testenv.ReadStat(cmd.Process.Pid); err != nil || s.State == 'Z' {
			return 0
		}
		if time.Now().After(deadline) {
			t.Fatalf("unshare (pid %d) started no PID 1 within %v", cmd.Process.Pid, readyTimeout)
		}
		time.Sleep(time.Millisecond)
	}
}

// cleanup kills whatever is left: killing a namespace's PID 1 kills the
// namespace. The pidfd makes sure no recycled pid is hit.
func (p *proc) cleanup() {
	if !p.waited {
		p.kill(syscall.SIGKILL)
		_ = p.cmd.Process.Kill()
		done := make(chan struct{})
		go func() { _ = p.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(exitTimeout):
			p.t.Errorf("%s still running after SIGKILL", p.cmd.Args[0])
		}
	}
	if p.pidfd >= 0 {
		syscall.Close(p.pidfd)
	}
}

// kill sends sig to the init process.
func (p *proc) kill(sig syscall.Signal) {
	p.t.Helper()
	if p.pid <= 0 {
		if sig != syscall.SIGKILL {
			p.t.Fatalf("cannot send %v: reaper-init exited at once\nstdout:\n%s\nstderr:\n%s", sig, p.stdout, p.stderr)
		}
		return
	}
	var err error
	if p.pidfd >= 0 {
		if _, _, e := syscall.Syscall6(sysPidfdSendSignal, uintptr(p.pidfd), uintptr(sig), 0, 0, 0, 0); e != 0 {
			err = e
		}
	} else {
		err = syscall.Kill(p.pid, sig)
	}
	if err != nil && !p.waited && sig != syscall.SIGKILL {
		p.t.Fatalf("send %v to reaper-init (pid %d): %v", sig, p.pid, err)
	}
}

// alive reports whether the init process exists and is not a zombie.
func (p *proc) alive() bool {
	s, err := testenv.ReadStat(p.pid)
	return err == nil && s.State != 'Z' && s.State != 'X'
}

// status is how a process ended.
type status struct {
	code   int            // exit code, when sig == 0
	sig    syscall.Signal // the signal that killed it, or 0
	output string         // stdout and stderr, for messages
}

func (s status) String() string {
	if s.sig != 0 {
		return fmt.Sprintf("killed by %v", s.sig)
	}
	return fmt.Sprintf("exit code %d", s.code)
}

// wait waits for the process and returns how it ended. unshare reports
// its PID 1's end as its own: the same code, or death by the same
// signal. It also fails the test when the output holds a Go panic or a
// stack trace.
func (p *proc) wait() status {
	p.t.Helper()
	err := testenv.WaitTimeout(p.t, p.cmd, exitTimeout)
	p.waited = true
	st := status{output: "stdout:\n" + p.stdout.String() + "stderr:\n" + p.stderr.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		ws := ee.Sys().(syscall.WaitStatus)
		if ws.Signaled() {
			st.sig = ws.Signal()
		} else {
			st.code = ws.ExitStatus()
		}
	default:
		p.t.Fatalf("wait for %s: %v", strings.Join(p.cmd.Args, " "), err)
	}
	checkNoTrace(p.t, p.stdout.String()+p.stderr.String())
	return st
}

// wantExit waits and fails the test unless the process exited normally
// with code.
func (p *proc) wantExit(code int) status {
	p.t.Helper()
	st := p.wait()
	if st.sig != 0 || st.code != code {
		p.t.Errorf("%s: %v, want exit code %d\n%s", strings.Join(p.cmd.Args, " "), st, code, st.output)
	}
	return st
}

// checkNoTrace fails the test when out holds a Go panic or goroutine
// dump: reaper-init must never crash with a stack trace.
func checkNoTrace(t *testing.T, out string) {
	t.Helper()
	for _, bad := range []string{"goroutine ", "panic:"} {
		if strings.Contains(out, bad) {
			t.Errorf("output contains %q:\n%s", bad, out)
		}
	}
}

// writeFile writes data to path through a rename, so the helper polling
// for it never sees it half written.
func writeFile(t *testing.T, path, data string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond until it holds, failing the test with what after d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// helper returns the helper program followed by args, ready to be a
// command line.
func helper(t *testing.T, args ...string) []string {
	t.Helper()
	return append([]string{testenv.Helper(t)}, args...)
}

// cmdline joins reaper-init's options, "--" and a command.
func cmdline(opts []string, command []string) []string {
	return append(append(append([]string{}, opts...), "--"), command...)
}

// recorder drives the helper's core-sigrecord.
type recorder struct {
	log string
}

func newRecorder(t *testing.T) recorder {
	return recorder{log: filepath.Join(t.TempDir(), "signals")}
}

// command is the recorder's command line, starting child (if any) as its
// own child in the same process group.
func (r recorder) command(t *testing.T, child ...string) []string {
	return helper(t, append([]string{"core-sigrecord", r.log}, child...)...)
}

// readyInfo is what the recorder reports once it listens, as seen in its
// PID namespace.
type readyInfo struct {
	pid, pgid, ppgid int
}

func (r recorder) waitReady(t *testing.T) readyInfo {
	t.Helper()
	b := testenv.WaitFile(t, r.log+".ready", readyTimeout)
	var ri readyInfo
	if _, err := fmt.Sscanf(string(b), "pid=%d pgid=%d ppgid=%d", &ri.pid, &ri.pgid, &ri.ppgid); err != nil {
		t.Fatalf("recorder ready file %q: %v", b, err)
	}
	return ri
}

// signals returns the signals received so far, in order.
func (r recorder) signals(t *testing.T) []syscall.Signal {
	t.Helper()
	b, err := os.ReadFile(r.log)
	if err != nil {
		t.Fatalf("read recorder log: %v", err)
	}
	var sigs []syscall.Signal
	for _, f := range strings.Fields(string(b)) {
		n, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("recorder log %q: %v", b, err)
		}
		sigs = append(sigs, syscall.Signal(n))
	}
	return sigs
}

// count returns how many times sig was received.
func (r recorder) count(t *testing.T, sig syscall.Signal) int {
	t.Helper()
	n := 0
	for _, s := range r.signals(t) {
		if s == sig {
			n++
		}
	}
	return n
}

// waitSignal waits until sig has been received n times in all.
func (r recorder) waitSignal(t *testing.T, sig syscall.Signal, n int) {
	t.Helper()
	deadline := time.Now().Add(readyTimeout)
	for r.count(t, sig) < n {
		if time.Now().After(deadline) {
			t.Fatalf("child did not receive %s (signal %d) within %v; received %s",
				sigName(sig), int(sig), readyTimeout, sigList(r.signals(t)))
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// stop makes the recorder (and the recorder it started, if any, given
// its own stop) exit with code.
func (r recorder) stop(t *testing.T, code int) {
	t.Helper()
	writeFile(t, r.log+".stop", strconv.Itoa(code))
}

// sigName names a signal the way the README does.
func sigName(s syscall.Signal) string {
	if s >= 32 && s <= 64 {
		return fmt.Sprintf("RT%d", int(s))
	}
	name := strings.ToUpper(s.String())
	switch s {
	case syscall.SIGHUP:
		name = "HUP"
	case syscall.SIGINT:
		name = "INT"
	case syscall.SIGQUIT:
		name = "QUIT"
	case syscall.SIGILL:
		name = "ILL"
	case syscall.SIGTRAP:
		name = "TRAP"
	case syscall.SIGABRT:
		name = "ABRT"
	case syscall.SIGBUS:
		name = "BUS"
	case syscall.SIGFPE:
		name = "FPE"
	case syscall.SIGUSR1:
		name = "USR1"
	case syscall.SIGSEGV:
		name = "SEGV"
	case syscall.SIGUSR2:
		name = "USR2"
	case syscall.SIGPIPE:
		name = "PIPE"
	case syscall.SIGALRM:
		name = "ALRM"
	case syscall.SIGTERM:
		name = "TERM"
	case syscall.SIGSTKFLT:
		name = "STKFLT"
	case syscall.SIGCHLD:
		name = "CHLD"
	case syscall.SIGCONT:
		name = "CONT"
	case syscall.SIGTSTP:
		name = "TSTP"
	case syscall.SIGTTIN:
		name = "TTIN"
	case syscall.SIGTTOU:
		name = "TTOU"
	case syscall.SIGURG:
		name = "URG"
	case syscall.SIGXCPU:
		name = "XCPU"
	case syscall.SIGXFSZ:
		name = "XFSZ"
	case syscall.SIGVTALRM:
		name = "VTALRM"
	case syscall.SIGPROF:
		name = "PROF"
	case syscall.SIGWINCH:
		name = "WINCH"
	case syscall.SIGIO:
		name = "IO"
	case syscall.SIGPWR:
		name = "PWR"
	case syscall.SIGSYS:
		name = "SYS"
	}
	return name
}

func sigList(sigs []syscall.Signal) string {
	if len(sigs) == 0 {
		return "nothing"
	}
	names := make([]string, len(sigs))
	for i, s := range sigs {
		names[i] = sigName(s)
	}
	return "[" + strings.Join(names, " ") + "]"
}

// orphans drives the helper's core-orphans through its marker directory.
type orphans struct {
	dir string
}

func newOrphans(t *testing.T) orphans {
	return orphans{dir: t.TempDir()}
}

// command is the core-orphans command line with flags.
func (o orphans) command(t *testing.T, flags ...string) []string {
	return helper(t, append(append([]string{"core-orphans"}, flags...), o.dir)...)
}

func (o orphans) path(name string) string { return filepath.Join(o.dir, name) }

// waitOrphaned waits until every orphan has been made.
func (o orphans) waitOrphaned(t *testing.T) {
	t.Helper()
	testenv.WaitFile(t, o.path("orphaned"), exitTimeout)
}

// waitDone waits until every orphan has exited.
func (o orphans) waitDone(t *testing.T) {
	t.Helper()
	testenv.WaitFile(t, o.path("done"), exitTimeout)
}

func (o orphans) release(t *testing.T) { writeFile(t, o.path("release"), "release\n") }

func (o orphans) stop(t *testing.T, code int) {
	writeFile(t, o.path("stop"), strconv.Itoa(code))
}

// childrenOf returns the children of pid with their state.
func childrenOf(pid int) []testenv.Stat {
	var out []testenv.Stat
	for _, c := range testenv.Children(pid) {
		if s, err := testenv.ReadStat(c); err == nil {
			out = append(out, s)
		}
	}
	return out
}

// zombieChildren counts the zombies among pid's children.
func zombieChildren(pid int) int {
	n := 0
	for _, s := range childrenOf(pid) {
		if s.State == 'Z' {
			n++
		}
	}
	return n
}
