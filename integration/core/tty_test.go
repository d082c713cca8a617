package core

import (
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/reaper-init/reaper-init/integration/internal/testenv"
)

var ttyReport = regexp.MustCompile(`tty pid=(\d+) pgid=(\d+) ppgid=(-?\d+) fg=(-?\d+)`)

// parseTTYReport returns pid, pgid, ppgid and fg from core-tty's report
// line, if out holds one.
func parseTTYReport(out string) (vals [4]int, ok bool) {
	m := ttyReport.FindStringSubmatch(out)
	if m == nil {
		return vals, false
	}
	for i := range vals {
		vals[i], _ = strconv.Atoi(m[i+1])
	}
	return vals, true
}

// TestTerminal runs reaper-init the way `docker run -t` does: PID 1 of a
// namespace, in a session whose controlling terminal is a pseudo-terminal
// on stdin, stdout and stderr. The child runs in a process group of its
// own, which must be the terminal's foreground group, so that it can read
// from the terminal without being stopped by SIGTTIN.
func TestTerminal(t *testing.T) {
	t.Parallel()
	checkTerminal(t, nil, "hello reaper")
}

// checkTerminal runs core-tty under reaper-init as PID 1 with the extra
// environment env, in a session whose controlling terminal is a
// pseudo-terminal on stdin, stdout and stderr. It fails the test unless
// the child is in a process group of its own, not reaper-init's, that is
// the terminal's foreground group; reads line, written to the terminal;
// and reaper-init exits 0 with nothing of a Go trace on the terminal.
func checkTerminal(t *testing.T, env []string, line string) {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("skipping: cannot open a pseudo-terminal: %v", err)
	}
	defer ptmx.Close()

	cmd := testenv.InitCommand(t, cmdline(nil, helper(t, "core-tty"))...)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0, Pdeathsig: syscall.SIGKILL}
	p := start(t, cmd, true)
	tty.Close()
	out := &syncBuffer{}
	go func() { _, _ = io.Copy(out, ptmx) }()

	var v [4]int
	waitFor(t, readyTimeout, "the child's report on the terminal", func() bool {
		var ok bool
		v, ok = parseTTYReport(out.String())
		return ok
	})
	pid, pgid, ppgid, fg := v[0], v[1], v[2], v[3]
	if pgid != pid {
		t.Errorf("the child (pid %d) is in process group %d, want a group of its own", pid, pgid)
	}
	if pgid == ppgid {
		t.Errorf("the child shares process group %d with reaper-init", pgid)
	}
	if fg != pgid {
		t.Errorf("the terminal's foreground process group is %d, want the child's %d", fg, pgid)
	}

	if _, err := io.WriteString(ptmx, line+"\n"); err != nil {
		t.Fatalf("write to the terminal: %v", err)
	}
	deadline := time.Now().Add(readyTimeout)
	for !strings.Contains(out.String(), "got "+line) {
		if time.Now().After(deadline) {
			var states []string
			for _, s := range testenv.Descendants(p.pid) {
				states = append(states, fmt.Sprintf("%d %s %c", s.PID, s.Comm, s.State))
			}
			t.Fatalf("the child did not read the line from the terminal within %v (T = stopped by SIGTTIN); processes below reaper-init: %v\nterminal output:\n%s",
				readyTimeout, states, out)
		}
		time.Sleep(5 * time.Millisecond)
	}
	p.wantExit(0)
	checkNoTrace(t, out.String())
}

// TestNoTerminal runs the same child with stdin on /dev/null and no
// controlling terminal: nothing to hand over, and everything works.
func TestNoTerminal(t *testing.T) {
	t.Parallel()
	p := startInit(t, cmdline(nil, helper(t, "core-tty"))...)
	p.wantExit(0)
	out := p.stdout.String()
	v, ok := parseTTYReport(out)
	if !ok {
		t.Fatalf("stdout is %q, want the child's report", out)
	}
	if v[3] != -1 {
		t.Errorf("the child found a terminal on /dev/null (foreground group %d)", v[3])
	}
	if !strings.HasSuffix(out, "\neof\n") {
		t.Errorf("stdout is %q, want the child to read end of file", out)
	}
	if s := p.stderr.String(); s != "" {
		t.Errorf("stderr is %q, want nothing", s)
	}
}
