package dockerinit

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reaper-init/reaper-init/integration/internal/testenv"
)

// TestDockerRunInitRunsReaperInitAsDockerInit checks the argument
// contract: with --init the container's PID 1 is
// `/sbin/docker-init -- CMD...`, no flag added, and /sbin/docker-init is
// the reaper-init under test (it prints the same --version).
func TestDockerRunInitRunsReaperInitAsDockerInit(t *testing.T) {
	d := images(t)
	c := d.Run(t, []string{"--init"}, plainImage, "/helper", "container-serve")
	c.WaitLog("ready pid=", startTimeout)
	if got, want := testenv.HostCmdline(t, c.PID()), "/sbin/docker-init -- /helper container-serve"; got != want {
		t.Errorf("PID 1 runs %q, want %q", got, want)
	}
	inside, code := c.Exec("/sbin/docker-init", "--version")
	if want := readInitVersion(t, d.InitPath).output; code != 0 || inside != want {
		t.Errorf("/sbin/docker-init --version in the container: %q (exit %d), want %q, what the --init-path binary prints", inside, code, want)
	}
}

// TestDockerRunInitReapsOrphans runs a server that leaves 100 orphans
// behind. Under `docker run --init` none is left a zombie below PID 1;
// without an init the server is PID 1, never waits, and every orphan
// stays a zombie (the baseline that shows the workload matters).
func TestDockerRunInitReapsOrphans(t *testing.T) {
	d := images(t)
	const rounds, perRound = 5, 20
	workload := []string{"/helper", "container-orphans", strconv.Itoa(rounds), strconv.Itoa(perRound), "200ms"}
	for _, tc := range []struct {
		name string
		opts []string
		init bool
	}{
		{name: "docker run --init", opts: []string{"--init"}, init: true},
		{name: "no init", opts: nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := d.Run(t, tc.opts, plainImage, workload...)
			logs := c.WaitLog("orphaned=", startTimeout)
			if n := orphaned(logs); n != rounds*perRound {
				t.Fatalf("the workload made %d orphans, want %d; logs:\n%s", n, rounds*perRound, logs)
			}
			// Under reaper-init only the server is left below PID 1.
			testenv.CheckOrphans(t, c.PID(), rounds*perRound, tc.init, reapTimeout, "under docker run --init")
		})
	}
}

// TestDockerStopOfShellUnderRunInitExits143Within2s stops
// `sh -c 'sleep 1000'` run with --init: reaper-init forwards SIGTERM to
// the shell's process group, so the container ends at once with 143
// instead of waiting out docker stop's timeout for a SIGKILL.
func TestDockerStopOfShellUnderRunInitExits143Within2s(t *testing.T) {
	d := images(t)
	c := d.Run(t, []string{"--init"}, plainImage, "sh", "-c", "sleep 1000")
	waitChildren(t, c.PID(), 1)
	took := c.Stop(10)
	code := c.Wait(exitTimeout)
	t.Logf("docker stop -t 10 took %v; exit code %d", took.Round(time.Millisecond), code)
	if code != 143 {
		t.Errorf("exit code %d, want 143 (128+SIGTERM); logs:\n%s", code, c.Logs())
	}
	if took >= 2*time.Second {
		t.Errorf("docker stop took %v, want under 2s", took)
	}
}

// waitChildren waits until host process pid has at least n children, so
// that a signal sent next finds the container's command started.
func waitChildren(t *testing.T, pid, n int) {
	t.Helper()
	_, living := testenv.WaitCensus(pid, startTimeout, func(_, living int) bool { return living >= n })
	if living < n {
		t.Fatalf("pid %d has %d living descendants after %v, want %d", pid, living, startTimeout, n)
	}
}

// TestDockerRunInitPassesExitCodes: the container's exit code under
// --init is the command's code, 128+N when signal N killed it, and
// reaper-init's documented 127 and 126 when the command cannot start.
func TestDockerRunInitPassesExitCodes(t *testing.T) {
	d := images(t)
	testenv.CheckInitExitCodes(t, "docker run --init", func(t *testing.T, cmd []string) (int, string) {
		return d.RunWait(t, exitTimeout, []string{"--init"}, plainImage, cmd...)
	})
}

// TestDockerExecOrphansReapedByRunInit: a process tree started with
// docker exec joins the container's PID namespace; when its parent exits,
// its children are re-parented to the namespace's PID 1, not to the shim
// that started the exec. Under --init reaper-init reaps them; a PID 1
// that does not reap keeps them as zombies.
func TestDockerExecOrphansReapedByRunInit(t *testing.T) {
	d := images(t)
	const n = 20
	for _, tc := range []struct {
		name string
		opts []string
		init bool
	}{
		{name: "docker run --init", opts: []string{"--init"}, init: true},
		{name: "no init", opts: nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := d.Run(t, tc.opts, plainImage, "/helper", "container-serve")
			c.WaitLog("ready pid=", startTimeout)
			pid := c.PID()
			out, code := c.Exec("/helper", "container-spawn", strconv.Itoa(n), "200ms")
			if code != 0 || strings.TrimSpace(out) != fmt.Sprintf("%d 0", n) {
				t.Fatalf("docker exec container-spawn: exit %d, output %q", code, out)
			}
			testenv.CheckOrphans(t, pid, n, tc.init, reapTimeout, "under docker run --init")
		})
	}
}

// TestDockerRunInitGraceFromEnvKillsTermIgnoringChild: Docker adds no
// flags to the init, so -e REAPER_GRACE=2s configures it. docker stop's
// SIGTERM reaches a command that ignores it; reaper-init SIGKILLs it when
// the 2 s grace period ends (137), long before docker stop's own 10 s.
func TestDockerRunInitGraceFromEnvKillsTermIgnoringChild(t *testing.T) {
	d := images(t)
	// The ignored disposition is inherited across exec: the sleep
	// ignores SIGTERM too.
	c := d.Run(t, []string{"--init", "-e", "REAPER_GRACE=2s"}, plainImage, "sh", "-c", "trap '' TERM; echo ready; exec sleep 1000")
	c.WaitLog("ready", startTimeout)
	took := c.Stop(10)
	code := c.Wait(exitTimeout)
	t.Logf("docker stop -t 10 took %v; exit code %d", took.Round(time.Millisecond), code)
	if code != 137 {
		t.Errorf("exit code %d, want 137 (SIGKILL at the end of the grace period); logs:\n%s", code, c.Logs())
	}
	within(t, "docker stop with REAPER_GRACE=2s", took, 1800*time.Millisecond, 5*time.Second)
}

var listenRE = regexp.MustCompile(`pid=(\d+) LISTEN_PID=(\S+) LISTEN_FDS=(\S+)`)

// TestDockerRunInitRewritesListenPIDForChild: socket activation passes
// LISTEN_PID=<pid of the process meant to take the sockets>; with --init
// that process is reaper-init (PID 1), so the child must see its own PID
// there, and LISTEN_FDS unchanged. A LISTEN_PID naming another process is
// left alone.
func TestDockerRunInitRewritesListenPIDForChild(t *testing.T) {
	d := images(t)
	for _, tc := range []struct {
		name, listenPID string
		want            func(childPID int) string
	}{
		{"LISTEN_PID=1 names reaper-init", "1", func(pid int) string { return strconv.Itoa(pid) }},
		{"LISTEN_PID=77 names another process", "77", func(int) string { return "77" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out := d.RunWait(t, exitTimeout, []string{"--init", "-e", "LISTEN_PID=" + tc.listenPID, "-e", "LISTEN_FDS=2"}, plainImage, "/helper", "runtime-listenpid")
			m := listenRE.FindStringSubmatch(out)
			if code != 0 || m == nil {
				t.Fatalf("exit code %d, output %q", code, out)
			}
			pid, _ := strconv.Atoi(m[1])
			if want := tc.want(pid); m[2] != want {
				t.Errorf("the child (pid %d) sees LISTEN_PID=%s, want %s", pid, m[2], want)
			}
			if m[3] != "2" {
				t.Errorf("the child sees LISTEN_FDS=%s, want 2, as given", m[3])
			}
		})
	}
}
