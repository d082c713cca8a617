package docker

import (
	"strings"
	"testing"
	"time"

	"github.com/reaper-init/reaper-init/integration/internal/testenv"
)

// TestDockerKillReachesServer sends USR1, HUP and TERM with docker kill
// to a container whose main process is a server under reaper-init. Each
// signal must reach the server exactly once, and the code the server
// exits with on SIGTERM must come out of docker wait unchanged.
func TestDockerKillReachesServer(t *testing.T) {
	img := testImage(t)
	c := testenv.RunContainer(t, nil, img, withInit("/helper", "container-serve", "-exit", "TERM:7", "USR1", "HUP")...)
	c.WaitLog("ready pid=", 30*time.Second)
	for _, sig := range []string{"USR1", "HUP"} {
		c.Kill(sig)
		c.WaitLog("got "+sig, 10*time.Second)
	}
	c.Kill("TERM")
	if code := c.Wait(30 * time.Second); code != 7 {
		t.Errorf("docker wait = %d, want 7 (the server's exit code on SIGTERM); logs:\n%s", code, c.Logs())
	}
	logs := c.Logs()
	for _, sig := range []string{"USR1", "HUP", "TERM"} {
		if n := strings.Count(logs, "got "+sig+"\n"); n != 1 {
			t.Errorf("the server received SIG%s %d times, want exactly once; logs:\n%s", sig, n, logs)
		}
	}
}

// TestDockerKillThroughWrapper puts a launcher that swallows every signal
// (container-wrap, the shape of many language launchers and process
// managers) between PID 1 and the server. reaper-init signals the whole
// process group, so docker kill -s USR1 still reaches the server. Docker's
// own init (tini, without -g) signals only its child, the launcher, and so
// does the kernel when there is no init at all: the server never hears of
// it.
func TestDockerKillThroughWrapper(t *testing.T) {
	img := testImage(t)
	wrapped := []string{"/helper", "container-wrap", "/helper", "container-serve", "USR1"}
	type run struct {
		name    string
		opts    []string
		cmd     []string
		reaches bool
		c       *testenv.EngineContainer
	}
	runs := []*run{
		{name: "reaper-init", cmd: withInit(wrapped...), reaches: true},
		{name: "docker run --init", opts: []string{"--init"}, cmd: wrapped},
		{name: "no init", cmd: wrapped},
	}
	for _, r := range runs {
		r.c = testenv.RunContainer(t, r.opts, img, r.cmd...)
	}
	for _, r := range runs {
		r.c.WaitLog("ready pid=", 30*time.Second)
		r.c.Kill("USR1")
	}
	// Wait for the positive case first: once reaper-init's server has the
	// signal, the others have had more than enough time to get theirs.
	for _, r := range runs {
		if r.reaches {
			r.c.WaitLog("got USR1", 10*time.Second)
		}
	}
	time.Sleep(time.Second)
	for _, r := range runs {
		logs := r.c.Logs()
		got := strings.Contains(logs, "got USR1")
		if r.reaches && !got || !r.reaches && got {
			t.Errorf("%s: server received SIGUSR1 = %v, want %v; logs:\n%s", r.name, got, r.reaches, logs)
		}
	}
}

// TestDockerExitCodes checks that docker wait reports what the main
// process did, through reaper-init, unchanged: its exit code, or 128+N
// when signal N killed it (a fault signal included).
func TestDockerExitCodes(t *testing.T) {
	img := testImage(t)
	for _, tc := range []struct {
		name string
		cmd  []string
		kill string // docker kill -s, once the server is ready
		want int
	}{
		{name: "exit 0", cmd: []string{"/helper", "exit", "0"}, want: 0},
		{name: "exit 1", cmd: []string{"/helper", "exit", "1"}, want: 1},
		{name: "exit 7", cmd: []string{"/helper", "exit", "7"}, want: 7},
		{name: "killed by own USR2", cmd: []string{"sh", "-c", "kill -USR2 $$"}, want: 128 + 12},
		{name: "killed by own SEGV", cmd: []string{"sh", "-c", "kill -SEGV $$"}, want: 128 + 11},
		{name: "killed by docker kill HUP", cmd: []string{"/helper", "container-serve"}, kill: "HUP", want: 128 + 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := testenv.RunContainer(t, nil, img, withInit(tc.cmd...)...)
			if tc.kill != "" {
				c.WaitLog("ready pid=", 30*time.Second)
				c.Kill(tc.kill)
			}
			if code := c.Wait(60 * time.Second); code != tc.want {
				t.Errorf("%s: docker wait = %d, want %d; logs:\n%s", strings.Join(withInit(tc.cmd...), " "), code, tc.want, c.Logs())
			}
		})
	}
}
