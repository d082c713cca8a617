package docker

import (
	"bytes"
	"os"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/reaper-init/reaper-init/integration/internal/testenv"
)

// terminal collects what a pseudo-terminal's master side reads.
type terminal struct {
	f    *os.File
	mu   sync.Mutex
	buf  bytes.Buffer
	done chan struct{}
}

func newTerminal(f *os.File) *terminal {
	term := &terminal{f: f, done: make(chan struct{})}
	go func() {
		defer close(term.done)
		b := make([]byte, 4096)
		for {
			n, err := f.Read(b)
			term.mu.Lock()
			term.buf.Write(b[:n])
			term.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	return term
}

func (term *terminal) String() string {
	term.mu.Lock()
	defer term.mu.Unlock()
	return term.buf.String()
}

// expect waits until the output read so far, after offset from, matches
// re, and returns the submatches and the offset after the match.
func (term *terminal) expect(t *testing.T, re *regexp.Regexp, from int, d time.Duration) ([]string, int) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		out := term.String()
		if from <= len(out) {
			if loc := re.FindStringSubmatchIndex(out[from:]); loc != nil {
				var m []string
				for i := 0; i < len(loc); i += 2 {
					m = append(m, out[from+loc[i]:from+loc[i+1]])
				}
				return m, from + loc[1]
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("terminal: no match for %q within %v; output:\n%s", re, d, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (term *terminal) send(t *testing.T, s string) {
	t.Helper()
	if _, err := term.f.WriteString(s); err != nil {
		t.Fatalf("write to terminal: %v", err)
	}
}

// TestDockerInteractiveShell runs `docker run -it IMAGE /reaper-init --
// sh` on a pseudo-terminal, as a user at a terminal does. The shell must
// own the terminal's foreground process group (else an interactive shell
// stops itself with SIGTTIN, or loses job control), Ctrl-C must interrupt
// the shell's foreground job and not the shell or reaper-init, and the
// shell's exit code must come out of docker run.
func TestDockerInteractiveShell(t *testing.T) {
	img := testImage(t)
	cmd, name := testenv.DockerRunCommand(t, []string{"-it", "--rm"}, img, withInit("sh")...)
	ptmx, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 200})
	if err != nil {
		t.Fatalf("start docker run on a pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	term := newTerminal(ptmx)
	waited := false
	defer func() {
		if !waited {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	}()

	_, at := term.expect(t, regexp.MustCompile(`# `), 0, 30*time.Second)
	term.send(t, `echo "FG $(cut -d' ' -f1,5,8 /proc/$$/stat) END"`+"\r")
	m, at := term.expect(t, regexp.MustCompile(`FG (\d+) (\d+) (\d+) END`), at, 10*time.Second)
	pid, pgrp, tpgid := m[1], m[2], m[3]
	t.Logf("shell: pid %s, process group %s, terminal foreground group %s", pid, pgrp, tpgid)
	if pid == "1" {
		t.Fatalf("the shell is PID 1: reaper-init did not run")
	}
	if pgrp != pid {
		t.Errorf("the shell's process group is %s, want its own (%s)", pgrp, pid)
	}
	if tpgid != pgrp {
		t.Errorf("the terminal's foreground group is %s, want the shell's group %s", tpgid, pgrp)
	}

	// Ctrl-C once the foreground job runs: the kernel sends SIGINT to the
	// terminal's foreground group, which must be the job's, not the
	// shell's or reaper-init's.
	term.send(t, "sleep 60\r")
	hostPID, err := strconv.Atoi(testenv.Docker(t, "inspect", "--format", "{{.State.Pid}}", name))
	if err != nil {
		t.Fatalf("docker inspect %s: %v", name, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		found := false
		for _, d := range testenv.Descendants(hostPID) {
			if s, err := testenv.ReadStat(d.PID); err == nil && s.Comm == "sleep" && s.TPGID == s.PGID {
				found = true
			}
		}
		if found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no sleep in the terminal's foreground within 10s; output:\n%s", term)
		}
		time.Sleep(20 * time.Millisecond)
	}
	term.send(t, "\x03")
	term.send(t, `echo "rc=$?"`+"\r")
	m, _ = term.expect(t, regexp.MustCompile(`rc=(\d+)`), at, 10*time.Second)
	if m[1] != "130" {
		t.Errorf("after Ctrl-C the job's status is %s, want 130 (killed by SIGINT)", m[1])
	}

	term.send(t, "exit 3\r")
	err = testenv.WaitTimeout(t, cmd, 30*time.Second)
	waited = true
	if code := testenv.ExitCode(t, err); code != 3 {
		t.Errorf("docker run -it exited %d, want 3 (the shell's exit code); output:\n%s", code, term)
	}
}
