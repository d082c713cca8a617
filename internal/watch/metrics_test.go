package watch

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reaper-init/reaper-init/internal/procfs/procfstest"
)

func TestMetrics(t *testing.T) {
	e := newEnv(t, Config{SignalName: func(sig int) string {
		if sig == 15 {
			return "SIGTERM"
		}
		return `odd"\` + "\n"
	}})
	e.w.cfg.MetricsFile = filepath.Join(t.TempDir(), "metrics.prom")
	e.file(e.proc, "sys/kernel/pid_max", "32768\n")
	e.file(e.proc, "self/cgroup", "0::/\n")
	e.file(e.cgroup, "pids.max", "1000\n")
	e.file(e.cgroup, "pids.current", "321\n")
	procfstest.Write(t, e.proc,
		procfstest.Proc{PID: 7, PPID: 1, Comm: "job \"runner\"\\\xff", StartTime: 7},
		procfstest.Proc{PID: 8, PPID: 1, Comm: "b", StartTime: 8, Threads: 3})
	e.zombies(7, 100, 3)
	e.zombies(8, 200, 2)
	e.zombies(1, 300, 4) // the init's own: counted, not named
	e.st.Reaped = 12
	e.st.OrphansReaped = 11
	e.st.Forwarded[15] = 2
	e.st.Forwarded[64] = 1
	e.st.ChildExit = 143
	e.tick(time.Second)
	e.w.scanTime = 1500 * time.Microsecond // fixed for the comparison

	if err := e.w.WriteMetrics(); err != nil {
		t.Fatalf("WriteMetrics: %v", err)
	}
	b, err := os.ReadFile(e.w.cfg.MetricsFile)
	if err != nil {
		t.Fatal(err)
	}
	want := `# HELP reaper_init_reaped_total Processes reaped by reaper-init, the main child included.
# TYPE reaper_init_reaped_total counter
reaper_init_reaped_total 12
# HELP reaper_init_orphans_reaped_total Reaped processes other than the main child.
# TYPE reaper_init_orphans_reaped_total counter
reaper_init_orphans_reaped_total 11
# HELP reaper_init_signals_forwarded_total Signals forwarded to the main child or its process group, by signal.
# TYPE reaper_init_signals_forwarded_total counter
reaper_init_signals_forwarded_total{signal="SIGTERM"} 2
reaper_init_signals_forwarded_total{signal="odd\"\\\n"} 1
# HELP reaper_init_child_exit_code Exit status of the main child: its exit code, or 128+N when signal N killed it.
# TYPE reaper_init_child_exit_code gauge
reaper_init_child_exit_code 143
# HELP reaper_init_processes Processes in the PID namespace at the last scan, zombies included.
# TYPE reaper_init_processes gauge
reaper_init_processes 12
# HELP reaper_init_zombies Zombie processes in the PID namespace at the last scan.
# TYPE reaper_init_zombies gauge
reaper_init_zombies 9
# HELP reaper_init_zombie_parents Zombies held by the living processes holding the most (at most 10), reaper-init aside.
# TYPE reaper_init_zombie_parents gauge
reaper_init_zombie_parents{pid="7",comm="job \"runner\"\\` + "\uFFFD" + `"} 3
reaper_init_zombie_parents{pid="8",comm="b"} 2
# HELP reaper_init_pids_limit Limits on the PIDs of the namespace: kernel.pid_max, and the nearest pids.max of the cgroup.
# TYPE reaper_init_pids_limit gauge
reaper_init_pids_limit{limit="pid_max"} 32768
reaper_init_pids_limit{limit="cgroup"} 1000
# HELP reaper_init_pids_used PIDs in use against each limit: the tasks of the namespace, and pids.current of the cgroup.
# TYPE reaper_init_pids_used gauge
reaper_init_pids_used{limit="pid_max"} 17
reaper_init_pids_used{limit="cgroup"} 321
# HELP reaper_init_scan_duration_seconds How long the last scan of /proc took.
# TYPE reaper_init_scan_duration_seconds gauge
reaper_init_scan_duration_seconds 0.0015
`
	if string(b) != want {
		t.Errorf("metrics file:\n%s\nwant:\n%s", b, want)
	}
}

// TestMetricsBounded: at most maxTop zombie parents, the largest.
func TestMetricsBounded(t *testing.T) {
	e := newEnv(t, Config{})
	for i := range 15 {
		pid := 10 + i
		procfstest.Write(t, e.proc, procfstest.Proc{PID: pid, PPID: 1, Comm: "p", StartTime: uint64(pid)})
		e.zombies(pid, 1000+100*i, i+1)
	}
	e.tick(time.Second)
	m := string(e.w.appendMetrics(nil))
	if n := strings.Count(m, "reaper_init_zombie_parents{"); n != maxTop {
		t.Errorf("%d zombie parents in the metrics, want %d:\n%s", n, maxTop, m)
	}
	for i := 14; i >= 15-maxTop; i-- {
		if !strings.Contains(m, `{pid="`+strconv.Itoa(10+i)+`",comm="p"} `+strconv.Itoa(i+1)+"\n") {
			t.Errorf("parent %d with %d zombies missing:\n%s", 10+i, i+1, m)
		}
	}
}

// TestMetricsWithoutScan: before any scan, and with no child exit yet,
// only the counters are written.
func TestMetricsWithoutScan(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.prom")
	st := NewStats()
	w := New(Config{MetricsFile: path, ProcRoot: "/nonexistent"}, st)
	if err := w.WriteMetrics(); err != nil {
		t.Fatalf("WriteMetrics: %v", err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, absent := range []string{"reaper_init_child_exit_code", "reaper_init_processes", "reaper_init_zombies", "reaper_init_signals_forwarded", "reaper_init_pids_limit"} {
		if strings.Contains(string(b), absent) {
			t.Errorf("metrics without a scan or an exit hold %q:\n%s", absent, b)
		}
	}
	if !strings.Contains(string(b), "\nreaper_init_reaped_total 0\n") {
		t.Errorf("metrics lack the reaped counter:\n%s", b)
	}
	st.ChildExit = 0
	if err := w.WriteMetrics(); err != nil {
		t.Fatalf("WriteMetrics: %v", err)
	}
	if b, _ := os.ReadFile(path); !strings.Contains(string(b), "\nreaper_init_child_exit_code 0\n") {
		t.Errorf("metrics lack the exit code 0:\n%s", b)
	}
	if err := New(Config{}, nil).WriteMetrics(); err != nil {
		t.Errorf("WriteMetrics with no metrics file: %v", err)
	}
}

// TestMetricsFileReplace: the file is replaced by rename, never written
// in place, never through a symlink, with mode 0644 whatever the umask,
// and no temporary file is left behind.
func TestMetricsFileReplace(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	if err := os.WriteFile(target, []byte("precious\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "metrics.prom")
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	w := New(Config{MetricsFile: path}, nil)
	for range 3 {
		if err := w.WriteMetrics(); err != nil {
			t.Fatalf("WriteMetrics: %v", err)
		}
	}
	if b, _ := os.ReadFile(target); string(b) != "precious\n" {
		t.Errorf("the symlink's target was changed to %q", b)
	}
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o644 {
		t.Errorf("metrics file mode %v, want a regular file with mode 0644", fi.Mode())
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("directory holds %q, want the target and the metrics file alone", names)
	}
	// Each write is a new file: a reader holding the old one keeps it whole.
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	before, _ := f.Stat()
	if err := w.WriteMetrics(); err != nil {
		t.Fatal(err)
	}
	after, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if os.SameFile(before, after) {
		t.Error("the metrics file was rewritten in place, not replaced")
	}
}

func TestMetricsFileErrors(t *testing.T) {
	dir := t.TempDir()
	for _, path := range []string{
		filepath.Join(dir, "missing", "m.prom"), // no such directory
		dir,                                     // a directory
	} {
		w := New(Config{MetricsFile: path}, nil)
		err := w.WriteMetrics()
		if err == nil || !strings.Contains(err.Error(), dir) {
			t.Errorf("WriteMetrics(%s): %v, want an error naming the path", path, err)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Errorf("failed writes left %d files behind", len(entries))
	}
}
