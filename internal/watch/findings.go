package watch

import (
	"strconv"
	"time"
)

// Findings: read-only accessors over the last scan, for a caller that
// wants the facts rather than the log lines (reaper-init --check). They
// describe the last Scan or Tick that succeeded; before one, Scanned is
// false and they return zeros.

// ZombieParent is a living process holding zombies, as the last scan saw
// it.
type ZombieParent struct {
	PID       int
	Comm      string
	StartTime uint64 // clock ticks after boot: with PID, the process across PID reuse
	Zombies   int
	// Oldest is a lower bound on how long its oldest zombie has been one:
	// how long ago the watcher first saw it. 0 when unknown, as after a
	// single scan.
	Oldest time.Duration
}

// Limit is one limit on the PIDs of the namespace, and its use.
type Limit struct {
	Kind string // "pid_max" or "cgroup"
	Path string // the file the maximum came from
	Used int64  // the namespace's tasks for pid_max, pids.current for a cgroup
	Max  int64
}

// Percent returns the use in whole percent of the limit, rounded down.
func (l Limit) Percent() int64 {
	if l.Max <= 0 {
		return 0
	}
	return l.Used * 100 / l.Max
}

// Over reports whether the use is past pct percent of the limit: the
// condition of the PID-pressure warning.
func (l Limit) Over(pct int) bool { return l.Max > 0 && l.Used*100 > l.Max*int64(pct) }

// Scan runs one complete scan of the PID namespace and keeps its results
// for the accessors below. It is a Tick: the warnings it calls for go to
// Config.Logf, and the metrics file is written when one is configured. A
// Watcher made for one verdict calls it once, with neither.
func (w *Watcher) Scan() error { return w.Tick() }

// AlsoCgroupOf makes the watcher take the pids limits of process pid's
// cgroups (and their ancestors) into account, besides those of its own.
// A process that inspects a namespace from outside its cgroup (nsenter
// does not move it; a probe of a pod whose PID 1 is the pause container
// runs in another container's cgroup) names the namespace's PID 1 here.
// Call it before the first scan.
func (w *Watcher) AlsoCgroupOf(pid int) {
	w.cg.also = w.cfg.ProcRoot + "/" + strconv.Itoa(pid) + "/cgroup"
	w.cg.resolved = false
}

// ZombieThreshold returns the zombie count above which a process is
// warned about (Config.ZombieThreshold after defaults).
func (w *Watcher) ZombieThreshold() int { return w.cfg.ZombieThreshold }

// PIDPressure returns the percentage of the nearest limit above which PID
// use is warned about (Config.PIDPressure after defaults).
func (w *Watcher) PIDPressure() int { return w.cfg.PIDPressure }

// Scanned reports whether the last scan succeeded.
func (w *Watcher) Scanned() bool {
	return w.scanned
}

// Processes returns the processes of the namespace at the last scan,
// zombies included.
func (w *Watcher) Processes() int {
	if !w.scanned {
		return 0
	}
	return len(w.procs)
}

// Tasks returns the PIDs the namespace's processes held at the last
// scan: the threads of the living, one for each zombie.
func (w *Watcher) Tasks() int {
	if !w.scanned {
		return 0
	}
	return w.nTasks
}

// Zombies returns the zombies of the namespace at the last scan.
func (w *Watcher) Zombies() int {
	if !w.scanned {
		return 0
	}
	return w.nZombies
}

// TopZombieParents appends to dst the living processes holding the most
// zombies at the last scan, most first (then lowest PID), at most ten,
// and returns it. The watcher's own process is left out: its zombies are
// about to be reaped.
func (w *Watcher) TopZombieParents(dst []ZombieParent) []ZombieParent {
	if !w.scanned {
		return dst
	}
	for _, i := range w.top {
		p := &w.procs[i]
		dst = append(dst, ZombieParent{PID: p.PID, Comm: p.Comm, StartTime: p.StartTime,
			Zombies: int(w.zombies[i]), Oldest: roundAge(w.oldest[i])})
	}
	return dst
}

// ZombieParentsOver returns how many living processes, the watcher's own
// aside, held more than n zombies at the last scan.
func (w *Watcher) ZombieParentsOver(n int) int {
	if !w.scanned {
		return 0
	}
	over := 0
	for i, z := range w.zombies {
		if int(z) > n && w.procs[i].PID != w.self {
			over++
		}
	}
	return over
}

// Limits appends to dst the limits read at the last scan, kernel.pid_max
// and the nearest cgroup pids.max, each when there is one, and returns
// it.
func (w *Watcher) Limits(dst []Limit) []Limit {
	if !w.scanned {
		return dst
	}
	return append(dst, w.limits...)
}

// NearestLimit returns the limit of the last scan with the highest use in
// proportion, the one the PID-pressure warning compares with. ok is false
// when no limit could be read.
func (w *Watcher) NearestLimit() (l Limit, ok bool) {
	if !w.scanned {
		return Limit{}, false
	}
	n := w.nearest()
	if n == nil {
		return Limit{}, false
	}
	return *n, true
}

// Holders returns the processes holding the most PIDs at the last scan
// (their own threads and their direct children's tasks), formatted as the
// holders= field of the PID-pressure warning: "PID:COMM:TASKS,...", most
// first, at most three.
func (w *Watcher) Holders() string {
	if !w.scanned {
		return ""
	}
	return w.holders()
}
