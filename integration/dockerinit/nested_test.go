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
	server := []string{"/helper", "container-serve", "-exit", "TERM:0"}
	for _, tc := range []struct {
		name   string
		opts   []string
		image  string
		cmd    []string
		lo, hi time.Duration
	}{
		{
			// Stacked, the TERM would be held 2 s by each: 4 s.
			name:  "REAPER_DELAY=TERM:2s, inner reaper-init without flags",
			opts:  []string{"--init", "-e", "REAPER_DELAY=TERM:2s"},
			image: nestedImage,
			cmd:   server,
			lo:    1900 * time.Millisecond, hi: 3500 * time.Millisecond,
		},
		{
			// The outer holds 1 s, the inner the remaining 2 s of its
			// 3 s; stacked, 4 s.
			name:  "REAPER_DELAY=TERM:1s, inner reaper-init --delay TERM:3s",
			opts:  []string{"--init", "-e", "REAPER_DELAY=TERM:1s", "--entrypoint", "/reaper-init"},
			image: plainImage,
			cmd:   append([]string{"--delay", "TERM:3s", "--"}, server...),
			lo:    2900 * time.Millisecond, hi: 3800 * time.Millisecond,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := d.Run(t, tc.opts, tc.image, tc.cmd...)
			c.WaitLog("ready pid=", startTimeout)
			took := c.Stop(10)
			code := c.Wait(exitTimeout)
			logs := c.Logs()
			t.Logf("docker stop -t 10 took %v; exit code %d", took.Round(time.Millisecond), code)
			if code != 0 {
				t.Errorf("exit code %d, want 0 (the server's code on SIGTERM); logs:\n%s", code, logs)
			}
			if n := strings.Count(logs, "got TERM\n"); n != 1 {
				t.Errorf("the server received SIGTERM %d times, want once; logs:\n%s", n, logs)
			}
			within(t, "docker stop", took, tc.lo, tc.hi)
		})
	}
}
