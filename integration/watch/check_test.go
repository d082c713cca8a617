package watch

// Black-box tests of the health probe, reaper-init --check. The probe is
// run the way docker exec and the kubelet run it: from outside the PID
// namespace, entered with nsenter -t PID -p -m, a child of nsenter and
// not of the namespace's init.

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/reaper-init/reaper-init/integration/internal/testenv"
)

// checkResult is what one run of the probe did.
type checkResult struct {
	code   int
	lines  []string // standard output
	stderr string
}

func (r checkResult) String() string {
	return "exit " + strconv.Itoa(r.code) + ", stdout " + strconv.Quote(strings.Join(r.lines, "\n")) + ", stderr " + strconv.Quote(r.stderr)
}

// probeEnv returns this process's environment without the variables
// reaper-init reads, plus extra.
func probeEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "REAPER_") && !strings.HasPrefix(kv, "TINI_") && !strings.HasPrefix(kv, "DUMB_INIT_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// runCheck runs cmd, a reaper-init --check command, and returns what it
// did; it fails the test when the probe does not end within 30s.
func runCheck(t *testing.T, cmd *exec.Cmd) checkResult {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", strings.Join(cmd.Args, " "), err)
	}
	r := checkResult{code: testenv.ExitCode(t, testenv.WaitTimeout(t, cmd, exitTimeout)), stderr: stderr.String()}
	if s := strings.TrimSuffix(stdout.String(), "\n"); s != "" {
		r.lines = strings.Split(s, "\n")
	}
	for _, bad := range []string{"goroutine ", "panic:"} {
		if strings.Contains(stdout.String()+r.stderr, bad) {
			t.Errorf("%s: the output holds %q, like a stack trace: %v", strings.Join(cmd.Args, " "), bad, r)
		}
	}
	return r
}

// checkIn runs reaper-init --check with args inside p's PID and mount
// namespaces, entered from outside as docker exec enters a container's.
func (p *proc) checkIn(env []string, args ...string) checkResult {
	p.t.Helper()
	nsenter, err := exec.LookPath("nsenter")
	if err != nil {
		p.t.Skip("skipping: no nsenter (apt-get install util-linux)")
	}
	initBin, err := filepath.Abs(testenv.Init(p.t))
	if err != nil {
		p.t.Fatal(err)
	}
	cmd := exec.Command(nsenter, append([]string{"-t", strconv.Itoa(p.pid), "-p", "-m", "--", initBin, "--check"}, args...)...)
	cmd.Env = env
	return runCheck(p.t, cmd)
}

// oneLine checks that r printed one line starting with prefix and
// returns its fields.
func oneLine(t *testing.T, r checkResult, prefix string) map[string]string {
	t.Helper()
	if len(r.lines) != 1 || !strings.HasPrefix(r.lines[0], prefix) {
		t.Fatalf("%v; want one line starting %q", r, prefix)
	}
	return fields(t, r.lines[0])
}

// TestCheckZombieHolder: a living parent holding 300 zombies in a
// namespace under reaper-init makes the probe exit 1 naming its pid,
// command and count; the thresholds come from the command line or the
// environment the init reads, the command line first; and the probe
// leaves nothing behind in the namespace.
func TestCheckZombieHolder(t *testing.T) {
	p := startInit(t, "--watch", "0", "--", testenv.Helper(t), "watch_zombieparent", strconv.Itoa(zombieCount))
	pid := p.ready()["pid"]
	before := len(testenv.Descendants(p.pid))

	r := p.checkIn(probeEnv())
	if r.code != 1 || r.stderr != "" {
		t.Fatalf("%v; want exit 1 and nothing on stderr", r)
	}
	f := oneLine(t, r, "unhealthy: zombies piling up ")
	if f["pid"] != pid || f["comm"] != zombieComm || f["zombies"] != strconv.Itoa(zombieCount) || f["threshold"] != "100" {
		t.Errorf("%q: want pid=%s comm=%q zombies=%d threshold=100", r.lines[0], pid, zombieComm, zombieCount)
	}
	if !strings.Contains(r.lines[0], " comm="+strconv.Quote(zombieComm)+" ") {
		t.Errorf("%q: the command name is not quoted as the watch quotes it", r.lines[0])
	}

	for _, tt := range []struct {
		env  []string
		args []string
		code int
	}{
		{args: []string{"--zombie-threshold", "300"}, code: 0},
		{args: []string{"--zombie-threshold=299"}, code: 1},
		{env: []string{"REAPER_ZOMBIE_THRESHOLD=400"}, code: 0},
		{env: []string{"REAPER_ZOMBIE_THRESHOLD=400"}, args: []string{"--zombie-threshold", "200"}, code: 1},
	} {
		r := p.checkIn(probeEnv(tt.env...), tt.args...)
		if r.code != tt.code {
			t.Errorf("env %q, args %q: %v; want exit %d", tt.env, tt.args, r, tt.code)
		}
		if tt.code == 0 {
			if f := oneLine(t, r, "healthy "); f["zombies"] != strconv.Itoa(zombieCount) {
				t.Errorf("env %q, args %q: %q: want zombies=%d", tt.env, tt.args, r.lines[0], zombieCount)
			}
		}
	}

	// Nothing of the probe's is left: the same processes, the same 300
	// zombies, all the hoarder's.
	if after := testenv.Descendants(p.pid); len(after) != before {
		t.Errorf("%d processes below reaper-init after the probes, %d before", len(after), before)
	}
	if n := testenv.Zombies(p.pid); n != zombieCount {
		t.Errorf("%d zombies below reaper-init after the probes, want the hoarder's %d", n, zombieCount)
	}
}

// TestCheckHealthy: a namespace with nothing wrong gives exit 0 and the
// figures: the processes (the init, its child and the probe itself), no
// zombies, the nearest limit and its use.
func TestCheckHealthy(t *testing.T) {
	p := startInit(t, "--watch", "0", "--", testenv.Helper(t), "sleep")
	deadline := time.Now().Add(readyTimeout)
	for len(testenv.Descendants(p.pid)) != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("reaper-init did not start its child within %v", readyTimeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
	r := p.checkIn(probeEnv())
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("%v; want exit 0 and nothing on stderr", r)
	}
	f := oneLine(t, r, "healthy ")
	if f["processes"] != "3" || f["zombies"] != "0" {
		t.Errorf("%q: want processes=3 (reaper-init, its child, the probe) zombies=0", r.lines[0])
	}
	if f["limit"] != "pid_max" && f["limit"] != "cgroup" || atoi(t, "max", f["max"]) <= 0 || atoi(t, "used", f["used"]) < 3 {
		t.Errorf("%q: want the nearest limit with its use (limit=, used= at least 3, max=)", r.lines[0])
	}
}

// TestCheckPIDPressure: a namespace in a pids cgroup of 100, 90 of them
// in use, makes the probe exit 1 naming the cgroup limit, though the
// probe, entered with nsenter, is not in that cgroup itself; above
// --pid-pressure (or REAPER_PID_PRESSURE) 95 the same use is healthy.
func TestCheckPIDPressure(t *testing.T) {
	const max, target = 100, 90
	testenv.RequirePIDNamespace(t)
	cg := testenv.NewPidsCgroup(t, max) // skips when neither cgroup v1 nor v2 pids is writable
	cmd := testenv.InitCommand(t, "--watch", "0", "--",
		testenv.Helper(t), "watch_hold", filepath.Join(cg.Dir, "pids.current"), strconv.Itoa(target))
	cg.Wrap(cmd)
	p := start(t, cmd)
	pid := p.ready()["pid"]
	maxPath := filepath.Join(cg.Dir, "pids.max")

	r := p.checkIn(probeEnv())
	if r.code != 1 || r.stderr != "" {
		t.Fatalf("%v; want exit 1 and nothing on stderr", r)
	}
	f := oneLine(t, r, "unhealthy: PID use near its limit ")
	if f["limit"] != "cgroup" || f["max"] != strconv.Itoa(max) || f["path"] != maxPath || f["threshold"] != "80" {
		t.Errorf("%q: want limit=cgroup max=%d threshold=80 path=%s", r.lines[0], max, maxPath)
	}
	if used := atoi(t, "used", f["used"]); used*100 <= max*80 || used > max {
		t.Errorf("%q: used=%d, want above 80%% of %d", r.lines[0], used, max)
	}
	if top, _, _ := strings.Cut(f["holders"], ","); !strings.HasPrefix(top, pid+":") {
		t.Errorf("%q: want the workload (pid %s) first among the holders", r.lines[0], pid)
	}

	for _, tt := range []struct {
		env  []string
		args []string
	}{
		{args: []string{"--pid-pressure", "95"}},
		{env: []string{"REAPER_PID_PRESSURE=95"}},
	} {
		r := p.checkIn(probeEnv(tt.env...), tt.args...)
		if r.code != 0 {
			t.Errorf("env %q, args %q: %v; want exit 0", tt.env, tt.args, r)
			continue
		}
		if f := oneLine(t, r, "healthy "); f["limit"] != "cgroup" || f["path"] != maxPath {
			t.Errorf("env %q, args %q: %q: want the cgroup limit %s as the nearest", tt.env, tt.args, r.lines[0], maxPath)
		}
	}
}

// TestCheckUsageErrors: a bad command line or environment with --check
// exits 3, not the init's 2 (Docker reserves 2 in a HEALTHCHECK), with
// one line on stderr.
func TestCheckUsageErrors(t *testing.T) {
	initBin := testenv.Init(t)
	for _, tt := range []struct {
		env  []string
		args []string
		want string
	}{
		{args: []string{"--check", "--bogus"}, want: "unknown option --bogus"},
		{args: []string{"--bogus", "--check"}, want: "unknown option --bogus"},
		{args: []string{"--check=1"}, want: "--check takes no value"},
		{args: []string{"--check", "--pid-pressure", "0"}, want: "pid-pressure"},
		{args: []string{"--check", "--zombie-threshold", "many"}, want: "zombie-threshold"},
		{args: []string{"--check", "sleep", "10"}, want: "runs no command"},
		{env: []string{"REAPER_PID_PRESSURE=200"}, args: []string{"--check"}, want: "REAPER_PID_PRESSURE"},
	} {
		cmd := exec.Command(initBin, tt.args...)
		cmd.Env = probeEnv(tt.env...)
		r := runCheck(t, cmd)
		if r.code != 3 || r.lines != nil || strings.Count(r.stderr, "\n") != 1 ||
			!strings.HasPrefix(r.stderr, "reaper-init: ") || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("env %q, args %q: %v; want exit 3 and one line on stderr naming %q", tt.env, tt.args, r, tt.want)
		}
	}
	// The init's own usage errors keep their code.
	cmd := exec.Command(initBin, "--bogus", "true")
	cmd.Env = probeEnv()
	if r := runCheck(t, cmd); r.code != 2 {
		t.Errorf("reaper-init --bogus true: %v; want exit 2", r)
	}
}

// TestCheckOtherNamespace: in a new PID namespace whose /proc is still
// the parent's (unshare --pid --fork without --mount-proc), the probe
// cannot see its own namespace and exits 3.
func TestCheckOtherNamespace(t *testing.T) {
	testenv.RequirePIDNamespace(t)
	args := []string{"--pid", "--fork"}
	if os.Geteuid() != 0 {
		args = append([]string{"--user", "--map-root-user"}, args...)
	}
	cmd := exec.Command("unshare", append(args, testenv.Init(t), "--check")...)
	cmd.Env = probeEnv()
	r := runCheck(t, cmd)
	if r.code != 3 || r.lines != nil || !strings.Contains(r.stderr, "belongs to another PID namespace") || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("%v; want exit 3 and one line on stderr saying /proc belongs to another PID namespace", r)
	}
}

// TestCheckSIGTERM: a probe that hangs (here, on a full pipe for its
// standard output) ends on the SIGTERM of a probe timeout: nothing in it
// catches the signal.
func TestCheckSIGTERM(t *testing.T) {
	var fds [2]int
	if err := syscall.Pipe2(fds[:], syscall.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	r, w := os.NewFile(uintptr(fds[0]), "pipe-r"), os.NewFile(uintptr(fds[1]), "pipe-w")
	defer r.Close()
	defer w.Close()
	// Fill the pipe, so that the probe's first write blocks.
	if err := syscall.SetNonblock(fds[1], true); err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 4096)
	for {
		if _, err := syscall.Write(fds[1], chunk); err == syscall.EAGAIN {
			break
		} else if err != nil {
			t.Fatalf("fill the pipe: %v", err)
		}
	}
	if err := syscall.SetNonblock(fds[1], false); err != nil {
		t.Fatal(err)
	}

	// Run in this process's own namespace: /proc is ours, so the probe
	// scans and then blocks writing its verdict.
	cmd := exec.Command(testenv.Init(t), "--check")
	cmd.Env = probeEnv()
	cmd.Stdout = w
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		t.Fatalf("the probe ended with its output blocked: %v, stderr %q", err, stderr.String())
	case <-time.After(500 * time.Millisecond):
	}
	if s, err := testenv.ReadStat(cmd.Process.Pid); err != nil || s.State == 'Z' {
		t.Fatalf("the probe is not blocked in its write: state %q, %v", s.State, err)
	}
	sent := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if code := testenv.ExitCode(t, err); code != 128+int(syscall.SIGTERM) {
			t.Errorf("after SIGTERM: exit status %d, want %d (killed by SIGTERM); stderr %q", code, 128+int(syscall.SIGTERM), stderr.String())
		}
		t.Logf("ended %v after SIGTERM", time.Since(sent).Round(time.Millisecond))
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatal("the probe was still running 10s after SIGTERM")
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr %q, want nothing", stderr.String())
	}
}

// probeExample is the part of examples/kubernetes/probes.yaml that users
// copy: the container's exec probes.
type probeExample struct {
	Kind string `yaml:"kind"`
	Spec struct {
		Containers []struct {
			Name           string        `yaml:"name"`
			Command        []string      `yaml:"command"`
			Env            []exampleEnv  `yaml:"env"`
			LivenessProbe  *exampleProbe `yaml:"livenessProbe"`
			ReadinessProbe *exampleProbe `yaml:"readinessProbe"`
		} `yaml:"containers"`
	} `yaml:"spec"`
}

type exampleEnv struct {
	Name  string `yaml:"name"`
	Value string `yaml:"value"`
}

type exampleProbe struct {
	Exec *struct {
		Command []string `yaml:"command"`
	} `yaml:"exec"`
	TimeoutSeconds int `yaml:"timeoutSeconds"`
}

// TestCheckKubernetesExample: examples/kubernetes/probes.yaml has a
// liveness and a readiness probe that run reaper-init --check, with a
// command line and environment the built binary accepts: it gives a
// verdict (0 or 1), not a usage error.
func TestCheckKubernetesExample(t *testing.T) {
	path := filepath.Join(testenv.RepoRoot(t), "examples", "kubernetes", "probes.yaml")
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var ex probeExample
	if err := yaml.Unmarshal(text, &ex); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if ex.Kind != "Pod" || len(ex.Spec.Containers) != 1 {
		t.Fatalf("%s: kind %q with %d containers, want a Pod with one", path, ex.Kind, len(ex.Spec.Containers))
	}
	c := ex.Spec.Containers[0]
	if len(c.Command) == 0 || c.Command[0] != "/reaper-init" {
		t.Errorf("container %q: command %q, want reaper-init as PID 1", c.Name, c.Command)
	}
	env := probeEnv()
	for _, e := range c.Env {
		env = append(env, e.Name+"="+e.Value)
	}
	for name, pr := range map[string]*exampleProbe{"livenessProbe": c.LivenessProbe, "readinessProbe": c.ReadinessProbe} {
		if pr == nil || pr.Exec == nil || len(pr.Exec.Command) < 2 || pr.Exec.Command[0] != "/reaper-init" || pr.Exec.Command[1] != "--check" {
			t.Errorf("%s: want exec: command: [\"/reaper-init\", \"--check\", ...]", name)
			continue
		}
		if pr.TimeoutSeconds < 1 {
			t.Errorf("%s: timeoutSeconds %d, want it set", name, pr.TimeoutSeconds)
		}
		cmd := exec.Command(testenv.Init(t), pr.Exec.Command[1:]...)
		cmd.Env = env
		if r := runCheck(t, cmd); r.code != 0 && r.code != 1 {
			t.Errorf("%s: %s: %v; want a verdict, exit 0 or 1", name, strings.Join(pr.Exec.Command, " "), r)
		}
	}
}
