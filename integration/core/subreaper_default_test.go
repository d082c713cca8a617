package core

import (
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/reaper-init/reaper-init/integration/internal/testenv"
)

// When reaper-init is not PID 1 (a shared-PID pod, where the pause is
// PID 1; a shell that runs it; a CI job), it registers as child
// subreaper without being asked, so that the orphans below its child are
// still its to reap. Only a kernel that refuses (AWS Lambda, gVisor,
// qemu-user) earns a warning, and even then the command runs.

// TestNotPID1AdoptsOrphansAsSubreaperByDefault runs reaper-init as an
// ordinary process with no flag and no variable: the 20 orphans of its
// child are re-parented to it and reaped, and it prints nothing.
func TestNotPID1AdoptsOrphansAsSubreaperByDefault(t *testing.T) {
	t.Parallel()
	testenv.SkipIfNoSubreaper(t)
	checkAdopts(t, nil, nil, 20, "at the default verbosity")
}

// TestNotPID1SubreaperOptOutWithReaperSubreaper0: REAPER_SUBREAPER=0
// turns the default off: the orphans go to whoever reaps for the test
// (not reaper-init), which keeps only its main child.
func TestNotPID1SubreaperOptOutWithReaperSubreaper0(t *testing.T) {
	t.Parallel()
	o := newOrphans(t)
	p := startPlain(t, []string{"REAPER_SUBREAPER=0"}, cmdline(nil, o.command(t, "-n", "5", "-hold"))...)
	t.Cleanup(func() { o.release(t); o.stop(t, 0) })
	o.waitOrphaned(t)
	if kids := childrenOf(p.pid); len(kids) != 1 {
		t.Errorf("reaper-init has %d children, want only the main child: REAPER_SUBREAPER=0 must opt out", len(kids))
	}
	o.release(t)
	o.waitDone(t)
	o.stop(t, 0)
	p.wantExit(0)
}

// TestNotPID1RefusedSubreaperWarnsOnceAndRunsCommand runs reaper-init
// under a seccomp filter that fails prctl(PR_SET_CHILD_SUBREAPER) with
// EPERM, as AWS Lambda does (helper runtime-nosubreaper). It must still
// run the command and exit with its code, saying so in one warning line.
func TestNotPID1RefusedSubreaperWarnsOnceAndRunsCommand(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(testenv.Helper(t), "runtime-nosubreaper", testenv.Init(t), "--", testenv.Helper(t), "exit", "7")
	cmd.Env = plainEnv()
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	p := start(t, cmd, false)
	st := p.wait()
	if st.sig != 0 || st.code != 7 {
		t.Fatalf("reaper-init under a refused subreaper: %v, want exit code 7 (the command's)\n%s", st, st.output)
	}
	// The warning says the kernel refused: the one about not being
	// asked for a subreaper (reaper-init before the default changed)
	// would be a different failure.
	// Under qemu-user the emulator fails the prctl with EINVAL before
	// the filter sees it: the same refusal, another errno.
	line := oneLine(t, "stderr", p.stderr.String())
	lower := strings.ToLower(line)
	refused := strings.Contains(lower, "operation not permitted") || strings.Contains(lower, "eperm") || strings.Contains(lower, "refus") ||
		(testenv.Emulated(t) && strings.Contains(lower, "invalid argument"))
	if !strings.HasPrefix(line, "[reaper-init] ") || !strings.Contains(lower, "subreaper") || !refused {
		t.Errorf("stderr is %q, want one \"[reaper-init] \" warning that the kernel refused the subreaper (EPERM)", line)
	}
}
