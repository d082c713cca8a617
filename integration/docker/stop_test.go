package docker

import (
	"testing"
	"time"

	"github.com/reaper-init/reaper-init/integration/internal/testenv"
)

// TestDockerStopShellWrappedServer stops a server that a shell started
// (sh -c 'server; ...'), the most common entrypoint there is. Without an
// init the shell is PID 1: it has no SIGTERM handler, so the kernel drops
// the signal, and docker stop waits out its timeout before SIGKILL (137).
// Under reaper-init the SIGTERM reaches the shell's whole process group,
// the server with it, and the container is gone at once with 143.
func TestDockerStopShellWrappedServer(t *testing.T) {
	img := testImage(t)
	const (
		stopTimeout = 3 // seconds, docker stop -t
		fastBound   = 2 * time.Second
		slowBound   = 2500 * time.Millisecond
	)
	server := []string{"sh", "-c", "/helper container-serve; echo server exited with $?"}
	for _, tc := range []struct {
		name string
		cmd  []string
		code int
		fast bool
	}{
		{name: "reaper-init", cmd: withInit(server...), code: 143, fast: true},
		{name: "no init", cmd: server, code: 137, fast: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := testenv.RunContainer(t, nil, img, tc.cmd...)
			c.WaitLog("ready pid=", 30*time.Second)
			took := c.Stop(stopTimeout)
			code := c.Wait(30 * time.Second)
			t.Logf("docker stop -t %d took %v; docker wait: %d", stopTimeout, took.Round(time.Millisecond), code)
			if code != tc.code {
				t.Errorf("docker wait = %d, want %d; logs:\n%s", code, tc.code, c.Logs())
			}
			switch {
			case tc.fast && took >= fastBound:
				t.Errorf("docker stop took %v, want under %v: SIGTERM did not end the shell-wrapped server", took, fastBound)
			case !tc.fast && took < slowBound:
				t.Errorf("docker stop took %v without an init, want at least %v (the stop timeout): the baseline no longer shows the problem", took, slowBound)
			}
		})
	}
}
