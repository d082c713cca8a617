package watch

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/reaper-init/reaper-init/integration/internal/testenv"
)

// parseMetrics parses a metrics file with the Prometheus text parser.
func parseMetrics(t *testing.T, b []byte) map[string]*dto.MetricFamily {
	t.Helper()
	var parser expfmt.TextParser
	mf, err := parser.TextToMetricFamilies(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("the metrics file is not valid Prometheus text: %v\n%s", err, b)
	}
	return mf
}

// value returns the value of the sample of family name whose labels
// include the given ones (name, value pairs), and whether there is one.
func value(mf map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	f := mf[name]
	if f == nil {
		return 0, false
	}
	for _, m := range f.GetMetric() {
		match := true
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, lp := range m.GetLabel() {
				if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
					found = true
				}
			}
			match = match && found
		}
		if !match {
			continue
		}
		switch f.GetType() {
		case dto.MetricType_COUNTER:
			return m.GetCounter().GetValue(), true
		case dto.MetricType_GAUGE:
			return m.GetGauge().GetValue(), true
		}
		return m.GetUntyped().GetValue(), true
	}
	return 0, false
}

// expect checks one sample's value and, when typ is not nil, its
// family's type.
func expect(t *testing.T, mf map[string]*dto.MetricFamily, typ dto.MetricType, want float64, name string, labels ...string) {
	t.Helper()
	got, ok := value(mf, name, labels...)
	switch {
	case !ok:
		t.Errorf("no %s%v in the metrics file", name, labels)
	case got != want:
		t.Errorf("%s%v = %v, want %v", name, labels, got, want)
	case mf[name].GetType() != typ:
		t.Errorf("%s has type %v, want %v", name, mf[name].GetType(), typ)
	}
}

// nextVersion waits until the file at path is a different file (another
// inode: the writer replaces it by rename) than the one prev describes,
// and returns its contents and identity. prev may be nil.
func nextVersion(t *testing.T, path string, prev os.FileInfo, timeout time.Duration) ([]byte, os.FileInfo) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if f, err := os.Open(path); err == nil {
			fi, err := f.Stat()
			if err == nil && (prev == nil || !os.SameFile(fi, prev)) {
				b, err := os.ReadFile(path) // the same file unless replaced again
				f.Close()
				if err == nil {
					if again, err := os.Stat(path); err == nil && os.SameFile(fi, again) {
						return b, fi
					}
				}
			} else {
				f.Close()
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s was not replaced within %v", path, timeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestMetricsFile: the metrics file parses as Prometheus text, its gauges
// agree with /proc while a parent holds 300 zombies, and the file written
// at exit holds the child's exit code, the forwarded signal and the
// reaped orphans.
func TestMetricsFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "reaper.prom")
	p := startInit(t, "--watch", interval.String(), "--metrics-file", path, "--",
		testenv.Helper(t), "watch_zombieparent", strconv.Itoa(zombieCount))
	ready := p.ready()
	pid := ready["pid"]

	// The second file written after the ready line comes from a scan that
	// began after it: the workload is settled by then.
	_, fi := nextVersion(t, path, nil, 2*interval+slack)
	_, fi = nextVersion(t, path, fi, 2*interval+slack)
	b, _ := nextVersion(t, path, fi, 2*interval+slack)
	mf := parseMetrics(t, b)

	desc := testenv.Descendants(p.pid)
	zombies := testenv.Zombies(p.pid)
	if zombies != zombieCount {
		t.Fatalf("/proc shows %d zombies below reaper-init, want %d", zombies, zombieCount)
	}
	expect(t, mf, dto.MetricType_GAUGE, float64(zombies), "reaper_init_zombies")
	expect(t, mf, dto.MetricType_GAUGE, float64(len(desc)+1), "reaper_init_processes")
	expect(t, mf, dto.MetricType_GAUGE, float64(zombieCount), "reaper_init_zombie_parents", "pid", pid, "comm", zombieComm)
	expect(t, mf, dto.MetricType_COUNTER, 0, "reaper_init_reaped_total")
	expect(t, mf, dto.MetricType_COUNTER, 0, "reaper_init_orphans_reaped_total")
	if _, ok := value(mf, "reaper_init_child_exit_code"); ok {
		t.Errorf("reaper_init_child_exit_code present while the child runs:\n%s", b)
	}
	if pidMax := atoi(t, "ready pid_max", ready["pid_max"]); pidMax > 0 {
		expect(t, mf, dto.MetricType_GAUGE, float64(pidMax), "reaper_init_pids_limit", "limit", "pid_max")
	} else {
		t.Logf("not checking pid_max: the workload could not read it")
	}
	// Tasks: the zombies, plus every thread of the living processes.
	tasks := 0
	for _, s := range append(desc, testenv.Stat{PID: p.pid}) {
		if s.State == 'Z' {
			tasks++
			continue
		}
		ts, _ := filepath.Glob("/proc/" + strconv.Itoa(s.PID) + "/task/*")
		tasks += len(ts)
	}
	if used, ok := value(mf, "reaper_init_pids_used", "limit", "pid_max"); !ok || used < float64(len(desc)+1) || used > float64(tasks+10) {
		t.Errorf("reaper_init_pids_used{limit=pid_max} = %v (present %v), want between %d processes and about %d tasks", used, ok, len(desc)+1, tasks)
	}

	// SIGTERM: forwarded to the parent, which dies of it; its zombies
	// pass to reaper-init, which reaps them and writes the file at exit.
	if err := syscall.Kill(p.pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.exit(); code != 128+int(syscall.SIGTERM) {
		t.Errorf("exit code %d, want %d\nstderr:\n%s", code, 128+int(syscall.SIGTERM), p.stderr)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	mf = parseMetrics(t, b)
	expect(t, mf, dto.MetricType_GAUGE, 143, "reaper_init_child_exit_code")
	expect(t, mf, dto.MetricType_COUNTER, 1, "reaper_init_signals_forwarded_total", "signal", "SIGTERM")
	expect(t, mf, dto.MetricType_COUNTER, zombieCount+1, "reaper_init_reaped_total")
	expect(t, mf, dto.MetricType_COUNTER, zombieCount, "reaper_init_orphans_reaped_total")
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("the metrics directory holds %q, want the metrics file alone", names)
	}
}

// TestMetricsFileWatchOff: with --watch 0 the file is written at exit
// only, with the counters and the exit code.
func TestMetricsFileWatchOff(t *testing.T) {
	path := filepath.Join(t.TempDir(), "reaper.prom")
	p := startInit(t, "--watch", "0", "--metrics-file", path, "--", testenv.Helper(t), "exit", "3")
	if code := p.exit(); code != 3 {
		t.Errorf("exit code %d, want 3\nstderr:\n%s", code, p.stderr)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("no metrics file at exit: %v", err)
	}
	mf := parseMetrics(t, b)
	expect(t, mf, dto.MetricType_GAUGE, 3, "reaper_init_child_exit_code")
	expect(t, mf, dto.MetricType_COUNTER, 1, "reaper_init_reaped_total")
	expect(t, mf, dto.MetricType_COUNTER, 0, "reaper_init_orphans_reaped_total")
}

// TestMetricsFileSymlink: a symlink at the metrics path is replaced, not
// followed.
func TestMetricsFileSymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "precious")
	if err := os.WriteFile(target, []byte("keep me\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "reaper.prom")
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
	p := startInit(t, "--watch", "0", "--metrics-file", path, "--", testenv.Helper(t), "exit", "0")
	if code := p.exit(); code != 0 {
		t.Fatalf("exit code %d, want 0\nstderr:\n%s", code, p.stderr)
	}
	if b, _ := os.ReadFile(target); string(b) != "keep me\n" {
		t.Errorf("the symlink's target now holds %q", b)
	}
	fi, err := os.Lstat(path)
	if err != nil || !fi.Mode().IsRegular() {
		t.Fatalf("the metrics path is %v (%v), want a regular file", fi.Mode(), err)
	}
	b, _ := os.ReadFile(path)
	expect(t, parseMetrics(t, b), dto.MetricType_GAUGE, 0, "reaper_init_child_exit_code")
}
