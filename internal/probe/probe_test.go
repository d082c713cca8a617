package probe

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/reaper-init/reaper-init/internal/logx/logxtest"
	"github.com/reaper-init/reaper-init/internal/procfs/procfstest"
)

// tree is a synthetic /proc in which the test process is the probe, and
// a cgroup tree beside it.
type tree struct {
	t            *testing.T
	proc, cgroup string
	self         int
}

func newTree(t *testing.T) *tree {
	t.Helper()
	tr := &tree{t: t, proc: t.TempDir(), cgroup: t.TempDir(), self: os.Getpid()}
	procfstest.Write(t, tr.proc,
		procfstest.Proc{PID: 1, Comm: "app", StartTime: 1},
		procfstest.Proc{PID: tr.self, PPID: 0, Comm: "reaper-init", StartTime: 99, Threads: 3})
	if err := os.Symlink(strconv.Itoa(tr.self), filepath.Join(tr.proc, "self")); err != nil {
		t.Fatal(err)
	}
	tr.file(tr.proc, "sys/kernel/pid_max", "4194304\n")
	return tr
}

func (tr *tree) file(root, name, content string) {
	tr.t.Helper()
	p := filepath.Join(root, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		tr.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		tr.t.Fatal(err)
	}
}

// zombies gives parent n zombie children with PIDs from first on.
func (tr *tree) zombies(parent, first, n int) {
	tr.t.Helper()
	procfstest.Zombies(tr.t, tr.proc, parent, first, n, "convert")
}

// run runs the probe over the tree and returns its exit code, its
// standard output as lines, and its standard error.
func (tr *tree) run(cfg Config) (int, []string, string) {
	tr.t.Helper()
	cfg.ProcRoot, cfg.CgroupRoot = tr.proc, tr.cgroup
	var out, errOut bytes.Buffer
	code := Run(cfg, &out, &errOut)
	s := out.String()
	if s != "" && !strings.HasSuffix(s, "\n") {
		tr.t.Errorf("output %q does not end with a newline", s)
	}
	var lines []string
	if s = strings.TrimSuffix(s, "\n"); s != "" {
		lines = strings.Split(s, "\n")
	}
	return code, lines, errOut.String()
}

// expect checks that line starts with prefix and holds the fields of
// want ("" for a field that must be absent).
func expect(t *testing.T, line, prefix string, want map[string]string) {
	t.Helper()
	if !strings.HasPrefix(line, prefix) {
		t.Errorf("line %q, want it to start with %q", line, prefix)
		return
	}
	got := fields(t, line)
	for k, v := range want {
		if got[k] != v {
			t.Errorf("line %q: %s=%q, want %q", line, k, got[k], v)
		}
	}
}

func TestHealthy(t *testing.T) {
	tr := newTree(t)
	procfstest.Write(t, tr.proc, procfstest.Proc{PID: 7, PPID: 1, Comm: "job runner", StartTime: 7})
	tr.zombies(7, 100, 100) // at the threshold, not over it
	code, lines, errOut := tr.run(Config{})
	if code != ExitHealthy || len(lines) != 1 || errOut != "" {
		t.Fatalf("exit %d, output %q, stderr %q; want 0 and one line", code, lines, errOut)
	}
	expect(t, lines[0], "healthy ", map[string]string{
		"processes": "103", "tasks": "105", "zombies": "100",
		"limit": "pid_max", "used": "105", "max": "4194304", "percent": "0",
		"path": filepath.Join(tr.proc, "sys/kernel/pid_max"),
	})
}

func TestHealthyNoLimit(t *testing.T) {
	tr := newTree(t)
	if err := os.Remove(filepath.Join(tr.proc, "sys/kernel/pid_max")); err != nil {
		t.Fatal(err)
	}
	code, lines, _ := tr.run(Config{})
	if code != ExitHealthy || len(lines) != 1 {
		t.Fatalf("exit %d, output %q; want 0 and one line", code, lines)
	}
	expect(t, lines[0], "healthy ", map[string]string{"processes": "2", "limit": "none", "used": ""})
}

func TestZombieHolder(t *testing.T) {
	tr := newTree(t)
	procfstest.Write(t, tr.proc,
		procfstest.Proc{PID: 7, PPID: 1, Comm: "zombie (farm)", StartTime: 7},
		procfstest.Proc{PID: 8, PPID: 1, Comm: "small", StartTime: 8})
	tr.zombies(7, 1000, 300)
	tr.zombies(8, 2000, 5)
	code, lines, errOut := tr.run(Config{})
	if code != ExitUnhealthy || len(lines) != 1 || errOut != "" {
		t.Fatalf("exit %d, output %q, stderr %q; want 1 and one line", code, lines, errOut)
	}
	expect(t, lines[0], "unhealthy: zombies piling up ", map[string]string{
		"pid": "7", "comm": "zombie (farm)", "zombies": "300", "threshold": "100",
		"oldest": "", "parents": "",
	})
	if !strings.Contains(lines[0], ` comm="zombie (farm)" `) {
		t.Errorf("line %q: the command name is not quoted as the watch quotes it", lines[0])
	}

	// The threshold is the configured one.
	code, lines, _ = tr.run(Config{ZombieThreshold: 300})
	if code != ExitHealthy {
		t.Errorf("threshold 300: exit %d, output %q; want 0", code, lines)
	}
	code, lines, _ = tr.run(Config{ZombieThreshold: 4})
	if code != ExitUnhealthy || len(lines) != 2 {
		t.Fatalf("threshold 4: exit %d, output %q; want 1 and two lines", code, lines)
	}
	expect(t, lines[0], "unhealthy: zombies piling up ", map[string]string{"pid": "7", "zombies": "300", "threshold": "4", "parents": "2"})
	expect(t, lines[1], "unhealthy: zombies piling up ", map[string]string{"pid": "8", "comm": "small", "zombies": "5", "parents": ""})
}

// TestManyHolders: the output stays bounded however many processes hoard
// zombies: ten lines, the first counting them all.
func TestManyHolders(t *testing.T) {
	tr := newTree(t)
	for i := 0; i < 25; i++ {
		pid := 10 + i
		procfstest.Write(t, tr.proc, procfstest.Proc{PID: pid, PPID: 1, Comm: "w" + strconv.Itoa(i), StartTime: uint64(pid)})
		tr.zombies(pid, 1000+i*10, 3+i%5)
	}
	code, lines, _ := tr.run(Config{ZombieThreshold: 2})
	if code != ExitUnhealthy || len(lines) != 10 {
		t.Fatalf("exit %d, %d lines %q; want 1 and ten lines", code, len(lines), lines)
	}
	expect(t, lines[0], "unhealthy: zombies piling up ", map[string]string{"zombies": "7", "parents": "25"})
}

// TestReaperInitZombies: the zombies a reaper-init is about to reap are
// not a finding; the same count held by the application is.
func TestReaperInitZombies(t *testing.T) {
	tr := newTree(t)
	procfstest.Write(t, tr.proc, procfstest.Proc{PID: 1, Comm: "reaper-init", StartTime: 1})
	tr.zombies(1, 1000, 300)
	code, lines, _ := tr.run(Config{})
	if code != ExitHealthy {
		t.Fatalf("exit %d, output %q; want 0 (reaper-init reaps its own)", code, lines)
	}
	expect(t, lines[0], "healthy ", map[string]string{"zombies": "300"})

	procfstest.Write(t, tr.proc, procfstest.Proc{PID: 1, Comm: "server", StartTime: 1})
	code, lines, _ = tr.run(Config{})
	if code != ExitUnhealthy || len(lines) != 1 {
		t.Fatalf("exit %d, output %q; want 1 and one line", code, lines)
	}
	expect(t, lines[0], "unhealthy: zombies piling up ", map[string]string{"pid": "1", "comm": "server", "zombies": "300"})
}

func TestPIDPressure(t *testing.T) {
	for _, tt := range []struct {
		name, cgroupFile, dir string
	}{
		{"v1", "8:pids:/box\n0::/\n", "pids/box"},
		{"v2", "0::/box\n", "box"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTree(t)
			// The namespace's PID 1 is in the limited cgroup; the probe,
			// entered from outside, is not.
			tr.file(tr.proc, "1/cgroup", tt.cgroupFile)
			tr.file(tr.proc, strconv.Itoa(tr.self)+"/cgroup", "8:pids:/\n0::/\n")
			procfstest.Write(t, tr.proc, procfstest.Proc{PID: 7, PPID: 1, Comm: "hold", StartTime: 7, Threads: 2})
			for pid := 100; pid < 180; pid++ {
				procfstest.Write(t, tr.proc, procfstest.Proc{PID: pid, PPID: 7, Comm: "sleep", StartTime: uint64(pid)})
			}
			maxPath := filepath.Join(tr.cgroup, tt.dir, "pids.max")
			tr.file(tr.cgroup, tt.dir+"/pids.max", "100\n")
			tr.file(tr.cgroup, tt.dir+"/pids.current", "85\n")

			code, lines, _ := tr.run(Config{})
			if code != ExitUnhealthy || len(lines) != 1 {
				t.Fatalf("exit %d, output %q; want 1 and one line", code, lines)
			}
			expect(t, lines[0], "unhealthy: PID use near its limit ", map[string]string{
				"limit": "cgroup", "used": "85", "max": "100", "percent": "85", "threshold": "80",
				"processes": "83", "tasks": "86", "holders": "7:hold:82,1:app:3", "path": maxPath,
			})

			code, lines, _ = tr.run(Config{PIDPressure: 85})
			if code != ExitHealthy {
				t.Fatalf("--pid-pressure 85 at 85%%: exit %d, output %q; want 0", code, lines)
			}
			expect(t, lines[0], "healthy ", map[string]string{"limit": "cgroup", "used": "85", "max": "100", "percent": "85", "path": maxPath})
		})
	}
}

func TestPIDMaxPressure(t *testing.T) {
	tr := newTree(t)
	tr.file(tr.proc, "sys/kernel/pid_max", "400\n")
	procfstest.Write(t, tr.proc, procfstest.Proc{PID: 7, PPID: 1, Comm: "java", StartTime: 7, Threads: 330})
	code, lines, _ := tr.run(Config{})
	if code != ExitUnhealthy || len(lines) != 1 {
		t.Fatalf("exit %d, output %q; want 1 and one line", code, lines)
	}
	expect(t, lines[0], "unhealthy: PID use near its limit ", map[string]string{
		"limit": "pid_max", "used": "334", "max": "400", "percent": "83", "holders": "1:app:331,7:java:330",
	})
}

// TestBoth: a zombie finding and a pressure finding are both said, the
// zombies first.
func TestBoth(t *testing.T) {
	tr := newTree(t)
	tr.file(tr.proc, "sys/kernel/pid_max", "350\n")
	procfstest.Write(t, tr.proc, procfstest.Proc{PID: 7, PPID: 1, Comm: "runner", StartTime: 7})
	tr.zombies(7, 1000, 300)
	code, lines, _ := tr.run(Config{})
	if code != ExitUnhealthy || len(lines) != 2 {
		t.Fatalf("exit %d, output %q; want 1 and two lines", code, lines)
	}
	expect(t, lines[0], "unhealthy: zombies piling up ", map[string]string{"pid": "7"})
	expect(t, lines[1], "unhealthy: PID use near its limit ", map[string]string{"limit": "pid_max", "holders": "7:runner:301,1:app:2"})
}

func TestOtherNamespace(t *testing.T) {
	tr := newTree(t)
	self := filepath.Join(tr.proc, "self")
	if err := os.Remove(self); err != nil {
		t.Fatal(err)
	}
	// The proc of a parent namespace: it knows this process by another PID.
	if err := os.Symlink("4242", self); err != nil {
		t.Fatal(err)
	}
	code, lines, errOut := tr.run(Config{})
	if code != ExitError || lines != nil {
		t.Fatalf("exit %d, output %q; want 3 and nothing on stdout", code, lines)
	}
	if !strings.HasPrefix(errOut, "reaper-init: check: ") || !strings.Contains(errOut, "belongs to another PID namespace") ||
		!strings.Contains(errOut, `self is "4242"`) || strings.Count(errOut, "\n") != 1 {
		t.Errorf("stderr %q: want one line saying /proc belongs to another PID namespace", errOut)
	}
}

func TestNoProc(t *testing.T) {
	var out, errOut bytes.Buffer
	code := Run(Config{ProcRoot: filepath.Join(t.TempDir(), "proc")}, &out, &errOut)
	if code != ExitError || out.Len() != 0 {
		t.Fatalf("exit %d, output %q; want 3 and nothing on stdout", code, out.String())
	}
	if !strings.HasPrefix(errOut.String(), "reaper-init: check: readlink ") || strings.Count(errOut.String(), "\n") != 1 {
		t.Errorf("stderr %q: want one line naming the missing /proc", errOut.String())
	}
}

// TestLiveProc runs the probe on this machine's own /proc, which belongs
// to the test's namespace: a verdict, not an error.
func TestLiveProc(t *testing.T) {
	if self, err := os.Readlink("/proc/self"); err != nil || self != strconv.Itoa(os.Getpid()) {
		t.Skipf("skipping: /proc does not show this test's PID namespace (/proc/self: %q, %v)", self, err)
	}
	var out, errOut bytes.Buffer
	code := Run(Config{}, &out, &errOut)
	if code == ExitError || errOut.Len() != 0 || out.Len() == 0 {
		t.Fatalf("exit %d, stdout %q, stderr %q; want a verdict", code, out.String(), errOut.String())
	}
	if f := fields(t, out.String()); code == ExitHealthy && f["processes"] == "" {
		t.Errorf("healthy line %q has no process count", out.String())
	}
}

func BenchmarkRun(b *testing.B) {
	for _, n := range []int{300, 30000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			root := b.TempDir()
			procfstest.Tree(b, root, n)
			procfstest.Write(b, root, procfstest.Proc{PID: os.Getpid(), Comm: "reaper-init"})
			if err := os.Symlink(strconv.Itoa(os.Getpid()), filepath.Join(root, "self")); err != nil {
				b.Fatal(err)
			}
			var out bytes.Buffer
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				out.Reset()
				if code := Run(Config{ProcRoot: root, CgroupRoot: root}, &out, &out); code == ExitError {
					b.Fatalf("exit %d: %s", code, out.String())
				}
			}
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
