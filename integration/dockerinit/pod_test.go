package dockerinit

import (
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/reaper-init/reaper-init/integration/internal/testenv"
)

// A pod with Docker's shared PID namespaces: a pause container whose PID
// 1 creates the namespace, and app containers started with
// --pid container:PAUSE that join it. Docker puts no init in a container
// that joins another's PID namespace (--init is ignored there), and an
// orphan in any of them is re-parented to the namespace's PID 1: the
// pause container's process. reaper-init -P is that process.

// startPause starts a pause container running cmd and returns it with its
// host PID.
func startPause(t *testing.T, d *testenv.Dockerd, cmd ...string) (*testenv.EngineContainer, int) {
	t.Helper()
	pause := d.Run(t, nil, plainImage, cmd...)
	pause.WaitRunning(startTimeout)
	return pause, pause.PID()
}

// TestDockerSharedPIDPodPauseReapsOrphansOfAppContainers starts two app
// containers in the pause container's PID namespace, each leaving 50
// orphans. All 100 are re-parented to the pause container's PID 1; once
// they are killed, reaper-init -P reaps every one. A pause that does not
// reap (a plain sleeper as PID 1) keeps them all as zombies.
func TestDockerSharedPIDPodPauseReapsOrphansOfAppContainers(t *testing.T) {
	d := images(t)
	const apps, rounds, perRound = 2, 5, 10
	const n = apps * rounds * perRound
	for _, tc := range []struct {
		name  string
		pause []string
		reaps bool
	}{
		{name: "reaper-init -P", pause: []string{"/reaper-init", "-P"}, reaps: true},
		{name: "pause that does not reap", pause: []string{"/helper", "sleep"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pause, pid := startPause(t, d, tc.pause...)
			for i := 0; i < apps; i++ {
				app := d.Run(t, []string{"--pid", "container:" + pause.Name}, plainImage,
					"/helper", "container-orphans", strconv.Itoa(rounds), strconv.Itoa(perRound), "1h")
				logs := app.WaitLog("orphaned=", startTimeout)
				if got := orphaned(logs); got != rounds*perRound {
					t.Fatalf("app container %d made %d orphans, want %d; logs:\n%s", i, got, rounds*perRound, logs)
				}
			}
			if !pause.Running() {
				t.Fatalf("the pause container exited; logs:\n%s", pause.Logs())
			}
			adopted := testenv.Children(pid)
			if len(adopted) != n {
				t.Fatalf("the pause container's PID 1 has %d children, want the %d orphans of the app containers", len(adopted), n)
			}
			for _, c := range adopted {
				_ = syscall.Kill(c, syscall.SIGKILL)
			}
			if !tc.reaps {
				zombies, _ := testenv.WaitCensus(pid, reapTimeout, func(z, l int) bool { return z == n })
				if zombies != n {
					t.Errorf("under a pause that does not reap: %d zombies, want all %d orphans", zombies, n)
				}
				return
			}
			zombies, living := testenv.WaitCensus(pid, reapTimeout, func(z, l int) bool { return z+l == 0 })
			if zombies+living != 0 {
				t.Errorf("%d zombies and %d living processes left below reaper-init -P after %v, want none", zombies, living, reapTimeout)
			}
			if !pause.Running() {
				t.Errorf("reaper-init -P exited; logs:\n%s", pause.Logs())
			}
		})
	}
}

// TestDockerSharedPIDPodPauseWatchNamesHoarderInAppContainer: with
// --watch 1s the pause container's reaper-init -P scans the whole PID
// namespace, so a process in an app container that holds 150 zombies (over
// the default threshold of 100) is named in the pause container's log,
// with the PID every container of the pod sees.
func TestDockerSharedPIDPodPauseWatchNamesHoarderInAppContainer(t *testing.T) {
	d := images(t)
	pause, _ := startPause(t, d, "/reaper-init", "-P", "--watch", "1s")
	app := d.Run(t, []string{"--pid", "container:" + pause.Name}, plainImage, "/helper", "watch_zombieparent", "150", "hoarder")
	hoarder := readyPID(app.WaitLog("ready pid=", startTimeout))
	logs := pause.WaitLog("zombies piling up", 15*time.Second)
	m := zombieWarningRE.FindStringSubmatch(logs)
	if m == nil {
		t.Fatalf("the pause container's warning does not name the hoarder; logs:\n%s", logs)
	}
	// The scan may see the hoarder while its last children are still
	// exiting: any count over the threshold is a warning, said once.
	if n, err := strconv.Atoi(m[2]); m[1] != strconv.Itoa(hoarder) || err != nil || n <= 100 || n > 150 {
		t.Errorf("the warning names pid=%s zombies=%s, want pid=%d and 101 to 150 zombies; logs:\n%s", m[1], m[2], hoarder, logs)
	}
}

// TestDockerStopOfSharedPIDPausePodExits0: docker stop sends the pause
// container SIGTERM; reaper-init -P exits 0 at once, as Kubernetes'
// pause does, and the kernel ends the app containers with it.
func TestDockerStopOfSharedPIDPausePodExits0(t *testing.T) {
	d := images(t)
	pause, _ := startPause(t, d, "/reaper-init", "-P")
	app := d.Run(t, []string{"--pid", "container:" + pause.Name}, plainImage, "/helper", "container-serve")
	app.WaitLog("ready pid=", startTimeout)
	took := pause.Stop(10)
	code := pause.Wait(exitTimeout)
	t.Logf("docker stop -t 10 of the pause container took %v; exit code %d", took.Round(time.Millisecond), code)
	if code != 0 {
		t.Errorf("the pause container's exit code is %d, want 0; logs:\n%s", code, pause.Logs())
	}
	if took >= 2*time.Second {
		t.Errorf("docker stop took %v, want under 2s", took)
	}
	if app.Wait(exitTimeout); app.Running() {
		t.Errorf("the app container still runs after its PID namespace's PID 1 exited")
	}
}
