package watch

import (
	"errors"
	"os"
	"slices"
	"time"

	"github.com/reaper-init/reaper-init/internal/procfs"
)

// Defaults for the zero values of Config.
const (
	DefaultZombieThreshold = 100
	DefaultPIDPressure     = 80 // percent
	DefaultProcRoot        = "/proc"
	DefaultCgroupRoot      = "/sys/fs/cgroup"
)

// Stats are the init's own counters, which the metrics file reports. The
// main loop owns them and the watcher reads them: both run on the loop's
// goroutine, so they are plain fields.
type Stats struct {
	Reaped        uint64     // every child reaped
	OrphansReaped uint64     // reaped children other than the main child
	Forwarded     [65]uint64 // signals forwarded, by signal number
	// ChildExit is the main child's exit status (its code, or 128+N when
	// signal N killed it) once known, and -1 before.
	ChildExit int64
}

// NewStats returns Stats with ChildExit set to -1 (not known yet).
func NewStats() *Stats { return &Stats{ChildExit: -1} }

// Config configures a Watcher.
type Config struct {
	// ZombieThreshold: warn when one living process holds more zombies
	// than this. 0 means DefaultZombieThreshold.
	ZombieThreshold int
	// PIDPressure: warn when PID use passes this percentage of the
	// nearest limit, 1 to 100 (more is taken as 100). 0 means
	// DefaultPIDPressure.
	PIDPressure int
	// MetricsFile is the path of the Prometheus text file; "" for none.
	MetricsFile string
	// ProcRoot is where the PID namespace's proc file system is mounted;
	// "" means DefaultProcRoot.
	ProcRoot string
	// CgroupRoot is where the cgroup file systems are mounted; "" means
	// DefaultCgroupRoot.
	CgroupRoot string
	// Logf logs one line: no prefix, no newline. Warnings start with
	// "warning: "; the line that says a warned-about state has cleared
	// has no severity word. Nil discards the lines.
	Logf func(line string)
	// SignalName names a signal number for the metrics' signal label,
	// e.g. 15 -> "SIGTERM". Nil uses the number.
	SignalName func(sig int) string
}

// Budgets of one Step: processes read from /proc, and processes of the
// table analysed. A stat read costs about 10 µs on a real /proc and an
// analysed process well under one, so that a step stays under a
// millisecond at any namespace size.
const (
	scanPerStep    = 64
	analyzePerStep = 4096
)

// The phases of a tick.
type phase int

const (
	idle      phase = iota // no tick in progress
	scanning               // reading /proc
	analyzing              // counting zombies and holders
)

// Watcher scans the PID namespace, warns about zombies and PID pressure,
// and writes the metrics file. A tick runs in bounded steps (Begin, then
// Step until it reports done) so that the init's main loop can forward a
// signal or reap between two of them; Tick runs one to completion. A
// Watcher is not safe for concurrent use: it belongs to the main loop.
type Watcher struct {
	cfg   Config
	st    *Stats
	self  int              // the init's own PID: its zombies are about to be reaped
	now   func() time.Time // the clock, replaced by tests
	epoch time.Time        // zero point of the zombie sighting times

	phase    phase
	began    time.Time
	scanner  *procfs.Scanner
	appendFn func(*procfs.Proc)
	next     int // next process to analyse

	// The last complete scan, which the warnings, the findings and the
	// metrics file report, and the scan in progress, built apart and
	// swapped in whole when it completes: the metrics file written at
	// exit, or a finding asked for in the middle of a tick, sees the
	// last complete scan, never half of the next one.
	table          // the last complete scan; its fields are promoted
	pending  table // the scan in progress
	scanned  bool  // table holds a complete scan
	scanTime time.Duration
	limits   []Limit
	// Zombie sightings: those of the last complete scan, and those of
	// the scan being analysed. Two maps swapped at each tick, so that
	// forgetting the zombies that are gone costs a clear, not a sweep.
	sighted, sighting map[zombieKey]time.Duration

	cg    cgroupResolver
	zwarn zombieWarning
	pwarn pressureWarning
	// The last warning of each kind ever said, for the termination
	// summary (zero when none was).
	lastZombie   zombieWarning
	lastPressure pressureWarning

	buf  []byte // the metrics file's contents, reused
	mbuf metricsFile
}

// table is one scan of the namespace and the per-process aggregates
// derived from it, index for index with procs (sorted by PID).
type table struct {
	procs    []procfs.Proc
	zombies  []int32         // zombies held by each living process
	held     []int32         // tasks held: own threads plus direct children's
	oldest   []time.Duration // age of each parent's oldest zombie; 0 unknown
	nZombies int
	nTasks   int
	top      []int // indices of the zombie parents with the most zombies, at most maxTop
}

// zombieKey identifies a zombie across PID reuse.
type zombieKey struct {
	pid   int
	start uint64
}

// maxTop bounds the zombie parents named in the metrics file.
const maxTop = 10

// New returns a Watcher for cfg that reads st. It does no I/O: the first
// scan is the first Begin or Tick.
func New(cfg Config, st *Stats) *Watcher {
	if cfg.ZombieThreshold <= 0 {
		cfg.ZombieThreshold = DefaultZombieThreshold
	}
	if cfg.PIDPressure <= 0 {
		cfg.PIDPressure = DefaultPIDPressure
	}
	cfg.PIDPressure = min(cfg.PIDPressure, 100)
	if cfg.ProcRoot == "" {
		cfg.ProcRoot = DefaultProcRoot
	}
	if cfg.CgroupRoot == "" {
		cfg.CgroupRoot = DefaultCgroupRoot
	}
	if st == nil {
		st = NewStats()
	}
	w := &Watcher{
		cfg:      cfg,
		st:       st,
		self:     os.Getpid(),
		now:      time.Now,
		scanner:  procfs.NewScanner(),
		sighted:  make(map[zombieKey]time.Duration),
		sighting: make(map[zombieKey]time.Duration),
	}
	w.appendFn = func(p *procfs.Proc) { w.pending.procs = append(w.pending.procs, *p) }
	w.epoch = w.now()
	w.cg.procRoot, w.cg.cgroupRoot = cfg.ProcRoot, cfg.CgroupRoot
	return w
}

// Ticking reports whether a tick is in progress.
func (w *Watcher) Ticking() bool { return w.phase != idle }

// Begin starts a tick: the scan of /proc. An error (the proc file system
// cannot be read) ends the tick at once; the metrics file is still
// written, without the scan's gauges.
func (w *Watcher) Begin() error {
	w.began = w.now()
	w.pending.procs = w.pending.procs[:0]
	if err := w.scanner.Start(w.cfg.ProcRoot); err != nil {
		w.phase = idle
		w.scanned = false
		return errors.Join(err, w.WriteMetrics())
	}
	w.phase = scanning
	return nil
}

// Step does one bounded part of the tick in progress and reports whether
// the tick is complete. The last step logs the warnings the scan calls
// for and writes the metrics file. An error ends the tick.
func (w *Watcher) Step() (done bool, err error) {
	switch w.phase {
	case scanning:
		done, err := w.scanner.Step(scanPerStep, w.appendFn)
		if err != nil {
			w.phase = idle
			w.scanned = false
			return true, errors.Join(err, w.WriteMetrics())
		}
		if done {
			w.startAnalysis()
		}
		return false, nil
	case analyzing:
		if w.analyze(analyzePerStep) {
			return false, nil
		}
		return true, w.finish()
	}
	return true, nil
}

// Tick runs one whole tick: the scan, the warnings and the metrics file.
func (w *Watcher) Tick() error {
	if err := w.Begin(); err != nil {
		return err
	}
	for {
		done, err := w.Step()
		if done {
			return err
		}
	}
}

// WriteMetrics writes the metrics file, when one is configured, from the
// counters in Stats and the last complete scan. Call it at exit.
func (w *Watcher) WriteMetrics() error {
	if w.cfg.MetricsFile == "" {
		return nil
	}
	return w.writeMetrics()
}

func (w *Watcher) logf(line string) {
	if w.cfg.Logf != nil {
		w.cfg.Logf(line)
	}
}

// startAnalysis prepares the per-process tables for the scan just read.
func (w *Watcher) startAnalysis() {
	t := &w.pending
	// /proc lists processes in PID order; sort only if it did not.
	byPID := func(a, b procfs.Proc) int { return a.PID - b.PID }
	if !slices.IsSortedFunc(t.procs, byPID) {
		slices.SortFunc(t.procs, byPID)
	}
	n := len(t.procs)
	t.zombies = resize(t.zombies, n)
	t.held = resize(t.held, n)
	t.oldest = resize(t.oldest, n)
	t.nZombies, t.nTasks = 0, 0
	clear(w.sighting)
	w.next = 0
	w.phase = analyzing
}

// index returns the index of pid in t.procs, or -1.
func (t *table) index(pid int) int {
	i, ok := slices.BinarySearchFunc(t.procs, pid, func(p procfs.Proc, pid int) int { return p.PID - pid })
	if !ok {
		return -1
	}
	return i
}

// analyze counts, for at most max more processes of the scan in
// progress, the zombies of every living parent, the tasks each process
// holds and the ages of the zombies. It reports whether processes are
// left.
func (w *Watcher) analyze(max int) bool {
	t := &w.pending
	at := w.began.Sub(w.epoch)
	end := min(w.next+max, len(t.procs))
	for i := w.next; i < end; i++ {
		p := &t.procs[i]
		tasks := p.Threads
		if p.Zombie() || tasks < 1 {
			tasks = 1
		}
		t.nTasks += tasks
		t.held[i] += int32(tasks)
		if p.Zombie() {
			t.nZombies++
		}
		j := t.index(p.PPID)
		if j < 0 || j == i {
			continue
		}
		t.held[j] += int32(tasks)
		if !p.Zombie() || !t.procs[j].Living() {
			continue
		}
		t.zombies[j]++
		k := zombieKey{p.PID, p.StartTime}
		first, seen := w.sighted[k]
		if !seen {
			first = at
		}
		w.sighting[k] = first
		// A zombie first seen now has an unknown age; one seen before
		// has been a zombie at least since then.
		if age := at - first; seen && age > t.oldest[j] {
			t.oldest[j] = age
		}
	}
	w.next = end
	return end < len(t.procs)
}

// finish ends a tick: the top zombie parents, the scan made the last
// complete one, the limits, the warnings, the metrics file.
func (w *Watcher) finish() error {
	w.sighted, w.sighting = w.sighting, w.sighted
	t := &w.pending
	// The top zombie parents, most zombies first, then lowest PID.
	t.top = t.top[:0]
	for i, z := range t.zombies {
		if z == 0 || t.procs[i].PID == w.self {
			continue
		}
		pos := len(t.top)
		for pos > 0 && t.zombies[t.top[pos-1]] < z {
			pos--
		}
		if pos < maxTop {
			t.top = slices.Insert(t.top, pos, i)
			if len(t.top) > maxTop {
				t.top = t.top[:maxTop]
			}
		}
	}
	w.table, w.pending = w.pending, w.table
	w.scanTime = w.now().Sub(w.began)
	w.scanned = true
	w.phase = idle
	w.limits = w.readLimits(w.limits[:0])
	w.warnZombies()
	w.warnPressure()
	return w.WriteMetrics()
}

// resize returns s with length n and every element zero, reusing its
// array when it is large enough.
func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	s = s[:n]
	clear(s)
	return s
}
