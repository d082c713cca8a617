package dockerinit

import (
	"strings"
	"testing"
	"time"
)

// TestDockerRunInitMarksChildEnvironmentAsUnderOuterInit: the init
// Docker puts in front of the container leaves REAPER_INIT_OUTER in its
// child's environment, so that a reaper-init started below it (the
// image's own entrypoint) knows the REAPER_* variables were meant for the
// outer one.
func TestDockerRunInitMarksChildEnvironmentAsUnderOuterInit(t *testing.T) {
	d := images(t)
	code, out := d.RunWait(t, exitTimeout, []string{"--init"}, plainImage, "/helper", "runtime-env", "REAPER_INIT_OUTER")
	if code != 0 {
		t.Fatalf("exit code %d; output:\n%s", code, out)
	}
	if strings.Contains(out, "REAPER_INIT_OUTER unset") || !strings.Contains(out, "REAPER_INIT_OUTER=") {
		t.Errorf("the child's environment has no REAPER_INIT_OUTER marker; it printed:\n%s", out)
	}
}

// TestDockerRunInitOverReaperInitEntrypointDelaysTermOnce runs an image
// whose entrypoint is reaper-init under `docker run --init`, so two
// reaper-inits are stacked. The REAPER_* environment configures the outer
// one only: the inner one ignores it and keeps its own flags, and its own
// --delay for a signal is reduced by what the outer one already held. So
// a delay is applied once, not once per init, and the server hears
// SIGTERM exactly once.
func TestDockerRunInitOverReaperInitEntrypointDelaysTermOnce(t *testing.T) {
	d := images(t)
	for _, tc := range []struct {
		name   string
		opts   []string
		image  string
		inner  []string // the inner reaper-init's flags, before the server
		lo, hi time.Duration
	}{
		{
			// Stacked, the TERM would be held 2 s by each: 4 s.
			name:  "REAPER_DELAY=TERM:2s, inner reaper-init without flags",
			opts:  []string{"--init", "-e", "REAPER_DELAY=TERM:2s"},
			image: nestedImage,
			lo:    1900 * time.Millisecond, hi: 3200 * time.Millisecond,
		},
		{
			// The outer holds 1 s, the inner the remaining 2 s of its
			// 3 s; stacked, 4 s.
			name:  "REAPER_DELAY=TERM:1s, inner reaper-init --delay TERM:3s",
			opts:  []string{"--init", "-e", "REAPER_DELAY=TERM:1s", "--entrypoint", "/reaper-init"},
			image: plainImage,
			inner: []string{"--delay", "TERM:3s", "--"},
			lo:    2900 * time.Millisecond, hi: 3700 * time.Millisecond,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newTermRecorder(t)
			c := d.Run(t, append(tc.opts, r.opts()...), tc.image, append(tc.inner, r.cmd()...)...)
			r.waitReady(t)
			start := time.Now()
			c.Stop(10)
			code := c.Wait(exitTimeout)
			held, n := r.heldSince(t, start)
			t.Logf("SIGTERM reached the server %v after docker stop began; exit code %d", held.Round(time.Millisecond), code)
			if code != 0 {
				t.Errorf("exit code %d, want 0 (the server's code on SIGTERM); logs:\n%s", code, c.Logs())
			}
			if n != 1 {
				t.Errorf("the server received SIGTERM %d times, want once", n)
			}
			within(t, "holding SIGTERM", held, tc.lo, tc.hi)
		})
	}
}
