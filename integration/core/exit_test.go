package core

import (
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// TestExitCode checks that reaper-init exits with the child's exit code,
// or 128+N when signal N killed the child, and that -e remaps codes to 0.
func TestExitCode(t *testing.T) {
	t.Parallel()
	exit := func(code int) []string { return []string{"exit", strconv.Itoa(code)} }
	killself := func(sig syscall.Signal) []string { return []string{"core-killself", strconv.Itoa(int(sig))} }
	tests := []struct {
		name  string
		opts  []string
		child []string
		want  int
	}{
		{"exit0", nil, exit(0), 0},
		{"exit1", nil, exit(1), 1},
		{"exit7", nil, exit(7), 7},
		{"exit255", nil, exit(255), 255},
		{"SIGKILL", nil, killself(syscall.SIGKILL), 137},
		{"SIGTERM", nil, killself(syscall.SIGTERM), 143},
		{"remap143/SIGTERM", []string{"-e", "143"}, killself(syscall.SIGTERM), 0},
		{"remap143/exit143", []string{"-e", "143"}, exit(143), 0},
		{"remap143/exit7", []string{"-e", "143"}, exit(7), 7},
		{"remap7", []string{"-e", "7"}, exit(7), 0},
		{"remap7attached", []string{"-e7"}, exit(7), 0},
		{"remapLong", []string{"--remap-exit", "7"}, exit(7), 0},
		{"remapTwice/exit7", []string{"-e", "7", "-e", "143"}, exit(7), 0},
		{"remapTwice/SIGTERM", []string{"-e", "7", "-e", "143"}, killself(syscall.SIGTERM), 0},
		{"remapTwice/exit1", []string{"-e", "7", "-e", "143"}, exit(1), 1},
		{"remapTwice/SIGKILL", []string{"-e", "7", "-e", "143"}, killself(syscall.SIGKILL), 137},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := startInit(t, cmdline(tt.opts, helper(t, tt.child...))...)
			p.wantExit(tt.want)
		})
	}
}

// TestTiniCommandLines runs the command lines people copy from tini's
// documentation.
func TestTiniCommandLines(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"dashdash", []string{"--", "sh", "-c", "exit 3"}, 3},
		{"g", []string{"-g", "--", "sh", "-c", "exit 4"}, 4},
		{"s", []string{"-s", "--", "sh", "-c", "exit 5"}, 5},
		{"e143", []string{"-e", "143", "--", "sh", "-c", "kill -TERM $$"}, 0},
		{"noDashdash", []string{"sh", "-c", "exit 3"}, 3},
		// Options stop at the first non-option: -e belongs to the command.
		{"optionAfterCommand", []string{"sh", "-e", "-c", "exit 6"}, 6},
		{"clustered", []string{"-sg", "--", "sh", "-c", "exit 8"}, 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			startInit(t, tt.args...).wantExit(tt.want)
		})
	}
}

// TestExitWithOrphanRunning checks that reaper-init exits as soon as its
// main child exits, with the child's code, even though an orphan the
// child left behind is still running (tini's behaviour when no grace
// period is set).
func TestExitWithOrphanRunning(t *testing.T) {
	t.Parallel()
	o := newOrphans(t)
	begin := time.Now()
	p := startInit(t, o.command(t, "-n", "1", "-linger", "120s", "-exit", "5")...)
	p.wantExit(5)
	if d := time.Since(begin); d > 15*time.Second {
		t.Errorf("reaper-init took %v to exit after its child; want it at once (the orphan lives 120s)", d)
	}
	if _, err := os.Stat(o.path("orphaned")); err != nil {
		t.Errorf("the child made no orphan: %v", err)
	}
}
