// Command bench measures reaper-init side by side with the other container
// inits installed on the machine (tini, tini-static, dumb-init, catatonit)
// and with refinit, the smallest static Go init (./refinit). Every init
// runs as PID 1 of a fresh PID namespace, through the same workloads, the
// inits taking turns run by run so that drift in the machine's speed hits
// all of them alike:
//
//  1. Start-up overhead: wall time of `INIT -- /bin/true` minus that of a
//     bare /bin/true started as PID 1 the same way.
//  2. Reap throughput: a process makes orphans as fast as it can (double
//     fork, the middle process exits at once); orphans reaped per second
//     from the first fork until /proc shows none left unreaped, and the
//     peak number of unreaped orphans seen.
//  3. Signal-forward latency: SIGUSR1 sent to the init one at a time; the
//     child reads CLOCK_MONOTONIC when it receives the signal and
//     acknowledges through a FIFO.
//  4. Idle cost: resident, private and proportional memory, threads, CPU
//     time and context switches of the init over a window in which its
//     child sleeps; also reaper-init with its watch on, with GOMAXPROCS=64
//     (a big node) and with hostile Go runtime settings.
//  5. Binary size on disk.
//  6. Signal-forward latency among a crowd: the signal test again while
//     30,000 sleeping processes fill the PID namespace, with reaper-init's
//     watch scanning them every second, and with it off.
//  7. The health probe, reaper-init --check, in namespaces of 300 and
//     30,000 processes (check.go).
//
// The result is a Markdown report on standard output; progress goes to
// standard error. The program installs nothing: inits that are missing are
// left out, with the command that installs them.
//
// Usage (as root, or where user namespaces are allowed):
//
//	cd integration && go run ./bench -init ../bin/reaper-init [-quick] [-only NAMES]
//
// The program also runs its own workloads: it re-executes itself with the
// subcommands pid1, orphans, crowd, sigack and sigack-wait (see workloads).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// config holds the sizes of the workloads.
type config struct {
	initPath     string        // reaper-init binary
	refinitPath  string        // prebuilt refinit, or "" to build it
	only         string        // comma-separated row and workload names, or "" for all
	startupRuns  int           // start-ups per row
	reapRuns     int           // orphan-factory runs per row
	orphans      int           // orphans per reap run
	signals      int           // signals per row, in total
	signalRounds int           // fresh inits per row the signals are spread over
	idleWindow   time.Duration // idle measuring window
	idleSettle   time.Duration // wait before the idle window opens
	idleRuns     int           // instances per row measured at once
	crowd        int           // sleeping processes in the crowd test
	crowdWindow  time.Duration // signalling time per crowd instance
	crowdRounds  int           // fresh crowds per row
	quick        bool

	check checkConfig // the health-probe workload (check.go)
}

func main() {
	if len(os.Args) > 1 {
		if w, ok := workloads[os.Args[1]]; ok {
			os.Exit(w(os.Args[2:]))
		}
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is the benchmark proper. It returns the process's exit code: 0 when
// the report was written, 1 when the benchmark could not run at all, 2 on
// a usage error.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c config
	fs.StringVar(&c.initPath, "init", "", "`path` of the reaper-init binary (default: reaper-init in $PATH)")
	fs.StringVar(&c.refinitPath, "refinit", "", "`path` of a prebuilt refinit (default: build ./bench/refinit)")
	fs.StringVar(&c.only, "only", "", "comma-separated `names` of the rows and workloads ("+joinWorkloads(allWorkloads)+") to run (default: all)")
	fs.BoolVar(&c.quick, "quick", false, "smoke mode: a few runs of each workload, for tests")
	fs.IntVar(&c.startupRuns, "startup-runs", 300, "start-ups per init")
	fs.IntVar(&c.reapRuns, "reap-runs", 5, "orphan-factory runs per init")
	fs.IntVar(&c.orphans, "orphans", 20000, "orphans per reap run")
	fs.IntVar(&c.signals, "signals", 5000, "signals sent to each init")
	fs.IntVar(&c.signalRounds, "signal-rounds", 5, "fresh init instances the signals of one init are spread over")
	fs.DurationVar(&c.idleWindow, "idle", 10*time.Second, "idle measuring window")
	fs.DurationVar(&c.idleSettle, "idle-settle", 2*time.Second, "wait after start before the idle window opens")
	fs.IntVar(&c.idleRuns, "idle-runs", 3, "instances of each init measured at once in the idle test")
	fs.IntVar(&c.crowd, "crowd", 30000, "sleeping processes in the PID namespace in the crowd test")
	fs.DurationVar(&c.crowdWindow, "crowd-window", 10*time.Second, "time spent signalling each crowd instance")
	fs.IntVar(&c.crowdRounds, "crowd-rounds", 2, "fresh crowds per init in the crowd test")
	c.check.flags(fs) // check.go
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: bench [flags]\n\nRuns each installed init through the same workloads as PID 1 of a fresh PID\nnamespace and prints a Markdown report.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(stderr, "bench: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if c.quick {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		quick := map[string]func(){
			"startup-runs":  func() { c.startupRuns = 15 },
			"reap-runs":     func() { c.reapRuns = 1 },
			"orphans":       func() { c.orphans = 2000 },
			"signals":       func() { c.signals = 100 },
			"signal-rounds": func() { c.signalRounds = 1 },
			"idle":          func() { c.idleWindow = time.Second },
			"idle-settle":   func() { c.idleSettle = 300 * time.Millisecond },
			"idle-runs":     func() { c.idleRuns = 1 },
			"crowd":         func() { c.crowd = 3000 },
			"crowd-window":  func() { c.crowdWindow = 1500 * time.Millisecond },
			"crowd-rounds":  func() { c.crowdRounds = 1 },
		}
		for name, apply := range quick {
			if !set[name] {
				apply()
			}
		}
		c.check.quick(set) // check.go
	}
	if c.startupRuns < 1 || c.reapRuns < 1 || c.orphans < 1 || c.signals < 1 ||
		c.signalRounds < 1 || c.signalRounds > c.signals || c.idleRuns < 1 || c.idleWindow <= 0 ||
		c.crowd < 1 || c.crowdWindow <= 0 || c.crowdRounds < 1 {
		fmt.Fprintf(stderr, "bench: run counts, the crowd and the windows must be positive, and -signal-rounds at most -signals\n")
		return 2
	}
	if _, err := c.check.parse(); err != nil { // check.go
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 2
	}

	b, err := newBench(c, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 1
	}
	defer b.close()
	// On an interrupt, kill the crowd test's sleepers and remove the
	// scratch directory; the inits still running die with this process
	// (their parent-death signal).
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sigs
		b.stopCrowd()
		b.close()
		fmt.Fprintf(stderr, "bench: %v: stopped\n", s)
		os.Exit(1)
	}()
	b.runAll()
	b.report(stdout)
	return 0
}

// bench is one benchmark run: its configuration, the rows being measured
// and the scratch directory of FIFOs and logs.
type bench struct {
	cfg       config
	log       io.Writer
	dir       string   // scratch directory
	self      string   // this program, re-executed for the workloads
	truePath  string   // /bin/true
	sleep     string   // /bin/sleep
	null      *os.File // /dev/null, the inits' standard input and output
	env       []string // the inits' environment, before a row's own
	rows      []*row
	runs      map[workload]bool // the workloads selected
	missing   []string          // peers not installed
	noReaper  bool              // no -init, and no reaper-init in $PATH
	started   time.Time
	loadStart string // load average when the benchmark started
	closeOnce sync.Once

	crowdMu   sync.Mutex
	crowdKill func() // kills the crowd alive now, or nil

	startup startupResult
	reap    map[*row]*reapResult
	signal  map[*row]*signalResult
	idle    map[*row]*idleResult
	crowd   crowdResult

	check []*checkResult // the health probe (check.go)
}

func newBench(c config, log io.Writer) (*bench, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("locate this program: %w", err)
	}
	dir, err := os.MkdirTemp("", "reaper-bench-")
	if err != nil {
		return nil, err
	}
	b := &bench{cfg: c, log: log, dir: dir, self: self, env: initEnv(), started: time.Now(), loadStart: loadAverage()}
	b.null, err = os.Open(os.DevNull)
	if err == nil {
		b.truePath, err = lookTool("true")
	}
	if err == nil {
		b.sleep, err = lookTool("sleep")
	}
	if err == nil {
		err = b.probeNamespace()
	}
	if err == nil {
		err = b.setupRows()
	}
	if err != nil {
		b.close()
		return nil, err
	}
	return b, nil
}

// close releases the files and removes the scratch directory. It may be
// called more than once.
func (b *bench) close() {
	b.closeOnce.Do(func() {
		if b.null != nil {
			b.null.Close()
		}
		for _, r := range b.rows {
			if r.logFile != nil {
				r.logFile.Close()
			}
		}
		os.RemoveAll(b.dir)
	})
}

// logf prints a progress line on the log writer.
func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.log, "[%6.1fs] %s\n", time.Since(b.started).Seconds(), fmt.Sprintf(format, args...))
}

// runAll runs the selected workloads in turn.
func (b *bench) runAll() {
	if b.runs[wStartup] {
		b.runStartup()
	}
	if b.runs[wReap] {
		b.runReap()
	}
	if b.runs[wSignal] {
		b.runSignal()
	}
	if b.runs[wIdle] {
		b.runIdle()
	}
	if b.runs[wCrowd] {
		b.runCrowd()
	}
	if b.runs[wCheck] {
		b.runCheck() // check.go
	}
}

// lookTool finds a standard tool, preferring /bin so that the path is the
// same one every init is given.
func lookTool(name string) (string, error) {
	for _, p := range []string{"/bin/" + name, "/usr/bin/" + name} {
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return filepath.Clean(p), nil
		}
	}
	return "", fmt.Errorf("%s not found in /bin or /usr/bin", name)
}
