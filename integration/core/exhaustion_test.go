package core

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reaper-init/reaper-init/integration/internal/testenv"
)

// threadsOf returns the thread count of pid from /proc/PID/status.
func threadsOf(pid int) (int, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Threads:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			return n, err == nil
		}
	}
	return 0, false
}

// exhaustion runs reaper-init as PID 1 with the watch at 1 s and a
// metrics file, in a pids cgroup kept full for d by a storm of orphans,
// while the test sends it SIGUSR1 twice a second. The Go runtime aborts
// when it needs a thread it cannot create: reaper-init must never need
// one once the child runs. The thread count must not move, every signal
// must reach the child once, and the storm's orphans must all be reaped.
func exhaustion(t *testing.T, d time.Duration, limit int, env []string) {
	testenv.RequirePIDNamespace(t)
	cg := testenv.NewPidsCgroup(t, limit)
	r := newRecorder(t)
	metrics := filepath.Join(t.TempDir(), "metrics.prom")
	group := append(helper(t, "core-group"), r.command(t)...)
	// The storm waits for the recorder, which must be running before the
	// PIDs run out.
	group = append(group, "+", "/bin/sh", "-c", `while [ ! -e "$0" ]; do sleep 0.01; done; exec "$@"`, r.log+".ready")
	group = append(group, testenv.PIDStormArgs(testenv.Helper(t), d, 0)...)
	cmd := testenv.InitCommand(t, cmdline([]string{"--watch", "1s", "--metrics-file", metrics}, group)...)
	cmd.Env = append(os.Environ(), env...)
	cg.Wrap(cmd)
	p := start(t, cmd, true)
	r.waitReady(t)
	// The handler, the loop and the watch have all run once: the thread
	// count from here on is the one that must not move.
	time.Sleep(1500 * time.Millisecond)
	want, ok := threadsOf(p.pid)
	if !ok {
		t.Fatal("cannot read reaper-init's thread count")
	}
	sent, moved := 0, 0
	end := time.Now().Add(d)
	nextSignal := time.Now()
	for time.Now().Before(end) {
		if n, ok := threadsOf(p.pid); ok && n != want {
			moved++
			if moved == 1 {
				t.Errorf("reaper-init's threads went from %d to %d under PID exhaustion", want, n)
			}
		}
		if time.Now().After(nextSignal) {
			p.kill(syscall.SIGUSR1)
			sent++
			nextSignal = time.Now().Add(500 * time.Millisecond)
		}
		time.Sleep(100 * time.Millisecond)
	}
	refused, err := cg.Refused()
	if err != nil {
		t.Fatal(err)
	}
	if refused == 0 {
		t.Fatalf("the cgroup never refused a fork: the storm did not exhaust its %d PIDs, and the test proved nothing", limit)
	}
	r.waitSignal(t, syscall.SIGUSR1, sent)
	time.Sleep(quietPeriod)
	if got := r.count(t, syscall.SIGUSR1); got != sent {
		t.Errorf("sent %d SIGUSR1, the child received %d", sent, got)
	}
	if !p.alive() {
		t.Fatalf("reaper-init died under PID exhaustion\n%s", p.stderr)
	}
	r.stop(t, 0)
	p.wantExit(0)
	if b, err := os.ReadFile(metrics); err != nil || !strings.Contains(string(b), "reaper_init_orphans_reaped_total") {
		t.Errorf("metrics file %q, %v", b, err)
	}
	t.Logf("%d threads throughout, %d signals forwarded, the cgroup refused %d forks over %v", want, sent, refused, d)
}

// TestThreadsUnderPIDExhaustion is the short run of exhaustion, with the
// container's Go settings left alone and set to hostile values (which
// reaper-init leaves behind with a re-exec); make long-test runs 150 s.
func TestThreadsUnderPIDExhaustion(t *testing.T) {
	d := 8 * time.Second
	if os.Getenv("REAPER_LONG") == "1" {
		d = 150 * time.Second
	}
	for _, tt := range []struct {
		name  string
		limit int
		env   []string
	}{
		{"plain", 48, nil},
		// The workload's Go programs get the settings too and start
		// with a dozen threads each: more room before the storm fills it.
		{"hostileGo", 160, []string{"GOGC=1", "GOMAXPROCS=64", "GOMEMLIMIT=1"}},
	} {
		t.Run(tt.name, func(t *testing.T) { exhaustion(t, d, tt.limit, tt.env) })
	}
}
