package dockerinit

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Docker adds no flags to the init it runs, so every option of
// reaper-init has a REAPER_* form read from the container's environment
// (-e). These tests set each one through docker run -e and watch its
// effect. (REAPER_GRACE has a test of its own; REAPER_SUBREAPER does
// nothing for a PID 1.)

// stopped stops c with docker stop -t 10 and returns how long that took,
// the exit code and the logs.
func stopped(t *testing.T, c interface {
	Stop(int) time.Duration
	Wait(time.Duration) int
	Logs() string
}) (time.Duration, int, string) {
	t.Helper()
	took := c.Stop(10)
	code := c.Wait(exitTimeout)
	t.Logf("docker stop -t 10 took %v; exit code %d", took.Round(time.Millisecond), code)
	return took, code, c.Logs()
}

// TestDockerRunInitDelayFromEnvHoldsTerm: REAPER_DELAY=TERM:2s holds
// docker stop's SIGTERM 2 s before the server gets it.
func TestDockerRunInitDelayFromEnvHoldsTerm(t *testing.T) {
	d := images(t)
	r := newTermRecorder(t)
	c := d.Run(t, append([]string{"--init", "-e", "REAPER_DELAY=TERM:2s"}, r.opts()...), plainImage, r.cmd()...)
	r.waitReady(t)
	start := time.Now()
	c.Stop(10)
	code := c.Wait(exitTimeout)
	held, n := r.heldSince(t, start)
	t.Logf("SIGTERM reached the server %v after docker stop began; exit code %d", held.Round(time.Millisecond), code)
	if code != 0 || n != 1 {
		t.Errorf("exit code %d after %d SIGTERMs, want 0 after one; logs:\n%s", code, n, c.Logs())
	}
	within(t, "holding SIGTERM with REAPER_DELAY=TERM:2s", held, 1900*time.Millisecond, 3200*time.Millisecond)
}

// TestDockerRunInitRewriteFromEnvTurnsTermIntoInt: REAPER_REWRITE=TERM:INT
// forwards docker stop's SIGTERM as SIGINT.
func TestDockerRunInitRewriteFromEnvTurnsTermIntoInt(t *testing.T) {
	d := images(t)
	c := d.Run(t, []string{"--init", "-e", "REAPER_REWRITE=TERM:INT"}, plainImage, "/helper", "container-serve", "-exit", "INT:3", "-exit", "TERM:4")
	c.WaitLog("ready pid=", startTimeout)
	_, code, logs := stopped(t, c)
	if code != 3 || !strings.Contains(logs, "got INT") || strings.Contains(logs, "got TERM") {
		t.Errorf("exit code %d, want 3 (the server got SIGINT, not SIGTERM); logs:\n%s", code, logs)
	}
}

// TestDockerRunInitSingleChildFromEnvSignalsChildOnly: by default a
// signal reaches the child's whole process group, a server behind a
// launcher that drops signals included; REAPER_SINGLE_CHILD=1 sends it to
// the child (the launcher) alone.
func TestDockerRunInitSingleChildFromEnvSignalsChildOnly(t *testing.T) {
	d := images(t)
	wrapped := []string{"/helper", "container-wrap", "/helper", "container-serve", "USR1"}
	group := d.Run(t, []string{"--init"}, plainImage, wrapped...)
	single := d.Run(t, []string{"--init", "-e", "REAPER_SINGLE_CHILD=1"}, plainImage, wrapped...)
	group.WaitLog("ready pid=", startTimeout)
	single.WaitLog("ready pid=", startTimeout)
	group.Kill("USR1")
	single.Kill("USR1")
	group.WaitLog("got USR1", 10*time.Second)
	time.Sleep(time.Second)
	if logs := single.Logs(); strings.Contains(logs, "got USR1") {
		t.Errorf("with REAPER_SINGLE_CHILD=1 the server behind the launcher got SIGUSR1; logs:\n%s", logs)
	}
}

// TestDockerRunInitDumpSignalFromEnvBeforeKill: with REAPER_GRACE=1s,
// REAPER_DUMP_SIGNAL=QUIT and REAPER_DUMP_WAIT=1s a server that ignores
// SIGTERM gets SIGQUIT when the grace period ends, then SIGKILL a second
// later.
func TestDockerRunInitDumpSignalFromEnvBeforeKill(t *testing.T) {
	d := images(t)
	c := d.Run(t, []string{"--init", "-e", "REAPER_GRACE=1s", "-e", "REAPER_DUMP_SIGNAL=QUIT", "-e", "REAPER_DUMP_WAIT=1s"},
		plainImage, "/helper", "container-serve", "TERM", "QUIT")
	c.WaitLog("ready pid=", startTimeout)
	took, code, logs := stopped(t, c)
	if code != 137 {
		t.Errorf("exit code %d, want 137 (SIGKILL after the dump wait); logs:\n%s", code, logs)
	}
	for _, sig := range []string{"TERM", "QUIT"} {
		if !strings.Contains(logs, "got "+sig) {
			t.Errorf("the server did not get SIG%s; logs:\n%s", sig, logs)
		}
	}
	within(t, "docker stop", took, 1800*time.Millisecond, 4500*time.Millisecond)
}

// zombieWarningRE matches the watch's warning about a zombie hoarder
// named hoarder.
var zombieWarningRE = regexp.MustCompile(`warning: zombies piling up pid=(\d+) comm="?hoarder"? zombies=(\d+)`)

// TestDockerRunInitWatchFromEnvNamesZombieHoarder: REAPER_WATCH=1s and
// REAPER_ZOMBIE_THRESHOLD=10 make the watch name a child that holds 20
// zombies; REAPER_VERBOSITY=0 silences that warning.
func TestDockerRunInitWatchFromEnvNamesZombieHoarder(t *testing.T) {
	d := images(t)
	hoarder := []string{"/helper", "watch_zombieparent", "20", "hoarder"}
	watch := []string{"--init", "-e", "REAPER_WATCH=1s", "-e", "REAPER_ZOMBIE_THRESHOLD=10"}
	loud := d.Run(t, watch, plainImage, hoarder...)
	quiet := d.Run(t, append(watch, "-e", "REAPER_VERBOSITY=0"), plainImage, hoarder...)
	logs := loud.WaitLog("zombies piling up", 15*time.Second)
	m := zombieWarningRE.FindStringSubmatch(logs)
	if m == nil {
		t.Fatalf("the warning does not name the hoarder; logs:\n%s", logs)
	}
	if pid := readyPID(logs); m[1] != strconv.Itoa(pid) || m[2] != "20" {
		t.Errorf("the warning names pid=%s zombies=%s, want pid=%d (the hoarder) zombies=20; logs:\n%s", m[1], m[2], pid, logs)
	}
	quiet.WaitLog("ready pid=", startTimeout)
	time.Sleep(3 * time.Second)
	if logs := quiet.Logs(); strings.Contains(logs, "zombies piling up") {
		t.Errorf("REAPER_VERBOSITY=0 did not silence the warning; logs:\n%s", logs)
	}
}

// TestDockerRunInitMetricsFileFromEnv: REAPER_METRICS_FILE with
// REAPER_WATCH=1s writes Prometheus metrics inside the container.
func TestDockerRunInitMetricsFileFromEnv(t *testing.T) {
	d := images(t)
	c := d.Run(t, []string{"--init", "-e", "REAPER_METRICS_FILE=/tmp/metrics", "-e", "REAPER_WATCH=1s"}, plainImage, "/helper", "container-serve")
	c.WaitLog("ready pid=", startTimeout)
	deadline := time.Now().Add(15 * time.Second)
	for {
		out, code := c.Exec("cat", "/tmp/metrics")
		if code == 0 && strings.Contains(out, "reaper_init_processes ") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no reaper_init_processes sample in /tmp/metrics after 15s (cat exit %d):\n%s", code, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
