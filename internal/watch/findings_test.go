package watch

import (
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/reaper-init/reaper-init/internal/procfs/procfstest"
)

// TestPressureThreshold: Config.PIDPressure moves the warning, and its
// clearing 5 points under it (a quarter of it under 20%).
func TestPressureThreshold(t *testing.T) {
	e := newEnv(t, Config{PIDPressure: 50})
	e.file(e.proc, "self/cgroup", "0::/c\n")
	e.file(e.cgroup, "c/pids.max", "100\n")
	set := func(n string) { e.file(e.cgroup, "c/pids.current", n+"\n") }

	set("50")
	expectNone(t, e.tick(time.Second))
	set("51")
	expectLine(t, e.tick(time.Second), "warning: PID use near its limit ", map[string]string{"used": "51", "percent": "51"})
	set("45")
	expectNone(t, e.tick(time.Second))
	set("44")
	expectLine(t, e.tick(time.Second), "PID use back under its limit ", map[string]string{"used": "44"})

	for _, tt := range []struct{ warn, clear int64 }{{80, 75}, {100, 95}, {20, 15}, {12, 9}, {4, 3}, {1, 1}} {
		if got := pressureClearPct(tt.warn); got != tt.clear {
			t.Errorf("pressureClearPct(%d) = %d, want %d", tt.warn, got, tt.clear)
		}
	}
	for _, tt := range []struct{ in, want int }{{0, 80}, {-3, 80}, {1, 1}, {100, 100}, {150, 100}} {
		if got := New(Config{PIDPressure: tt.in}, nil).PIDPressure(); got != tt.want {
			t.Errorf("New(PIDPressure %d).PIDPressure() = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestFindings(t *testing.T) {
	e := newEnv(t, Config{ZombieThreshold: 3, PIDPressure: 90})
	w := e.w
	if w.Scanned() || w.Processes() != 0 || len(w.TopZombieParents(nil)) != 0 || w.Holders() != "" {
		t.Fatal("findings before the first scan")
	}
	if _, ok := w.NearestLimit(); ok {
		t.Fatal("a nearest limit before the first scan")
	}
	e.file(e.proc, "sys/kernel/pid_max", "1000\n")
	procfstest.Write(t, e.proc,
		procfstest.Proc{PID: 7, PPID: 1, Comm: "job runner", StartTime: 7, Threads: 3},
		procfstest.Proc{PID: 8, PPID: 1, Comm: "other", StartTime: 8})
	e.zombies(7, 100, 5)
	e.zombies(8, 200, 4)
	e.zombies(1, 300, 50) // the watcher's own: not named
	if err := w.Scan(); err != nil {
		t.Fatal(err)
	}
	if !w.Scanned() || w.Processes() != 62 || w.Zombies() != 59 || w.Tasks() != 67 {
		t.Errorf("scanned %v, processes %d, zombies %d, tasks %d; want true, 62, 59, 67",
			w.Scanned(), w.Processes(), w.Zombies(), w.Tasks())
	}
	want := []ZombieParent{
		{PID: 7, Comm: "job runner", StartTime: 7, Zombies: 5},
		{PID: 8, Comm: "other", StartTime: 8, Zombies: 4},
	}
	if got := w.TopZombieParents(nil); !reflect.DeepEqual(got, want) {
		t.Errorf("TopZombieParents = %+v, want %+v", got, want)
	}
	if n := w.ZombieParentsOver(3); n != 2 {
		t.Errorf("ZombieParentsOver(3) = %d, want 2", n)
	}
	if n := w.ZombieParentsOver(4); n != 1 {
		t.Errorf("ZombieParentsOver(4) = %d, want 1", n)
	}
	l, ok := w.NearestLimit()
	if want := (Limit{Kind: "pid_max", Path: filepath.Join(e.proc, "sys/kernel/pid_max"), Used: 67, Max: 1000}); !ok || l != want {
		t.Errorf("NearestLimit = %+v, %v; want %+v", l, ok, want)
	}
	if l.Percent() != 6 || l.Over(7) || !l.Over(6) {
		t.Errorf("%+v: Percent %d, Over(7) %v, Over(6) %v; want 6, false, true", l, l.Percent(), l.Over(7), l.Over(6))
	}
	if h := w.Holders(); h != "7:job runner:8,8:other:5" {
		t.Errorf("Holders = %q", h)
	}
	if w.ZombieThreshold() != 3 || w.PIDPressure() != 90 {
		t.Errorf("thresholds %d, %d; want 3, 90", w.ZombieThreshold(), w.PIDPressure())
	}

	// A second scan a second later knows the zombies' age.
	e.clock = e.clock.Add(1500 * time.Millisecond)
	if err := w.Scan(); err != nil {
		t.Fatal(err)
	}
	if top := w.TopZombieParents(nil); len(top) == 0 || top[0].Oldest != 1500*time.Millisecond {
		t.Errorf("after 1.5s: TopZombieParents = %+v, want the oldest zombie 1.5s old", top)
	}
}

// TestAlsoCgroupOf: the limits of another process's cgroup count too, and
// the nearest of all is the one reported.
func TestAlsoCgroupOf(t *testing.T) {
	e := newEnv(t, Config{})
	e.file(e.proc, "self/cgroup", "0::/mine\n8:pids:/mine\n")
	e.file(e.proc, "1/cgroup", "0::/box\n8:pids:/box\n")
	e.file(e.cgroup, "mine/pids.max", "1000\n")
	e.file(e.cgroup, "mine/pids.current", "10\n")
	e.file(e.cgroup, "pids/box/pids.max", "100\n")
	e.file(e.cgroup, "pids/box/pids.current", "95\n")
	if err := e.w.Scan(); err != nil {
		t.Fatal(err)
	}
	if l, _ := e.w.NearestLimit(); l.Path != filepath.Join(e.cgroup, "mine/pids.max") {
		t.Errorf("without AlsoCgroupOf: nearest limit %+v, want mine/pids.max", l)
	}
	e.w.AlsoCgroupOf(1)
	if err := e.w.Scan(); err != nil {
		t.Fatal(err)
	}
	want := Limit{Kind: "cgroup", Path: filepath.Join(e.cgroup, "pids/box/pids.max"), Used: 95, Max: 100}
	if l, ok := e.w.NearestLimit(); !ok || l != want {
		t.Errorf("with AlsoCgroupOf(1): nearest limit %+v, want %+v", l, want)
	}
}
