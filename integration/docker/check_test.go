package docker

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/reaper-init/reaper-init/integration/internal/testenv"
)

// health is the part of `docker inspect`'s .State.Health the tests read.
type health struct {
	Status string
	Log    []struct {
		ExitCode int
		Output   string
	}
}

// waitHealth polls the container's health until it is want, and returns
// it; it fails the test (with the probe's last outputs and the logs)
// after d.
func waitHealth(t *testing.T, c *testenv.EngineContainer, want string, d time.Duration) health {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		var h health
		out := c.Inspect("{{json .State.Health}}")
		if err := json.Unmarshal([]byte(out), &h); err != nil {
			t.Fatalf("docker inspect %s: .State.Health %q: %v", c.Name, out, err)
		}
		if h.Status == want {
			return h
		}
		if time.Now().After(deadline) {
			t.Fatalf("container %s: health %q after %v, want %q; probe log %+v; container logs:\n%s", c.Name, h.Status, d, want, h.Log, c.Logs())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// healthOpts make Docker run reaper-init --check every second, as a
// Dockerfile's HEALTHCHECK CMD would.
var healthOpts = []string{"--health-cmd", "/reaper-init --check", "--health-interval", "1s", "--health-timeout", "10s", "--health-retries", "2"}

// containerPID reads the workload's "ready pid=N" line: its PID inside
// the container.
func containerPID(t *testing.T, logs string) string {
	t.Helper()
	m := regexp.MustCompile(`ready pid=(\d+)`).FindStringSubmatch(logs)
	if m == nil {
		t.Fatalf("no ready line in the logs:\n%s", logs)
	}
	return m[1]
}

// TestDockerHealthUnhealthy: a container whose application hoards
// zombies turns unhealthy under HEALTHCHECK /reaper-init --check, and the
// probe's output, which docker inspect keeps, names the hoarder.
func TestDockerHealthUnhealthy(t *testing.T) {
	img := testImage(t)
	c := testenv.RunContainer(t, healthOpts, img, withInit("/helper", "watch_zombieparent", "300")...)
	pid := containerPID(t, c.WaitLog("ready pid=", 60*time.Second))
	h := waitHealth(t, c, "unhealthy", 60*time.Second)
	last := h.Log[len(h.Log)-1]
	t.Logf("last probe: exit %d: %s", last.ExitCode, strings.TrimSpace(last.Output))
	if last.ExitCode != 1 {
		t.Errorf("last probe exit %d, want 1", last.ExitCode)
	}
	want := "unhealthy: zombies piling up pid=" + pid + ` comm="zombie (farm)" zombies=300 threshold=100`
	if !strings.Contains(last.Output, want) {
		t.Errorf("last probe output %q, want it to hold %q", last.Output, want)
	}
}

// TestDockerHealthHealthy: the same probe in a container with nothing
// wrong turns it healthy.
func TestDockerHealthHealthy(t *testing.T) {
	img := testImage(t)
	c := testenv.RunContainer(t, healthOpts, img, withInit("/helper", "sleep")...)
	h := waitHealth(t, c, "healthy", 60*time.Second)
	last := h.Log[len(h.Log)-1]
	t.Logf("last probe: exit %d: %s", last.ExitCode, strings.TrimSpace(last.Output))
	if last.ExitCode != 0 || !strings.HasPrefix(last.Output, "healthy processes=") || !strings.Contains(last.Output, " zombies=0 ") {
		t.Errorf("last probe: exit %d, output %q; want 0 and a healthy line with zombies=0", last.ExitCode, last.Output)
	}
}

// TestDockerExecCheck: the static binary copied with docker cp into a
// running container whose PID 1 is not reaper-init, and run there with
// docker exec, names the PID 1 that hoards zombies, and leaves the
// container as it found it.
func TestDockerExecCheck(t *testing.T) {
	img := testImage(t)
	initBin := testenv.Init(t)
	c := testenv.RunContainer(t, nil, img, "/helper", "watch_zombieparent", "300")
	if pid := containerPID(t, c.WaitLog("ready pid=", 60*time.Second)); pid != "1" {
		t.Fatalf("the hoarder is pid %s in the container, want 1", pid)
	}
	testenv.Docker(t, "cp", initBin, c.Name+":/tmp/reaper-init")

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "docker", "exec", c.Name, "/tmp/reaper-init", "--check")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	code := testenv.ExitCode(t, cmd.Run())
	t.Logf("docker exec: exit %d: %s", code, strings.TrimSpace(stdout.String()))
	if code != 1 || stderr.Len() != 0 {
		t.Errorf("docker exec %s /tmp/reaper-init --check: exit %d, stderr %q; want 1 and nothing on stderr", c.Name, code, stderr.String())
	}
	want := `unhealthy: zombies piling up pid=1 comm="zombie (farm)" zombies=300 threshold=100` + "\n"
	if stdout.String() != want {
		t.Errorf("output %q, want %q", stdout.String(), want)
	}
	if n := testenv.Zombies(c.PID()); n != 300 {
		t.Errorf("%d zombies below the container's PID 1 after the probe, want the hoarder's 300", n)
	}
	if kids := len(testenv.Descendants(c.PID())); kids != 300 {
		t.Errorf("%d processes below the container's PID 1 after the probe, want its 300 zombies only", kids)
	}
}
