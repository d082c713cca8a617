package watch

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reaper-init/reaper-init/internal/logx/logxtest"
	"github.com/reaper-init/reaper-init/internal/procfs/procfstest"
)

// env is a watcher over a synthetic /proc and cgroup tree, with a clock
// the test moves and the log lines it wrote.
type env struct {
	t      *testing.T
	proc   string
	cgroup string
	w      *Watcher
	st     *Stats
	clock  time.Time
	lines  []string
}

func newEnv(t *testing.T, cfg Config) *env {
	t.Helper()
	e := &env{t: t, proc: t.TempDir(), cgroup: t.TempDir(), st: NewStats(), clock: time.Unix(1e9, 0)}
	cfg.ProcRoot, cfg.CgroupRoot = e.proc, e.cgroup
	cfg.Logf = func(line string) { e.lines = append(e.lines, line) }
	e.w = New(cfg, e.st)
	e.w.self = 1
	e.w.now = func() time.Time { return e.clock }
	e.w.epoch = e.clock
	procfstest.Write(t, e.proc, procfstest.Proc{PID: 1, Comm: "reaper-init", Threads: 4})
	return e
}

// file writes a file below root, making its directory.
func (e *env) file(root, name, content string) {
	e.t.Helper()
	p := filepath.Join(root, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		e.t.Fatal(err)
	}
}

// zombies gives parent n zombie children with PIDs from first on.
func (e *env) zombies(parent, first, n int) {
	e.t.Helper()
	procfstest.Zombies(e.t, e.proc, parent, first, n, "worker")
}

func (e *env) reap(first, n int) {
	e.t.Helper()
	for pid := first; pid < first+n; pid++ {
		procfstest.Remove(e.t, e.proc, pid)
	}
}

// tick advances the clock by d, ticks, and returns the lines logged.
func (e *env) tick(d time.Duration) []string {
	e.t.Helper()
	e.clock = e.clock.Add(d)
	e.lines = nil
	if err := e.w.Tick(); err != nil {
		e.t.Fatalf("Tick: %v", err)
	}
	return e.lines
}

// expectLine checks that lines is one line starting with prefix and
// holding the fields of want ("" for a field that must be absent).
func expectLine(t *testing.T, lines []string, prefix string, want map[string]string) {
	t.Helper()
	if len(lines) != 1 || !strings.HasPrefix(lines[0], prefix) {
		t.Fatalf("logged %q, want one line starting %q", lines, prefix)
	}
	got := fields(t, lines[0])
	for k, v := range want {
		if got[k] != v {
			t.Errorf("line %q: %s=%q, want %q", lines[0], k, got[k], v)
		}
	}
}

func expectNone(t *testing.T, lines []string) {
	t.Helper()
	if len(lines) != 0 {
		t.Fatalf("logged %q, want nothing", lines)
	}
}

func TestZombieWarning(t *testing.T) {
	e := newEnv(t, Config{})
	procfstest.Write(t, e.proc,
		procfstest.Proc{PID: 7, PPID: 1, Comm: "jobrunner", StartTime: 7},
		procfstest.Proc{PID: 8, PPID: 1, Comm: "other", StartTime: 8})
	e.zombies(7, 1000, 300)
	e.zombies(8, 2000, 5)

	expectLine(t, e.tick(time.Second), "warning: zombies piling up ", map[string]string{
		"pid": "7", "comm": "jobrunner", "zombies": "300", "threshold": "100",
		"oldest": "", "parents": "", // first sight: the age is not known
	})
	// A steady state is said once.
	expectNone(t, e.tick(10*time.Second))
	expectNone(t, e.tick(10*time.Second))
	// Less than a quarter more: still the same state.
	e.zombies(7, 1300, 70)
	expectNone(t, e.tick(10*time.Second))
	// A quarter more than said: said again, with the age of the oldest.
	e.zombies(7, 1370, 10)
	expectLine(t, e.tick(10*time.Second), "warning: zombies piling up ", map[string]string{
		"pid": "7", "comm": "jobrunner", "zombies": "380", "oldest": "40s",
	})
	// Reaped: said once that it cleared.
	e.reap(1000, 380)
	expectLine(t, e.tick(10*time.Second), "zombies cleared ", map[string]string{
		"pid": "7", "comm": "jobrunner", "zombies": "0", "threshold": "100",
	})
	expectNone(t, e.tick(10*time.Second))
	// A new pile is a new state, its zombies of unknown age again.
	e.zombies(7, 3000, 150)
	expectLine(t, e.tick(10*time.Second), "warning: zombies piling up ", map[string]string{
		"pid": "7", "zombies": "150", "oldest": "",
	})
}

func TestZombieThreshold(t *testing.T) {
	e := newEnv(t, Config{ZombieThreshold: 10})
	procfstest.Write(t, e.proc, procfstest.Proc{PID: 7, PPID: 1, Comm: "a b=\"c\"", StartTime: 7})
	e.zombies(7, 100, 10)
	expectNone(t, e.tick(time.Second)) // 10 is not more than 10
	e.zombies(7, 110, 1)
	lines := e.tick(time.Second)
	expectLine(t, lines, "warning: zombies piling up ", map[string]string{
		"pid": "7", "comm": `a b="c"`, "zombies": "11", "threshold": "10", "oldest": "1s",
	})
	if !strings.Contains(lines[0], ` comm="a b=\"c\"" `) {
		t.Errorf("line %q: the command name is not quoted with strconv.Quote", lines[0])
	}
}

func TestZombieHysteresis(t *testing.T) {
	e := newEnv(t, Config{ZombieThreshold: 100})
	procfstest.Write(t, e.proc, procfstest.Proc{PID: 7, PPID: 1, Comm: "j", StartTime: 7})
	e.zombies(7, 1000, 101)
	expectLine(t, e.tick(time.Second), "warning: zombies piling up ", map[string]string{"zombies": "101"})
	e.reap(1000, 20) // 81: under the threshold, above three quarters of it
	expectNone(t, e.tick(time.Second))
	e.zombies(7, 1000, 20) // 101 again: nothing new
	expectNone(t, e.tick(time.Second))
	e.reap(1000, 26) // 75: cleared
	expectLine(t, e.tick(time.Second), "zombies cleared ", map[string]string{"pid": "7", "zombies": "75"})
}

func TestZombieParentChange(t *testing.T) {
	e := newEnv(t, Config{})
	procfstest.Write(t, e.proc,
		procfstest.Proc{PID: 7, PPID: 1, Comm: "a", StartTime: 7},
		procfstest.Proc{PID: 8, PPID: 1, Comm: "b", StartTime: 8})
	e.zombies(7, 1000, 200)
	expectLine(t, e.tick(time.Second), "warning: zombies piling up ", map[string]string{"pid": "7", "zombies": "200"})
	// b overtakes a by less than a quarter while a stays over: same state.
	e.zombies(8, 2000, 240)
	expectNone(t, e.tick(time.Second))
	// b holds a quarter more than a: b is named.
	e.zombies(8, 2240, 10)
	expectLine(t, e.tick(time.Second), "warning: zombies piling up ", map[string]string{"pid": "8", "comm": "b", "zombies": "250", "parents": "2"})
	// b reaps; a is the top parent again, and over the threshold since b
	// was named: a is named again.
	e.reap(2000, 250)
	expectLine(t, e.tick(time.Second), "warning: zombies piling up ", map[string]string{"pid": "7", "zombies": "200", "oldest": "3s"})
}

// TestZombieParentExits: the parent exits, its zombies go to the init,
// which reaps them. The init's own zombies are never warned about.
func TestZombieParentExits(t *testing.T) {
	e := newEnv(t, Config{})
	procfstest.Write(t, e.proc, procfstest.Proc{PID: 7, PPID: 1, Comm: "j", StartTime: 7})
	e.zombies(7, 1000, 200)
	expectLine(t, e.tick(time.Second), "warning: zombies piling up ", map[string]string{"pid": "7"})
	procfstest.Remove(t, e.proc, 7)
	e.zombies(1, 1000, 200)
	expectLine(t, e.tick(time.Second), "zombies cleared ", map[string]string{"pid": "7", "zombies": "0"})
	if e.w.nZombies != 200 {
		t.Errorf("zombies counted: %d, want 200", e.w.nZombies)
	}
}

// TestZombieParentsLeaveOutTheInit: the init's own zombies, about to be
// reaped, do not make another parent: parents= counts the processes the
// warning is about.
func TestZombieParentsLeaveOutTheInit(t *testing.T) {
	e := newEnv(t, Config{})
	procfstest.Write(t, e.proc, procfstest.Proc{PID: 7, PPID: 1, Comm: "j", StartTime: 7})
	e.zombies(1, 1000, 200)
	e.zombies(7, 2000, 150)
	expectLine(t, e.tick(time.Second), "warning: zombies piling up ", map[string]string{"pid": "7", "zombies": "150", "parents": ""})
	if n := e.w.ZombieParentsOver(100); n != 1 {
		t.Errorf("ZombieParentsOver(100) = %d, want 1", n)
	}
}

// TestZombieReusedPID: a new process with the PID of the one warned about
// is another process.
func TestZombieReusedPID(t *testing.T) {
	e := newEnv(t, Config{})
	procfstest.Write(t, e.proc, procfstest.Proc{PID: 7, PPID: 1, Comm: "old", StartTime: 7})
	e.zombies(7, 1000, 200)
	expectLine(t, e.tick(time.Second), "warning: zombies piling up ", map[string]string{"pid": "7", "comm": "old"})
	procfstest.Write(t, e.proc, procfstest.Proc{PID: 7, PPID: 1, Comm: "new", StartTime: 70})
	expectLine(t, e.tick(time.Second), "warning: zombies piling up ", map[string]string{"pid": "7", "comm": "new", "oldest": "1s"})
}

func TestPressureCgroupV1(t *testing.T) {
	e := newEnv(t, Config{})
	e.file(e.proc, "self/cgroup", "9:name=systemd:/\n8:pids:/box/inner\n4:memory:/x\n0::/\n")
	e.file(e.proc, "sys/kernel/pid_max", "32768\n")
	e.file(e.cgroup, "pids/box/inner/pids.max", "max\n")
	e.file(e.cgroup, "pids/box/inner/pids.current", "85\n")
	e.file(e.cgroup, "pids/box/pids.max", "100\n")
	e.file(e.cgroup, "pids/box/pids.current", "85\n")
	procfstest.Write(t, e.proc, procfstest.Proc{PID: 7, PPID: 1, Comm: "hold", StartTime: 7, Threads: 2})
	for pid := 100; pid < 180; pid++ {
		procfstest.Write(t, e.proc, procfstest.Proc{PID: pid, PPID: 7, Comm: "sleep", StartTime: uint64(pid)})
	}
	maxPath := filepath.Join(e.cgroup, "pids/box/pids.max")
	expectLine(t, e.tick(time.Second), "warning: PID use near its limit ", map[string]string{
		"limit": "cgroup", "used": "85", "max": "100", "percent": "85", "processes": "82", "tasks": "86",
		"holders": "7:hold:82", "path": maxPath,
	})
	e.file(e.cgroup, "pids/box/pids.current", "89\n")
	expectNone(t, e.tick(time.Second))
	e.file(e.cgroup, "pids/box/pids.current", "90\n")
	expectLine(t, e.tick(time.Second), "warning: PID use near its limit ", map[string]string{"limit": "cgroup", "used": "90", "percent": "90"})
	e.file(e.cgroup, "pids/box/pids.current", "76\n")
	expectNone(t, e.tick(time.Second))
	e.file(e.cgroup, "pids/box/pids.current", "74\n")
	expectLine(t, e.tick(time.Second), "PID use back under its limit ", map[string]string{"limit": "cgroup", "used": "74", "max": "100"})
	expectNone(t, e.tick(time.Second))
	// A lower limit set on the nearer cgroup is the nearest limit.
	e.file(e.cgroup, "pids/box/inner/pids.max", "90\n")
	e.file(e.cgroup, "pids/box/inner/pids.current", "80\n")
	expectLine(t, e.tick(time.Second), "warning: PID use near its limit ", map[string]string{
		"limit": "cgroup", "used": "80", "max": "90", "path": filepath.Join(e.cgroup, "pids/box/inner/pids.max"),
	})
}

func TestPressureCgroupV2(t *testing.T) {
	e := newEnv(t, Config{})
	e.file(e.proc, "self/cgroup", "0::/a/b\n")
	e.file(e.cgroup, "a/b/pids.max", "max\n")
	e.file(e.cgroup, "a/b/pids.current", "45\n")
	e.file(e.cgroup, "a/pids.max", "50\n")
	e.file(e.cgroup, "a/pids.current", "45\n")
	expectLine(t, e.tick(time.Second), "warning: PID use near its limit ", map[string]string{
		"limit": "cgroup", "used": "45", "max": "50", "path": filepath.Join(e.cgroup, "a/pids.max"),
	})
}

// TestPressureCgroupNamespace: inside a cgroup namespace (or without
// /proc/self/cgroup) the limit is at the root of the mount.
func TestPressureCgroupNamespace(t *testing.T) {
	for _, selfCgroup := range []string{"", "0::/\n", "0::/../../outside\n", "5:pids:/docker/abc\n"} {
		e := newEnv(t, Config{})
		if selfCgroup != "" {
			e.file(e.proc, "self/cgroup", selfCgroup)
		}
		root := ""
		if strings.Contains(selfCgroup, "pids") {
			root = "pids"
		}
		e.file(e.cgroup, filepath.Join(root, "pids.max"), "10\n")
		e.file(e.cgroup, filepath.Join(root, "pids.current"), "9\n")
		expectLine(t, e.tick(time.Second), "warning: PID use near its limit ", map[string]string{
			"limit": "cgroup", "used": "9", "max": "10", "path": filepath.Join(e.cgroup, root, "pids.max"),
		})
	}
}

func TestPressurePidMax(t *testing.T) {
	e := newEnv(t, Config{})
	e.file(e.proc, "sys/kernel/pid_max", "400\n")
	procfstest.Write(t, e.proc, procfstest.Proc{PID: 7, PPID: 1, Comm: "java", StartTime: 7, Threads: 300})
	expectNone(t, e.tick(time.Second)) // 304 of 400
	e.zombies(7, 1000, 20)
	expectLine(t, e.tick(time.Second), "warning: PID use near its limit ", map[string]string{
		"limit": "pid_max", "used": "324", "max": "400", "percent": "81", "holders": "7:java:320",
	})
}

func TestCgroupCandidates(t *testing.T) {
	tests := []struct {
		self string
		want []string
	}{
		{"", []string{"", "/pids"}},
		{"0::/\n", []string{"", "/pids"}},
		{"0::/a/b\n", []string{"/a/b", "/a", "", "/pids"}},
		{"0::/a/b (deleted)\n", []string{"/a/b", "/a", "", "/pids"}},
		{"0::/a/../../b\n", []string{"", "/pids"}},
		{"0::relative\n", []string{"", "/pids"}},
		{"12:cpu,pids:/x\n0::/y\n", []string{"/pids/x", "/pids", "/y", ""}},
		{"3:pids:/k8s/pod1/c\n1:name=systemd:/k8s\n", []string{"/pids/k8s/pod1/c", "/pids/k8s/pod1", "/pids/k8s", "/pids", ""}},
		{"garbage\n:::\n", []string{"", "/pids"}},
	}
	for _, tt := range tests {
		proc := t.TempDir()
		if tt.self != "" {
			if err := os.MkdirAll(filepath.Join(proc, "self"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(proc, "self/cgroup"), []byte(tt.self), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		c := cgroupResolver{procRoot: proc, cgroupRoot: "/cg"}
		var got []string
		for _, d := range c.candidates() {
			got = append(got, strings.TrimSuffix(strings.TrimPrefix(d.maxPath, "/cg"), "/pids.max"))
		}
		if strings.Join(got, " ") != strings.Join(tt.want, " ") {
			t.Errorf("self/cgroup %q: candidates %q, want %q", tt.self, got, tt.want)
		}
		// Resolving again from the same file gives the same answer.
		if again := c.candidates(); len(again) != len(got) {
			t.Errorf("self/cgroup %q: second resolution gave %d candidates, want %d", tt.self, len(again), len(got))
		}
	}
}

func TestTickScanError(t *testing.T) {
	var lines []string
	w := New(Config{ProcRoot: filepath.Join(t.TempDir(), "none"), Logf: func(l string) { lines = append(lines, l) }}, nil)
	if err := w.Tick(); err == nil || !strings.Contains(err.Error(), "none") {
		t.Errorf("Tick over a missing /proc: %v, want an error naming it", err)
	}
	if len(lines) != 0 {
		t.Errorf("Tick logged %q; errors are Run's to log", lines)
	}
}

// TestStepped: a tick run in steps sees what a whole tick sees, each
// step reads a bounded number of processes, and signals and reaps can
// run between steps.
func TestStepped(t *testing.T) {
	e := newEnv(t, Config{})
	procfstest.Tree(t, e.proc, 2000)
	procfstest.Write(t, e.proc, procfstest.Proc{PID: 4999, PPID: 1, Comm: "jobrunner", StartTime: 7})
	e.zombies(4999, 5000, 150)
	if err := e.w.Begin(); err != nil {
		t.Fatal(err)
	}
	steps := 0
	for {
		before := len(e.w.pending.procs)
		done, err := e.w.Step()
		if err != nil {
			t.Fatal(err)
		}
		if read := len(e.w.pending.procs) - before; read > scanPerStep {
			t.Fatalf("a step read %d processes, want at most %d", read, scanPerStep)
		}
		steps++
		if done {
			break
		}
		if !e.w.Ticking() {
			t.Fatal("Ticking() false before the last step")
		}
	}
	if e.w.Ticking() {
		t.Error("Ticking() after the last step")
	}
	if steps < len(e.w.procs)/scanPerStep {
		t.Errorf("%d steps for %d processes", steps, len(e.w.procs))
	}
	expectLine(t, e.lines, "warning: zombies piling up", map[string]string{"pid": "4999", "zombies": "150"})
	stepped := e.w.nTasks
	e.lines = nil
	if err := e.w.Tick(); err != nil {
		t.Fatal(err)
	}
	if e.w.nTasks != stepped {
		t.Errorf("a whole tick counted %d tasks, the stepped one %d", e.w.nTasks, stepped)
	}
}

// TestMidTickReportsLastScan: in the middle of a tick (the init may exit
// there, and write the metrics file and its summary), the findings and
// the metrics are those of the last complete scan.
func TestMidTickReportsLastScan(t *testing.T) {
	e := newEnv(t, Config{MetricsFile: filepath.Join(t.TempDir(), "metrics")})
	procfstest.Tree(t, e.proc, 300)
	procfstest.Write(t, e.proc, procfstest.Proc{PID: 4999, PPID: 1, Comm: "jobrunner", StartTime: 7})
	e.zombies(4999, 5000, 150)
	if err := e.w.Tick(); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(e.w.cfg.MetricsFile)
	if err != nil {
		t.Fatal(err)
	}
	// The next scan sees another namespace: the holder is gone.
	e.reap(4999, 151)
	if err := e.w.Begin(); err != nil {
		t.Fatal(err)
	}
	for _, steps := range []int{1, 3, 1} { // into the scan, into the analysis
		for range steps {
			if done, err := e.w.Step(); done || err != nil {
				t.Fatalf("Step: done=%v err=%v before the tick could end", done, err)
			}
		}
		if err := e.w.WriteMetrics(); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(e.w.cfg.MetricsFile)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Fatalf("metrics in the middle of a tick:\n%s\nwant those of the last scan:\n%s", got, want)
		}
		top := e.w.TopZombieParents(nil)
		if len(top) == 0 || top[0].PID != 4999 || top[0].Zombies != 150 {
			t.Errorf("TopZombieParents mid-tick = %+v, want pid 4999 with 150", top)
		}
		if n := e.w.ZombieParentsOver(100); n != 1 {
			t.Errorf("ZombieParentsOver(100) mid-tick = %d, want 1", n)
		}
		if n := e.w.Processes(); n != 300+1+150 {
			t.Errorf("Processes() mid-tick = %d, want %d", n, 300+1+150)
		}
		if h := e.w.Holders(); !strings.Contains(h, "4999:jobrunner:") {
			t.Errorf("Holders() mid-tick = %q, want the job runner", h)
		}
	}
	for {
		if done, err := e.w.Step(); done {
			if err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	if top := e.w.TopZombieParents(nil); len(top) == 0 || top[0].PID == 4999 {
		t.Errorf("TopZombieParents after the tick = %+v, want the job runner gone", top)
	}
}

func TestTickAllocations(t *testing.T) {
	e := newEnv(t, Config{})
	procfstest.Tree(t, e.proc, 300)
	e.file(e.proc, "self/cgroup", "0::/\n")
	e.file(e.proc, "sys/kernel/pid_max", "32768\n")
	e.tick(time.Second)
	allocs := testing.AllocsPerRun(10, func() {
		if err := e.w.Tick(); err != nil {
			t.Fatal(err)
		}
	})
	// Scan, limits and analysis reuse their buffers: a few allocations
	// per tick, none per process.
	if allocs > 30 {
		t.Errorf("Tick over 300 processes: %v allocations, want at most 30", allocs)
	}
}

// BenchmarkTick is one watch tick over synthetic /proc trees of 1,000 and
// 30,000 processes: the scan, the zombie and holder analysis, the limits
// and the warnings, without the metrics file.
func BenchmarkTick(b *testing.B) {
	for _, n := range []int{1000, 30000} {
		proc := b.TempDir()
		procfstest.Tree(b, proc, n)
		w := New(Config{ProcRoot: proc, CgroupRoot: b.TempDir()}, nil)
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := w.Tick(); err != nil {
					b.Fatal(err)
				}
			}
			if len(w.procs) != n {
				b.Fatalf("scanned %d processes, want %d", len(w.procs), n)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/proc")
		})
	}
}

// fields parses the key=value fields of a log line, unquoting quoted
// values.
func fields(t *testing.T, line string) map[string]string {
	t.Helper()
	m, err := logxtest.Fields(line)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
