package core

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/reaper-init/reaper-init/integration/internal/testenv"
)

// shellSession is an interactive shell on a pseudo-terminal, driven the
// way a developer types.
type shellSession struct {
	t    *testing.T
	ptmx *os.File
	out  *syncBuffer
	cmd  *exec.Cmd
	mark int // output before this offset has been matched already
}

// startShell starts an interactive shell (bash, else dash) as the session
// leader of a new pseudo-terminal, with a prompt the test can find.
func startShell(t *testing.T) *shellSession {
	t.Helper()
	shell, args := "", []string(nil)
	if p, err := exec.LookPath("bash"); err == nil {
		shell, args = p, []string{"--norc", "--noprofile", "-i"}
	} else if p, err := exec.LookPath("dash"); err == nil {
		shell, args = p, []string{"-i"}
	} else {
		t.Skip("skipping: no bash or dash for an interactive shell")
	}
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("skipping: cannot open a pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { ptmx.Close() })
	cmd := exec.Command(shell, args...)
	cmd.Env = append(os.Environ(), "PS1=PROMPT> ", "TERM=dumb", "PATH="+os.Getenv("PATH"))
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", shell, err)
	}
	tty.Close()
	s := &shellSession{t: t, ptmx: ptmx, out: &syncBuffer{}, cmd: cmd}
	go func() { _, _ = io.Copy(s.out, ptmx) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	s.expect("PROMPT> ")
	return s
}

// send types text on the terminal.
func (s *shellSession) send(text string) {
	s.t.Helper()
	if _, err := io.WriteString(s.ptmx, text); err != nil {
		s.t.Fatalf("write to the terminal: %v", err)
	}
}

// expect waits for want in the output after the last match.
func (s *shellSession) expect(want string) {
	s.t.Helper()
	deadline := time.Now().Add(readyTimeout)
	for {
		all := s.out.String()
		if i := strings.Index(all[s.mark:], want); i >= 0 {
			s.mark += i + len(want)
			return
		}
		if time.Now().After(deadline) {
			var states []string
			for _, p := range testenv.Descendants(s.cmd.Process.Pid) {
				states = append(states, fmt.Sprintf("%d %s %c pgid=%d tpgid=%d", p.PID, p.Comm, p.State, p.PGID, p.TPGID))
			}
			s.t.Fatalf("the terminal did not show %q within %v; processes: %v; it shows:\n%s", want, readyTimeout, states, all[s.mark:])
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitForeground waits until a process named comm below the shell holds
// the terminal: input typed before would go to the shell's line editor.
func (s *shellSession) waitForeground(comm string) {
	s.t.Helper()
	waitFor(s.t, readyTimeout, comm+" in the terminal's foreground", func() bool {
		for _, p := range testenv.Descendants(s.cmd.Process.Pid) {
			if p.Comm == comm && p.State != 'T' && p.TPGID == p.PGID {
				return true
			}
		}
		return false
	})
}

// TestJobControl runs `reaper-init -- cat` from an interactive shell, as a
// developer runs `reaper-init -- make test`: Ctrl-Z stops the job and the
// shell gets its terminal back; bg leaves the terminal to the shell; fg
// gives it back to cat; Ctrl-C ends it with 130. With -c too.
func TestJobControl(t *testing.T) {
	t.Parallel()
	for _, opts := range [][]string{nil, {"-c"}} {
		name := "group"
		if opts != nil {
			name = "c"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := startShell(t)
			line := testenv.Init(t) + " " + strings.Join(opts, " ") + " -- cat"
			s.send(line + "\n")
			s.waitForeground("cat")
			s.send("first line\n")
			s.expect("first line\r\nfirst line") // the echo, then cat's copy

			s.send("\x1a") // Ctrl-Z
			s.expect("Stopped")
			s.expect("PROMPT> ")

			s.send("bg\n")
			s.expect("PROMPT> ")
			// The shell has the terminal: it runs a command at once.
			s.send("echo shell-has-the-terminal\n")
			s.expect("shell-has-the-terminal\r\n")
			s.expect("PROMPT> ")

			s.send("fg\n")
			s.expect("cat")
			s.waitForeground("cat")
			s.send("second line\n")
			s.expect("second line\r\nsecond line")

			s.send("\x03") // Ctrl-C
			s.expect("PROMPT> ")
			s.send("echo status=$?\n")
			s.expect("status=130")
			checkNoTrace(t, s.out.String())
			if strings.Contains(withoutEmulatedSubreaperWarning(t, s.out.String()), "[reaper-init]") {
				t.Errorf("reaper-init printed on the terminal:\n%s", s.out)
			}
		})
	}
}

// withoutEmulatedSubreaperWarning drops, when the init is emulated, the
// one warning qemu-user earns it as an ordinary process: the emulator
// refuses PR_SET_CHILD_SUBREAPER, which job control does not need.
func withoutEmulatedSubreaperWarning(t *testing.T, out string) string {
	t.Helper()
	if !testenv.Emulated(t) {
		return out
	}
	var kept []string
	for _, line := range strings.Split(out, "\n") {
		if !strings.Contains(line, "cannot become a child subreaper") {
			kept = append(kept, line)
		}
	}
	return strings.Join(kept, "\n")
}
