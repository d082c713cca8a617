package core

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/reaper-init/reaper-init/integration/internal/testenv"
)

// startPlain starts reaper-init with args as an ordinary child of the
// test, outside any namespace, with env added to an environment free of
// the variables that select subreaper mode.
func startPlain(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(testenv.Init(t), args...)
	cmd.Env = append(plainEnv(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return start(t, cmd, false)
}

// plainEnv returns the test's environment without the variables that
// configure reaper-init (REAPER_*, and tini's TINI_*).
func plainEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "REAPER_") && !strings.HasPrefix(kv, "TINI_") {
			env = append(env, kv)
		}
	}
	return env
}

// checkAdopts runs reaper-init as an ordinary process with env and opts
// over a child that makes n orphans and holds them. It fails the test
// unless reaper-init adopts every orphan (its children are then the main
// child and the n orphans), reaps them all once they exit, exits 0 with
// the child, and prints nothing on stderr; quiet says why nothing is
// wanted there.
func checkAdopts(t *testing.T, env, opts []string, n int, quiet string) {
	t.Helper()
	o := newOrphans(t)
	p := startPlain(t, env, cmdline(opts, o.command(t, "-n", strconv.Itoa(n), "-hold"))...)
	// Orphans that went elsewhere hold reaper-init's output open: let
	// them and the child go before the process is waited for.
	t.Cleanup(func() { o.release(t); o.stop(t, 0) })
	o.waitOrphaned(t)
	if kids := childrenOf(p.pid); len(kids) != n+1 {
		t.Errorf("reaper-init has %d children, want %d (the main child and %d adopted orphans)", len(kids), n+1, n)
	}
	o.release(t)
	o.waitDone(t)
	waitFor(t, zombieTimeout, "reaper-init to reap its adopted orphans", func() bool {
		return len(childrenOf(p.pid)) == 1 && zombieChildren(p.pid) == 0
	})
	o.stop(t, 0)
	p.wantExit(0)
	if s := p.stderr.String(); s != "" {
		t.Errorf("stderr is %q, want nothing %s", s, quiet)
	}
}

// TestSubreaper runs reaper-init as an ordinary process in subreaper
// mode: the orphans its child makes are re-parented to it, and reaped
// once they exit. No warning is printed.
func TestSubreaper(t *testing.T) {
	t.Parallel()
	testenv.SkipIfNoSubreaper(t)
	const n = 50
	tests := []struct {
		name string
		env  []string
		opts []string
	}{
		{"s", nil, []string{"-s"}},
		{"long", nil, []string{"--subreaper"}},
		{"REAPER_SUBREAPER=1", []string{"REAPER_SUBREAPER=1"}, nil},
		{"REAPER_SUBREAPER=true", []string{"REAPER_SUBREAPER=true"}, nil},
		{"TINI_SUBREAPER=", []string{"TINI_SUBREAPER="}, nil},
		{"TINI_SUBREAPER=0", []string{"TINI_SUBREAPER=0"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			checkAdopts(t, tt.env, tt.opts, n, "in subreaper mode")
		})
	}
}

// TestNotPID1SubreaperByDefault: not PID 1, reaper-init adopts the
// orphans of its own tree with no flag and says nothing; REAPER_SUBREAPER=0
// opts out, which it mentions only at -v.
func TestNotPID1SubreaperByDefault(t *testing.T) {
	t.Parallel()
	testenv.SkipIfNoSubreaper(t)
	tests := []struct {
		name    string
		env     []string
		opts    []string
		adopted bool
		info    bool // an info line about the subreaper is expected
	}{
		{"default", nil, nil, true, false},
		{"TINI_SUBREAPER", []string{"TINI_SUBREAPER="}, nil, true, false},
		{"REAPER_SUBREAPER=0", []string{"REAPER_SUBREAPER=0"}, nil, false, false},
		{"REAPER_SUBREAPER=", []string{"REAPER_SUBREAPER="}, nil, false, false},
		{"REAPER_SUBREAPER=0 -v", []string{"REAPER_SUBREAPER=0"}, []string{"-v"}, false, true},
		{"q", nil, []string{"-q"}, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := newOrphans(t)
			p := startPlain(t, tt.env, cmdline(tt.opts, o.command(t, "-n", "5", "-hold"))...)
			o.waitOrphaned(t)
			kids := len(childrenOf(p.pid))
			if tt.adopted && kids != 6 {
				t.Errorf("reaper-init has %d children, want the main child and the 5 orphans", kids)
			}
			if !tt.adopted && kids != 1 {
				t.Errorf("reaper-init has %d children, want only the main child (not a subreaper)", kids)
			}
			o.release(t)
			o.waitDone(t)
			o.stop(t, 0)
			p.wantExit(0)
			s := p.stderr.String()
			if !tt.info {
				if s != "" {
					t.Errorf("stderr is %q, want nothing", s)
				}
				return
			}
			if !strings.Contains(s, "[reaper-init] ") || !strings.Contains(strings.ToLower(s), "subreaper") {
				t.Errorf("stderr is %q, want a line that mentions the subreaper", s)
			}
		})
	}
}
