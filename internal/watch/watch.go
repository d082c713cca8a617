package watch

import (
	"errors"
	"os"
	"slices"
	"sync"
	"sync/atomic"
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

// Stats are the counters the init's main loop updates (atomically) and
// the watcher reads.
type Stats struct {
	Reaped        atomic.Uint64     // every child reaped
	OrphansReaped atomic.Uint64     // reaped children other than the main child
	Forwarded     [65]atomic.Uint64 // signals forwarded, by signal number
	// ChildExit is the main child's exit status (its code, or 128+N when
	// signal N killed it) once known, and -1 before.
	ChildExit atomic.Int64
}

// NewStats returns Stats with ChildExit set to -1 (not known yet).
func NewStats() *Stats {
	s := new(Stats)
	s.ChildExit.Store(-1)
	return s
}

// Config configures a Watcher.
type Config struct {
	// Interval is the time between two scans in Run. With 0 Run only
	// waits for stop, and the metrics file is written by WriteMetrics
	// alone.
	Interval time.Duration
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

// Watcher scans the PID namespace, warns about zombies and PID pressure,
// and writes the metrics file. Its methods are safe for concurrent use.
type Watcher struct {
	cfg   Config
	st    *Stats
	self  int              // the init's own PID: its zombies are about to be reaped
	now   func() time.Time // the clock, replaced by tests
	epoch time.Time        // zero point of the zombie sighting times

	mu sync.Mutex

	// The last scan, and the per-process aggregates derived from it,
	// index for index with procs (sorted by PID).
	scanned  bool
	scanTime time.Duration
	procs    []procfs.Proc
	zombies  []int32         // zombies held by each living process
	held     []int32         // tasks held: own threads plus direct children's
	oldest   []time.Duration // age of each parent's oldest zombie; 0 unknown
	nZombies int
	nTasks   int
	top      []int // indices of the zombie parents with the most zombies, at most maxTop
	limits   []limit
	sighted  map[zombieKey]sighting
	gen      uint32

	cg      cgroupResolver
	zwarn   zombieWarning
	pwarn   pressureWarning
	lastErr string // the last error Run logged, to log each error once
	buf     []byte // the metrics file's contents, reused
	seq     uint64 // temporary file name counter
}

// zombieKey identifies a zombie across PID reuse.
type zombieKey struct {
	pid   int
	start uint64
}

// sighting records when the watcher first saw a zombie, and the scan that
// saw it last.
type sighting struct {
	first time.Duration // since epoch
	gen   uint32
}

// maxTop bounds the zombie parents named in the metrics file.
const maxTop = 10

// New returns a Watcher for cfg that reads and updates st. It does no
// I/O: the first scan is the first Tick.
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
		cfg:     cfg,
		st:      st,
		self:    os.Getpid(),
		now:     time.Now,
		sighted: make(map[zombieKey]sighting),
	}
	w.epoch = w.now()
	w.cg.procRoot, w.cg.cgroupRoot = cfg.ProcRoot, cfg.CgroupRoot
	return w
}

// Run calls Tick once per Interval until stop is closed. It uses one
// ticker and nothing else, so an idle init wakes up once per Interval;
// with an Interval of 0 it only waits for stop. An error is logged once,
// and again only when it changes or after a tick without error.
func (w *Watcher) Run(stop <-chan struct{}) {
	if w.cfg.Interval <= 0 {
		<-stop
		return
	}
	t := time.NewTicker(w.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		err := w.Tick()
		w.mu.Lock()
		switch {
		case err == nil:
			w.lastErr = ""
		case err.Error() != w.lastErr:
			w.lastErr = err.Error()
			w.logf("warning: watch: " + w.lastErr)
		}
		w.mu.Unlock()
	}
}

// Tick scans the PID namespace once, logs the warnings the result calls
// for, and writes the metrics file when one is configured.
func (w *Watcher) Tick() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.now()
	err := w.scan()
	if err == nil {
		w.scanTime = w.now().Sub(now)
		w.scanned = true
		w.analyze(now)
		w.limits = w.readLimits(w.limits[:0])
		w.warnZombies(now)
		w.warnPressure()
	} else {
		w.scanned = false
	}
	if w.cfg.MetricsFile != "" {
		err = errors.Join(err, w.writeMetrics())
	}
	return err
}

// WriteMetrics writes the metrics file, when one is configured, from the
// counters in Stats and the last scan. It does not scan: without a Tick
// before it the file holds the counters alone. Call it at exit; it is
// safe to call after Run returned, or while it runs.
func (w *Watcher) WriteMetrics() error {
	if w.cfg.MetricsFile == "" {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.writeMetrics()
}

func (w *Watcher) logf(line string) {
	if w.cfg.Logf != nil {
		w.cfg.Logf(line)
	}
}

// scan reads every process of the namespace into w.procs, sorted by PID.
func (w *Watcher) scan() error {
	w.procs = w.procs[:0]
	err := procfs.Scan(w.cfg.ProcRoot, func(p *procfs.Proc) { w.procs = append(w.procs, *p) })
	if err != nil {
		return err
	}
	// /proc lists processes in PID order; sort only if it did not.
	byPID := func(a, b procfs.Proc) int { return a.PID - b.PID }
	if !slices.IsSortedFunc(w.procs, byPID) {
		slices.SortFunc(w.procs, byPID)
	}
	return nil
}

// index returns the index of pid in w.procs, or -1.
func (w *Watcher) index(pid int) int {
	i, ok := slices.BinarySearchFunc(w.procs, pid, func(p procfs.Proc, pid int) int { return p.PID - pid })
	if !ok {
		return -1
	}
	return i
}

// analyze derives from w.procs the zombie counts of every living parent,
// the tasks each process holds, the ages of the zombies, and the top
// zombie parents.
func (w *Watcher) analyze(now time.Time) {
	n := len(w.procs)
	w.zombies = resize(w.zombies, n)
	w.held = resize(w.held, n)
	w.oldest = resize(w.oldest, n)
	w.nZombies, w.nTasks = 0, 0
	w.gen++
	at := now.Sub(w.epoch)
	for i := range w.procs {
		p := &w.procs[i]
		tasks := p.Threads
		if p.Zombie() || tasks < 1 {
			tasks = 1
		}
		w.nTasks += tasks
		w.held[i] += int32(tasks)
		if p.Zombie() {
			w.nZombies++
		}
		j := w.index(p.PPID)
		if j < 0 || j == i {
			continue
		}
		w.held[j] += int32(tasks)
		if !p.Zombie() || !w.procs[j].Living() {
			continue
		}
		w.zombies[j]++
		k := zombieKey{p.PID, p.StartTime}
		s, seen := w.sighted[k]
		if !seen {
			s.first = at
		}
		s.gen = w.gen
		w.sighted[k] = s
		// A zombie first seen now has an unknown age; one seen before
		// has been a zombie at least since then.
		if age := at - s.first; seen && age > w.oldest[j] {
			w.oldest[j] = age
		}
	}
	for k, s := range w.sighted {
		if s.gen != w.gen {
			delete(w.sighted, k)
		}
	}
	// The top zombie parents, most zombies first, then lowest PID.
	w.top = w.top[:0]
	for i, z := range w.zombies {
		if z == 0 || w.procs[i].PID == w.self {
			continue
		}
		pos := len(w.top)
		for pos > 0 && w.zombies[w.top[pos-1]] < z {
			pos--
		}
		if pos < maxTop {
			w.top = slices.Insert(w.top, pos, i)
			if len(w.top) > maxTop {
				w.top = w.top[:maxTop]
			}
		}
	}
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
