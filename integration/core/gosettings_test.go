package core

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reaper-init/reaper-init/integration/internal/testenv"
)

// hostileGo are Go settings an image built for a Go application may
// carry, at values that would shape reaper-init's own runtime.
var hostileGo = []struct {
	name string
	env  []string
}{
	{"GOGC", []string{"GOGC=1"}},
	{"GOMEMLIMIT", []string{"GOMEMLIMIT=1"}},
	{"GOMAXPROCS", []string{"GOMAXPROCS=64"}},
	{"GODEBUG", []string{"GODEBUG=schedtrace=1000,scheddetail=1,gctrace=1,madvdontneed=0"}},
	{"all", []string{"GOGC=1", "GOMEMLIMIT=1", "GOMAXPROCS=64", "GODEBUG=schedtrace=1000,gctrace=1"}},
}

// TestGoSettingsPassToTheChild: whatever Go settings the container has,
// the child gets them exactly as they were, and nothing of the way
// reaper-init keeps them from its own runtime.
func TestGoSettingsPassToTheChild(t *testing.T) {
	t.Parallel()
	for _, tt := range hostileGo {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cmd := testenv.InitCommand(t, "--", "env")
			cmd.Env = append(withoutGoVars(os.Environ()), tt.env...)
			p := start(t, cmd, true)
			p.wantExit(0)
			got := strings.Split(strings.TrimSpace(p.stdout.String()), "\n")
			for _, kv := range tt.env {
				if !slices.Contains(got, kv) {
					t.Errorf("the child's environment lacks %s:\n%s", kv, p.stdout)
				}
			}
			for _, kv := range got {
				name, _, _ := strings.Cut(kv, "=")
				if strings.HasPrefix(name, "REAPER_INIT_SAVED_") || name == "REAPER_INIT_REEXEC" {
					t.Errorf("the child got reaper-init's own %s", kv)
				}
				if isGoVar(name) && !slices.Contains(tt.env, kv) {
					t.Errorf("the child got %s, which the container did not set", kv)
				}
			}
		})
	}
}

// TestGoSettingsDoNotChangeTheInit: with hostile Go settings reaper-init
// forwards, reaps and exits as ever, keeps at most four threads, sleeps
// when idle (GODEBUG=schedtrace would wake its runtime every second and
// print on stderr), and sends nothing nobody sent.
func TestGoSettingsDoNotChangeTheInit(t *testing.T) {
	t.Parallel()
	for _, tt := range hostileGo {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := newOrphans(t)
			cmd := testenv.InitCommand(t, cmdline([]string{"--watch", "0"}, o.command(t, "-n", "50"))...)
			cmd.Env = append(withoutGoVars(os.Environ()), tt.env...)
			p := start(t, cmd, true)
			o.waitDone(t)
			waitFor(t, zombieTimeout, "no zombies", func() bool { return testenv.Zombies(p.pid) == 0 })
			maxThreads := 4
			if testenv.Emulated(t) {
				maxThreads++ // qemu-user's own RCU thread
			}
			if n, _ := threadsOf(p.pid); n > maxThreads {
				t.Errorf("reaper-init has %d threads, want at most %d", n, maxThreads)
			}
			// Past the one-off work after start-up (the footprint trim at
			// 200 ms).
			time.Sleep(time.Second)
			before := ctxSwitches(t, p.pid)
			time.Sleep(2500 * time.Millisecond)
			if d := ctxSwitches(t, p.pid) - before; d != 0 {
				t.Errorf("reaper-init woke %d times in 2.5 s of idling, want none", d)
			}
			p.kill(syscall.SIGTERM)
			st := p.wait()
			if st.sig != 0 || st.code != 143 {
				t.Errorf("after SIGTERM: %v, want 143 (the orphan factory killed by the forwarded TERM)\n%s", st, st.output)
			}
		})
	}
	// reaper-init's runtime prints nothing, with a child that is not a
	// Go program (which would print its own traces).
	for _, tt := range hostileGo {
		t.Run(tt.name+"/quiet", func(t *testing.T) {
			t.Parallel()
			cmd := testenv.InitCommand(t, "--", "sleep", "1.5")
			cmd.Env = append(withoutGoVars(os.Environ()), tt.env...)
			p := start(t, cmd, true)
			p.wantExit(0)
			// The runtime of the first image reads GODEBUG before any of
			// reaper-init's code runs, and may trace its own start (SCHED
			// 0ms, a collection at @0.00Xs); the image that runs the loop
			// traces nothing. Its start takes 0.1 s at most, or three
			// times as long translated by qemu-user.
			startBound := 0.1
			if testenv.Emulated(t) {
				startBound *= 3
			}
			for _, line := range strings.Split(p.stderr.String(), "\n") {
				var ms int
				var secs float64
				if n, _ := fmt.Sscanf(line, "SCHED %dms", &ms); n == 1 && float64(ms) > startBound*1000 {
					t.Errorf("a scheduler trace %d ms after start: %q", ms, line)
				}
				var gc int
				if n, _ := fmt.Sscanf(line, "gc %d @%fs", &gc, &secs); n == 2 && secs > startBound {
					t.Errorf("a collection traced %.3f s after start: %q", secs, line)
				}
			}
		})
	}
	// Forwarding, exactly once, with a recorder that is not a Go program
	// that would be shaped by the settings itself.
	for _, tt := range hostileGo {
		t.Run(tt.name+"/forward", func(t *testing.T) {
			t.Parallel()
			r := newRecorder(t)
			cmd := testenv.InitCommand(t, "--", "sh", "-c", shellRecorder, "sh", r.log)
			cmd.Env = append(withoutGoVars(os.Environ()), tt.env...)
			p := start(t, cmd, true)
			testenv.WaitFile(t, r.log+".ready", readyTimeout)
			p.kill(syscall.SIGUSR1)
			r.waitSignal(t, syscall.SIGUSR1, 1)
			time.Sleep(quietPeriod)
			if got := r.signals(t); !slices.Equal(got, []syscall.Signal{syscall.SIGUSR1}) {
				t.Errorf("the child received %s, want [USR1]", sigList(got))
			}
			r.stop(t, 9)
			p.wantExit(9)
		})
	}
}

func isGoVar(name string) bool {
	switch name {
	case "GOGC", "GOMEMLIMIT", "GOMAXPROCS", "GODEBUG":
		return true
	}
	return false
}

// withoutGoVars returns env without the Go runtime's variables.
func withoutGoVars(env []string) []string {
	var out []string
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if !isGoVar(name) {
			out = append(out, kv)
		}
	}
	return out
}
