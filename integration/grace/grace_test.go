package grace

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reaper-init/reaper-init/integration/internal/testenv"
)

// expectRecords fails the test unless the grace-trap record file at path
// holds exactly the signals want, in order.
func expectRecords(t *testing.T, who, path string, want ...string) []record {
	t.Helper()
	recs := readRecords(t, path)
	var got []string
	for _, r := range recs {
		got = append(got, r.sig)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("%s received %v, want %v", who, got, want)
	}
	return recs
}

// TestEscalation: a child that traps and ignores SIGTERM, together with a
// member of its process group that does the same, is SIGKILLed when the
// grace period after the forwarded SIGTERM ends, and reaper-init exits
// 137. The grace period comes from --grace or REAPER_GRACE.
func TestEscalation(t *testing.T) {
	cases := []struct {
		name string
		mode mode
		env  []string
		args []string
	}{
		{"pid1/flag", asPID1, nil, []string{"--grace", "1s"}},
		{"pid1/flag=", asPID1, nil, []string{"--grace=1s"}},
		{"pid1/env", asPID1, []string{"REAPER_GRACE=1s"}, nil},
		{"pid1/flag-over-env", asPID1, []string{"REAPER_GRACE=1h"}, []string{"--grace", "1s"}},
		{"subreaper/flag", asSubreaper, nil, []string{"--grace", "1s"}},
		{"subreaper/env", asSubreaper, []string{"REAPER_GRACE=1s"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			ready, rec := filepath.Join(dir, "ready"), filepath.Join(dir, "rec")
			kidReady, kidRec := filepath.Join(dir, "kid-ready"), filepath.Join(dir, "kid-rec")
			args := append(append([]string{}, tc.args...), "--",
				link(t, dir, "stubborn"), "grace-trap", "-ignore", "-record", rec, "-spawn-ready", kidReady, ready,
				link(t, dir, "stubborn-kid"), "grace-trap", "-ignore", "-record", kidRec, kidReady)
			p := start(t, tc.mode, tc.env, args...)
			readyPID(t, ready)
			kid := readyPID(t, kidReady)
			if tc.mode == asSubreaper {
				killOnCleanup(t, kid, "stubborn-kid")
			}

			sent := p.signal(syscall.SIGTERM)
			code, exited := p.wait(30 * time.Second)
			if code != 137 {
				t.Errorf("exit status %d, want 137 (SIGKILL at the end of the grace period)", code)
			}
			between(t, "exit after SIGTERM with --grace 1s", exited.Sub(sent), 900*time.Millisecond, 6*time.Second)
			expectRecords(t, "the child", rec, "TERM")
			expectRecords(t, "the child's process group member", kidRec, "TERM")
			if tc.mode == asSubreaper && present(kid, "stubborn-kid") {
				t.Errorf("process group member %d still exists after reaper-init exited (not killed, or not reaped)", kid)
			}
			if strings.Contains(p.output(), "goroutine ") {
				t.Errorf("a stack dump was printed without --dump-signal")
			}
		})
	}
}

// TestEscalationKillsNamespace: as PID 1, the SIGKILL at the end of the
// grace period goes to every process of the namespace at once, also to an
// adopted orphan outside the child's process group, which therefore never
// sees a SIGTERM.
func TestEscalationKillsNamespace(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ready, rec := filepath.Join(dir, "ready"), filepath.Join(dir, "rec")
	oReady, oRec := filepath.Join(dir, "orphan-ready"), filepath.Join(dir, "orphan-rec")
	p := start(t, asPID1, nil, "--grace", "1s", "--",
		testenv.Helper(t), "grace-trap", "-ignore", "-record", rec, "-spawn-ready", oReady, ready,
		testenv.Helper(t), "grace-orphan", "-setsid", oReady,
		link(t, dir, "outsider"), "grace-trap", "-ignore", "-record", oRec, oReady)
	readyPID(t, ready)

	sent := p.signal(syscall.SIGTERM)
	code, exited := p.wait(30 * time.Second)
	if code != 137 {
		t.Errorf("exit status %d, want 137", code)
	}
	between(t, "exit after SIGTERM with --grace 1s", exited.Sub(sent), 900*time.Millisecond, 6*time.Second)
	expectRecords(t, "the child", rec, "TERM")
	expectRecords(t, "the orphan in a session of its own", oRec)
}

// TestEscalationSignals: every terminating signal starts the grace
// period (INT, HUP, QUIT as well as TERM), and so does a signal that a
// rewrite turns into one.
func TestEscalationSignals(t *testing.T) {
	cases := []struct {
		name string
		sig  syscall.Signal
		args []string
		want string // the signal the child receives
	}{
		{"INT", syscall.SIGINT, nil, "INT"},
		{"HUP", syscall.SIGHUP, nil, "HUP"},
		{"QUIT", syscall.SIGQUIT, nil, "QUIT"},
		{"USR1-rewritten-to-TERM", syscall.SIGUSR1, []string{"-r", "USR1:TERM"}, "TERM"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			ready, rec := filepath.Join(dir, "ready"), filepath.Join(dir, "rec")
			args := append([]string{"--grace", "1s"}, tc.args...)
			args = append(args, "--", testenv.Helper(t), "grace-trap",
				"-sig", "TERM,INT,HUP,QUIT,USR1", "-ignore", "-record", rec, ready)
			p := start(t, asPID1, nil, args...)
			readyPID(t, ready)

			sent := p.signal(tc.sig)
			code, exited := p.wait(30 * time.Second)
			if code != 137 {
				t.Errorf("exit status %d, want 137 (SIGKILL at the end of the grace period)", code)
			}
			between(t, fmt.Sprintf("exit after %v with --grace 1s", tc.sig), exited.Sub(sent), 900*time.Millisecond, 6*time.Second)
			expectRecords(t, "the child", rec, tc.want)
		})
	}
}

// TestNoEscalationOnOtherSignals: a signal that does not ask for
// termination (SIGUSR1) is forwarded but starts no grace period.
func TestNoEscalationOnOtherSignals(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ready, rec := filepath.Join(dir, "ready"), filepath.Join(dir, "rec")
	p := start(t, asPID1, nil, "--grace", "1s", "--",
		testenv.Helper(t), "grace-trap", "-sig", "USR1", "-ignore", "-record", rec, ready)
	readyPID(t, ready)

	p.signal(syscall.SIGUSR1)
	waitRecords(t, rec, 1)
	time.Sleep(3 * time.Second)
	if p.finished() {
		code, _ := p.wait(time.Second)
		t.Fatalf("reaper-init exited with status %d within 3s of SIGUSR1; SIGUSR1 must not start the grace period", code)
	}
	// The child does not trap SIGTERM: it dies of it.
	p.signal(syscall.SIGTERM)
	if code, _ := p.wait(30 * time.Second); code != 143 {
		t.Errorf("exit status %d after SIGTERM, want 143", code)
	}
	expectRecords(t, "the child", rec, "USR1")
}

// TestDrain: when the main child exits and leaves a process behind (in
// its process group, or in a session of its own), reaper-init sends it
// SIGTERM, waits up to the grace period for it, SIGKILLs it if it is
// still there, and exits with the main child's status. It logs what was
// alive when the drain began and what it had to kill.
func TestDrain(t *testing.T) {
	for _, m := range modes {
		for _, placement := range []string{"group", "session"} {
			for _, stuck := range []bool{false, true} {
				kind, comm, grace := "trapping", "term-orphan", "20s"
				if stuck {
					kind, comm, grace = "stuck", "stuck-orphan", "1s"
				}
				t.Run(fmt.Sprintf("%s/%s/%s", m, placement, kind), func(t *testing.T) {
					t.Parallel()
					dir := t.TempDir()
					stamp := filepath.Join(dir, "stamp")
					oReady, oRec := filepath.Join(dir, "orphan-ready"), filepath.Join(dir, "orphan-rec")
					args := []string{"--grace", grace, "--", testenv.Helper(t), "grace-orphan", "-code", "3", "-stamp", stamp}
					if placement == "session" {
						args = append(args, "-setsid")
					}
					args = append(args, oReady, link(t, dir, comm), "grace-trap", "-record", oRec)
					if stuck {
						args = append(args, "-ignore")
					}
					args = append(args, oReady)
					p := start(t, m, nil, args...)
					orphan := readyPID(t, oReady)
					if m == asSubreaper {
						killOnCleanup(t, orphan, comm)
					}

					code, exited := p.wait(30 * time.Second)
					if code != 3 {
						t.Errorf("exit status %d, want 3 (the main child's)", code)
					}
					drained := exited.Sub(readStamp(t, stamp))
					if stuck {
						between(t, "drain of a process that ignores SIGTERM, --grace 1s", drained, 900*time.Millisecond, 6*time.Second)
					} else {
						between(t, "drain of a process that exits on SIGTERM, --grace 20s", drained, 0, 10*time.Second)
					}
					expectRecords(t, "the process left behind", oRec, "TERM")

					out := p.output()
					if lines := logLines(out, "drain"); !anyNames(lines, orphan, comm) {
						t.Errorf("no [reaper-init] log line with \"drain\" names pid %d and %q; drain lines: %q", orphan, comm, lines)
					}
					killed := logLines(out, "killed")
					if stuck && !anyNames(killed, orphan, comm) {
						t.Errorf("no [reaper-init] log line with \"killed\" names pid %d and %q; killed lines: %q", orphan, comm, killed)
					}
					if !stuck && anyNames(killed, orphan, comm) {
						t.Errorf("a \"killed\" line names pid %d (%s), which exited on SIGTERM: %q", orphan, comm, killed)
					}
					if m == asSubreaper && present(orphan, comm) {
						t.Errorf("process %d (%s) still exists after reaper-init exited (not killed, or not reaped)", orphan, comm)
					}
				})
			}
		}
	}
}

// TestSecondSignal: a second SIGTERM during the grace period ends the
// wait at once.
func TestSecondSignal(t *testing.T) {
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			ready, rec := filepath.Join(dir, "ready"), filepath.Join(dir, "rec")
			p := start(t, m, nil, "--grace", "30s", "--",
				testenv.Helper(t), "grace-trap", "-ignore", "-record", rec, ready)
			readyPID(t, ready)

			p.signal(syscall.SIGTERM)
			waitRecords(t, rec, 1)
			second := p.signal(syscall.SIGTERM)
			code, exited := p.wait(60 * time.Second)
			if code != 137 {
				t.Errorf("exit status %d, want 137", code)
			}
			between(t, "exit after the second SIGTERM with --grace 30s", exited.Sub(second), 0, 10*time.Second)
		})
	}
}

// goroutineDump matches the header of the main goroutine in a Go stack
// dump of grace-trap, which waits on a channel receive.
var goroutineDump = regexp.MustCompile(`(?m)^goroutine 1 [^\n]*\[chan receive\]:$`)

// TestDumpSignal: with --dump-signal QUIT, a Go process that hangs (it
// ignores SIGTERM) gets SIGQUIT at the end of the grace period and its
// goroutine dump reaches reaper-init's stderr before the SIGKILL.
func TestDumpSignal(t *testing.T) {
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			ready := filepath.Join(dir, "ready")
			p := start(t, m, nil, "--grace", "1s", "--dump-signal", "QUIT", "--",
				testenv.Helper(t), "grace-trap", "-ignore", ready)
			readyPID(t, ready)

			sent := p.signal(syscall.SIGTERM)
			code, exited := p.wait(30 * time.Second)
			// The Go runtime exits 2 after the dump; reaper-init reports
			// that status, or 137 if it counts the child as killed.
			if code != 2 && code != 137 {
				t.Errorf("exit status %d, want 2 (the child's status after SIGQUIT) or 137", code)
			}
			between(t, "exit after SIGTERM with --grace 1s --dump-signal QUIT", exited.Sub(sent), 900*time.Millisecond, 8*time.Second)
			out := p.output()
			if !strings.Contains(out, "SIGQUIT: quit") || !goroutineDump.MatchString(out) {
				t.Errorf("no goroutine dump (\"SIGQUIT: quit\", \"goroutine 1 ... [chan receive]:\") in the output")
			}
		})
	}
}

// TestDumpWait: the dump signal goes out when the grace period ends, and
// the SIGKILL follows --dump-wait later.
func TestDumpWait(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ready, rec := filepath.Join(dir, "ready"), filepath.Join(dir, "rec")
	p := start(t, asPID1, nil, "--grace", "1s", "--dump-signal", "USR1", "--dump-wait", "2s", "--",
		testenv.Helper(t), "grace-trap", "-sig", "TERM,USR1", "-ignore", "-record", rec, ready)
	readyPID(t, ready)

	sent := p.signal(syscall.SIGTERM)
	code, exited := p.wait(30 * time.Second)
	if code != 137 {
		t.Errorf("exit status %d, want 137", code)
	}
	between(t, "exit after SIGTERM with --grace 1s --dump-wait 2s", exited.Sub(sent), 2900*time.Millisecond, 10*time.Second)
	recs := expectRecords(t, "the child", rec, "TERM", "USR1")
	if len(recs) == 2 {
		between(t, "dump signal after SIGTERM with --grace 1s", recs[1].at.Sub(sent), 900*time.Millisecond, 6*time.Second)
		between(t, "SIGKILL after the dump signal with --dump-wait 2s", exited.Sub(recs[1].at), 1900*time.Millisecond, 6*time.Second)
	}
}

// TestDelay: --delay holds a signal before forwarding it, and the grace
// period starts when the signal is forwarded, not when it arrived.
func TestDelay(t *testing.T) {
	for _, m := range modes {
		t.Run("held/"+string(m), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			ready, rec := filepath.Join(dir, "ready"), filepath.Join(dir, "rec")
			p := start(t, m, nil, "--delay", "TERM:1500ms", "--",
				testenv.Helper(t), "grace-trap", "-record", rec, ready)
			readyPID(t, ready)

			sent := p.signal(syscall.SIGTERM)
			code, _ := p.wait(30 * time.Second)
			if code != 0 {
				t.Errorf("exit status %d, want 0 (the child exits 0 on SIGTERM)", code)
			}
			// 50ms of slack for the wall clock; timers never fire early.
			if recs := expectRecords(t, "the child", rec, "TERM"); len(recs) == 1 {
				between(t, "SIGTERM delivery with --delay TERM:1500ms", recs[0].at.Sub(sent), 1450*time.Millisecond, 8*time.Second)
			}
		})
	}

	t.Run("grace-starts-when-forwarded", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		ready, rec := filepath.Join(dir, "ready"), filepath.Join(dir, "rec")
		p := start(t, asPID1, nil, "--delay", "TERM:1s", "--grace", "1s", "--",
			testenv.Helper(t), "grace-trap", "-ignore", "-record", rec, ready)
		readyPID(t, ready)

		sent := p.signal(syscall.SIGTERM)
		code, exited := p.wait(30 * time.Second)
		if code != 137 {
			t.Errorf("exit status %d, want 137", code)
		}
		between(t, "exit after SIGTERM with --delay TERM:1s --grace 1s", exited.Sub(sent), 1900*time.Millisecond, 10*time.Second)
		if recs := expectRecords(t, "the child", rec, "TERM"); len(recs) == 1 {
			between(t, "SIGTERM delivery with --delay TERM:1s", recs[0].at.Sub(sent), 950*time.Millisecond, 7*time.Second)
			between(t, "SIGKILL after the delayed SIGTERM with --grace 1s", exited.Sub(recs[0].at), 900*time.Millisecond, 6*time.Second)
		}
	})

	t.Run("other-signals-not-held", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		ready, rec := filepath.Join(dir, "ready"), filepath.Join(dir, "rec")
		p := start(t, asPID1, nil, "--delay", "INT:10s", "--",
			testenv.Helper(t), "grace-trap", "-record", rec, ready)
		readyPID(t, ready)

		sent := p.signal(syscall.SIGTERM)
		if code, _ := p.wait(30 * time.Second); code != 0 {
			t.Errorf("exit status %d, want 0", code)
		}
		if recs := expectRecords(t, "the child", rec, "TERM"); len(recs) == 1 {
			between(t, "SIGTERM delivery with --delay INT:10s", recs[0].at.Sub(sent), 0, 5*time.Second)
		}
	})
}

// TestZeroGrace: without a grace period (the default, or --grace 0)
// reaper-init behaves as tini: it exits as soon as the main child exits
// and sends nothing to the processes left behind.
func TestZeroGrace(t *testing.T) {
	for _, m := range modes {
		for _, opt := range []struct {
			name string
			args []string
		}{
			{"default", nil},
			{"grace-0", []string{"--grace", "0"}},
		} {
			t.Run(string(m)+"/"+opt.name, func(t *testing.T) {
				t.Parallel()
				dir := t.TempDir()
				stamp := filepath.Join(dir, "stamp")
				oReady, oRec := filepath.Join(dir, "orphan-ready"), filepath.Join(dir, "orphan-rec")
				args := append(append([]string{}, opt.args...), "--",
					testenv.Helper(t), "grace-orphan", "-setsid", "-code", "5", "-stamp", stamp, oReady,
					link(t, dir, "straggler"), "grace-trap", "-record", oRec, oReady)
				p := start(t, m, nil, args...)
				orphan := readyPID(t, oReady)
				if m == asSubreaper {
					killOnCleanup(t, orphan, "straggler")
				}

				code, exited := p.wait(30 * time.Second)
				if code != 5 {
					t.Errorf("exit status %d, want 5 (the main child's)", code)
				}
				between(t, "exit after the main child exited", exited.Sub(readStamp(t, stamp)), 0, 5*time.Second)
				// Leave a signal sent just before the exit time to land.
				time.Sleep(500 * time.Millisecond)
				expectRecords(t, "the process left behind", oRec)
				if lines := logLines(p.output(), "drain"); len(lines) > 0 {
					t.Errorf("drain logged without a grace period: %q", lines)
				}
			})
		}
	}
}

// TestUsageErrors: bad values of the graceful-shutdown options are usage
// errors: exit 2, one line on stderr, and the command does not run.
func TestUsageErrors(t *testing.T) {
	cases := [][]string{
		{"--grace", "abc"},
		{"--grace=abc"},
		{"--dump-signal", "NOSUCHSIG"},
		{"--dump-wait", "abc"},
		{"--delay", "TERM"},
		{"--delay", "TERM:abc"},
		{"--delay", "NOSUCHSIG:1s"},
	}
	for _, opts := range cases {
		t.Run(strings.Join(opts, " "), func(t *testing.T) {
			t.Parallel()
			args := append(append([]string{}, opts...), "--", testenv.Helper(t), "exit", "0")
			cmd := exec.Command(testenv.Init(t), args...)
			cmd.Env = cleanEnv()
			out, err := runTimeout(t, cmd, 20*time.Second)
			if code := testenv.ExitCode(t, err); code != 2 {
				t.Errorf("reaper-init %s: exit status %d, want 2\n%s", strings.Join(args, " "), code, out)
			}
			if !regexp.MustCompile(`(?m)^reaper-init: .*\(see reaper-init --help\)$`).MatchString(out) {
				t.Errorf("reaper-init %s: no usage error line \"reaper-init: ... (see reaper-init --help)\" in\n%s", strings.Join(args, " "), out)
			}
		})
	}
}

// runTimeout runs cmd and returns its combined output and Wait's error,
// failing the test if it runs longer than d.
func runTimeout(t *testing.T, cmd *exec.Cmd, d time.Duration) (string, error) {
	t.Helper()
	var b strings.Builder
	cmd.Stdout = &b
	cmd.Stderr = &b
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", strings.Join(cmd.Args, " "), err)
	}
	err := testenv.WaitTimeout(t, cmd, d)
	return b.String(), err
}
