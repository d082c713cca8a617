package podman

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reaper-init/reaper-init/integration/internal/testenv"
)

const (
	startTimeout = 60 * time.Second
	exitTimeout  = 60 * time.Second
	reapTimeout  = 20 * time.Second
)

// runsBinary fails the test unless host process pid executes a copy of
// the file bin (compared byte for byte through /proc/PID/exe, which
// reaches into the container's mount namespace).
func runsBinary(t *testing.T, pid int, bin string) {
	t.Helper()
	got, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/exe")
	if err != nil {
		t.Fatalf("read /proc/%d/exe: %v", pid, err)
	}
	want, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("pid %d (%s) does not run %s", pid, testenv.HostCmdline(t, pid), bin)
	}
}

// TestPodmanRunInitRunsPodmanInitDashDash checks podman's argument
// contract, for --init-path on the command line and for
// containers.conf's init_path: PID 1 is `/run/podman-init -- CMD...`, no
// flag added, and it is the reaper-init under test.
func TestPodmanRunInitRunsPodmanInitDashDash(t *testing.T) {
	p := podman(t)
	for _, tc := range []struct {
		name string
		p    *testenv.Podman
		opts []string
	}{
		{"--init-path", p, []string{"--init", "--init-path", p.InitPath}},
		{"containers.conf init_path", p.WithInitPath(), []string{"--init"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.p.Run(t, tc.opts, testImage, "/helper", "container-serve")
			c.WaitLog("ready pid=", startTimeout)
			pid := c.PID()
			if got, want := testenv.HostCmdline(t, pid), "/run/podman-init -- /helper container-serve"; got != want {
				t.Errorf("PID 1 runs %q, want %q", got, want)
			}
			runsBinary(t, pid, p.InitPath)
		})
	}
}

// TestPodmanRunInitReapsOrphans runs a server that leaves 100 orphans
// behind: under podman run --init none is left a zombie; without an init
// every one is (the baseline).
func TestPodmanRunInitReapsOrphans(t *testing.T) {
	p := podman(t)
	const n = 100
	workload := []string{"/helper", "container-orphans", "5", "20", "200ms"}
	for _, tc := range []struct {
		name string
		opts []string
		init bool
	}{
		{"podman run --init", []string{"--init", "--init-path", p.InitPath}, true},
		{"no init", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := p.Run(t, tc.opts, testImage, workload...)
			logs := c.WaitLog("orphaned=", startTimeout)
			if !strings.Contains(logs, fmt.Sprintf("orphaned=%d", n)) {
				t.Fatalf("the workload did not make %d orphans; logs:\n%s", n, logs)
			}
			testenv.CheckOrphans(t, c.PID(), n, tc.init, reapTimeout, "under podman run --init")
		})
	}
}

// TestPodmanRunInitPassesExitCodes: the container's exit code under
// --init is the command's, 128+N for signal N, and reaper-init's 127 and
// 126 when the command cannot start.
func TestPodmanRunInitPassesExitCodes(t *testing.T) {
	p := podman(t)
	testenv.CheckInitExitCodes(t, "podman run --init", func(t *testing.T, cmd []string) (int, string) {
		return p.RunWait(t, exitTimeout, []string{"--init", "--init-path", p.InitPath}, testImage, cmd...)
	})
}

// TestPodmanStopOfShellUnderRunInitExits143Within2s: podman stop's
// SIGTERM reaches `sh -c 'sleep 1000'` through reaper-init, and the
// container ends at once with 143.
func TestPodmanStopOfShellUnderRunInitExits143Within2s(t *testing.T) {
	p := podman(t)
	c := p.Run(t, []string{"--init", "--init-path", p.InitPath}, testImage, "sh", "-c", "echo ready; exec sleep 1000")
	c.WaitLog("ready", startTimeout)
	took := c.Stop(10)
	code := c.Wait(exitTimeout)
	t.Logf("podman stop -t 10 took %v; exit code %d", took.Round(time.Millisecond), code)
	if code != 143 {
		t.Errorf("exit code %d, want 143; logs:\n%s", code, c.Logs())
	}
	if took >= 2*time.Second {
		t.Errorf("podman stop took %v, want under 2s", took)
	}
}

// pod is a podman pod that shares its infra container's PID namespace.
type pod struct {
	name  string
	infra string // the infra container's ID
}

// newPod creates and starts a pod whose containers share the infra
// container's PID namespace, and waits until the infra container runs.
// It is removed when the test ends.
func newPod(t *testing.T, p *testenv.Podman) pod {
	t.Helper()
	name := testenv.UniqueName("pod")
	t.Cleanup(func() { _, _ = p.Output(nil, "pod", "rm", "-f", "-t", "0", name) })
	p.Podman(t, "pod", "create", "--name", name, "--label", testenv.DockerLabel, "--share", "pid,ipc,uts", "--network", "none")
	p.Podman(t, "pod", "start", name)
	po := pod{name: name, infra: p.Podman(t, "pod", "inspect", "--format", "{{.InfraContainerID}}", name)}
	deadline := time.Now().Add(startTimeout)
	for {
		status := p.Podman(t, "inspect", "--format", "{{.State.Status}}", po.infra)
		if status == "running" {
			return po
		}
		if status == "exited" || status == "stopped" || time.Now().After(deadline) {
			how, _ := p.Output(nil, "inspect", "--format", "{{.Path}} {{.Args}} exited with {{.State.ExitCode}}", po.infra)
			logs, _ := p.Output(nil, "logs", po.infra)
			t.Fatalf("the infra container of pod %s is %s (%s); logs:\n%s", name, status, how, logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// infraPID returns the host PID of the pod's infra container.
func (po pod) infraPID(t *testing.T, p *testenv.Podman) int {
	t.Helper()
	pid, err := strconv.Atoi(p.Podman(t, "inspect", "--format", "{{.State.Pid}}", po.infra))
	if err != nil || pid <= 0 {
		t.Fatalf("the infra container of pod %s has no PID", po.name)
	}
	return pid
}

// TestPodmanPodInfraRunsReaperInitAsPause: podman 4.3 builds the pod's
// pause image from its "catatonit" helper, here reaper-init, and runs it
// as `/catatonit -P`.
func TestPodmanPodInfraRunsReaperInitAsPause(t *testing.T) {
	p := podman(t)
	po := newPod(t, p)
	pid := po.infraPID(t, p)
	if got := testenv.HostCmdline(t, pid); got != "/catatonit -P" {
		t.Errorf("the infra container runs %q, want \"/catatonit -P\" (podman 4.3's pause image)", got)
	}
	runsBinary(t, pid, p.InitPath)
}

// TestPodmanPodInfraReapsOrphansOfAppContainers: two containers of a pod
// that shares the infra container's PID namespace leave 50 orphans each;
// all 100 are re-parented to the infra container's reaper-init -P, and
// reaped once they are killed.
func TestPodmanPodInfraReapsOrphansOfAppContainers(t *testing.T) {
	p := podman(t)
	const apps, n = 2, 100
	po := newPod(t, p)
	pid := po.infraPID(t, p)
	for i := 0; i < apps; i++ {
		app := p.Run(t, []string{"--pod", po.name}, testImage, "/helper", "container-orphans", "5", "10", "1h")
		if logs := app.WaitLog("orphaned=", startTimeout); !strings.Contains(logs, "orphaned=50") {
			t.Fatalf("app container %d did not make 50 orphans; logs:\n%s", i, logs)
		}
	}
	adopted := testenv.Children(pid)
	if len(adopted) != n {
		t.Fatalf("the infra container's PID 1 has %d children, want the %d orphans of the app containers", len(adopted), n)
	}
	for _, c := range adopted {
		_ = syscall.Kill(c, syscall.SIGKILL)
	}
	if z, l := testenv.WaitCensus(pid, reapTimeout, func(z, l int) bool { return z+l == 0 }); z+l != 0 {
		t.Errorf("%d zombies and %d living left below the infra container's reaper-init -P after %v, want none", z, l, reapTimeout)
	}
}

// TestPodmanPodStopEndsInfraWithExitCode0: podman pod stop sends the
// infra container SIGTERM; reaper-init -P exits 0.
func TestPodmanPodStopEndsInfraWithExitCode0(t *testing.T) {
	p := podman(t)
	po := newPod(t, p)
	app := p.Run(t, []string{"--pod", po.name}, testImage, "/helper", "container-serve")
	app.WaitLog("ready pid=", startTimeout)
	start := time.Now()
	p.Podman(t, "pod", "stop", "-t", "10", po.name)
	took := time.Since(start)
	code := p.Podman(t, "inspect", "--format", "{{.State.ExitCode}}", po.infra)
	t.Logf("podman pod stop -t 10 took %v; infra exit code %s", took.Round(time.Millisecond), code)
	if code != "0" {
		logs, _ := p.Output(nil, "logs", po.infra)
		t.Errorf("the infra container exited with %s, want 0; logs:\n%s", code, logs)
	}
}
