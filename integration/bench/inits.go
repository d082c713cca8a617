package main

import (
	"bufio"
	"bytes"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// installHint is the command that installs the peers this program compares
// against (and hyperfine, to cross-check a start-up row by hand).
const installHint = "apt-get install tini dumb-init catatonit hyperfine"

// The names of the rows that the targets refer to.
const (
	rowTiniStatic     = "tini-static"
	rowRefinit        = "refinit"
	rowReaper         = "reaper-init"
	rowReaperWatch    = "reaper-init (default watch)"
	rowReaperWatch1s  = "reaper-init (--watch 1s)"
	rowReaperProcs64  = "reaper-init (GOMAXPROCS=64)"
	rowRefinitProcs64 = "refinit (GOMAXPROCS=64)"
)

// peerNames are the rows of the other inits, the ones reaper-init is
// compared with.
var peerNames = []string{rowTiniStatic, "tini", "dumb-init", "catatonit"}

// workload names one of the measured workloads, as -only takes it.
type workload string

// The workloads, in the order they run.
const (
	wStartup workload = "startup"
	wReap    workload = "reap"
	wSignal  workload = "signal"
	wIdle    workload = "idle"
	wCrowd   workload = "crowd"
	wCheck   workload = "check" // check.go
)

var allWorkloads = []workload{wStartup, wReap, wSignal, wIdle, wCrowd, wCheck}

// idleGroup is the phase of the idle test in which a row is measured.
// The rows of a phase run at once; phases run one after the other, so
// that the rows compared with each other share a window, a settings row
// that wakes often does not disturb the others, and each binary of the
// first phase runs in the same number of instances (the PSS of a file
// page is divided among the processes that map it).
type idleGroup int

const (
	idleMain     idleGroup = iota // one row per init, as it is run by default
	idleVariants                  // reaper-init's watch, a big node
	idleHostile                   // Go runtime settings in the environment
	idleGroups
)

// row is one init under test, run as `path args... COMMAND` with env
// added to the environment.
type row struct {
	name     string
	path     string   // resolved binary
	args     []string // options that come before the command
	env      []string // NAME=value added to the init's environment
	in       []workload
	group    idleGroup     // the idle phase
	watch    time.Duration // reaper-init's watch interval, 0 when off
	peer     bool          // one of the inits reaper-init is compared with
	silent   bool          // forwards no signals: left out of the signal test
	size     int64         // binary size on disk
	stripped bool          // the binary has no symbol table

	logPath string   // the init's standard error, all runs appended
	logFile *os.File // open for the spawned processes
}

// argv returns the command line that runs cmd under the row's init.
func (r *row) argv(cmd ...string) []string {
	a := append([]string{r.path}, r.args...)
	return append(a, cmd...)
}

// measuredBy reports whether workload w measures the row.
func (r *row) measuredBy(w workload) bool {
	return slices.Contains(r.in, w)
}

// lastLog returns the last line the row's init wrote to standard error.
func (r *row) lastLog() string {
	b, err := os.ReadFile(r.logPath)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// failure wraps err with the last line the init logged, if any.
func (r *row) failure(err error) error {
	if l := r.lastLog(); l != "" {
		return fmt.Errorf("%w (stderr: %s)", err, l)
	}
	return err
}

// goRuntimeEnv are the environment variables the Go runtime reads before
// any of a program's own code runs. They are taken out of the environment
// every init is given, so that the rows that set one are the only ones it
// acts on.
var goRuntimeEnv = []string{"GOGC", "GOMEMLIMIT", "GOMAXPROCS", "GODEBUG", "GOTRACEBACK"}

// initEnv returns this program's environment without goRuntimeEnv.
func initEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(goRuntimeEnv, name) {
			env = append(env, kv)
		}
	}
	return env
}

// environ returns the environment of the row's init.
func (b *bench) environ(r *row) []string {
	return append(slices.Clip(b.env), r.env...)
}

// splitNames splits a -only list at the commas outside parentheses (row
// names such as "reaper-init (GODEBUG=gctrace=1,schedtrace=1000)" hold
// commas of their own).
func splitNames(s string) []string {
	var names []string
	depth, start := 0, 0
	add := func(n string) {
		if n = strings.TrimSpace(n); n != "" {
			names = append(names, n)
		}
	}
	for i, c := range s {
		switch {
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case c == ',' && depth == 0:
			add(s[start:i])
			start = i + 1
		}
	}
	add(s[start:])
	return names
}

// setupRows resolves every row's binary and builds refinit. -only may
// name rows, workloads or both: a row is kept when it is named (or no row
// is) and a selected workload measures it. It leaves out the peers that
// are not installed, and reaper-init when no -init was given and there is
// none in $PATH; any other missing binary is an error.
func (b *bench) setupRows() error {
	type spec struct {
		name, bin string
		refinit   bool // bin is refinit
		args      []string
		env       []string
		in        []workload
		group     idleGroup
		watch     time.Duration
		silent    bool
		peer      bool
	}
	reaper := b.cfg.initPath
	if reaper == "" {
		reaper = "reaper-init"
	}
	main := []workload{wStartup, wReap, wSignal, wIdle}
	mainCrowd := []workload{wStartup, wReap, wSignal, wIdle, wCrowd}
	noSignal := []workload{wStartup, wReap, wIdle}
	idle := []workload{wIdle}
	watch0 := []string{"--watch", "0", "--"}
	specs := []spec{
		{name: rowTiniStatic, bin: "tini-static", args: []string{"--"}, in: mainCrowd, peer: true},
		{name: "tini", bin: "tini", args: []string{"--"}, in: main, peer: true},
		{name: "dumb-init", bin: "dumb-init", in: main, peer: true},
		{name: "catatonit", bin: "catatonit", args: []string{"--"}, in: main, peer: true},
		{name: rowRefinit, refinit: true, args: []string{"--"}, in: noSignal, silent: true},
		{name: rowReaper, bin: reaper, args: watch0, in: mainCrowd},
		{name: rowReaperWatch, bin: reaper, args: []string{"--"}, in: idle, group: idleVariants, watch: defaultWatch},
		{name: rowReaperWatch1s, bin: reaper, args: []string{"--watch", "1s", "--"}, in: []workload{wIdle, wCrowd},
			group: idleVariants, watch: time.Second},
		{name: rowReaperProcs64, bin: reaper, args: watch0, env: []string{"GOMAXPROCS=64"}, in: idle, group: idleVariants},
		{name: rowRefinitProcs64, refinit: true, args: []string{"--"}, env: []string{"GOMAXPROCS=64"}, in: idle,
			group: idleVariants, silent: true},
	}
	for _, env := range hostileEnv {
		specs = append(specs, spec{name: "reaper-init (" + env + ")", bin: reaper, args: watch0,
			env: []string{env}, in: idle, group: idleHostile})
	}

	known := map[string]bool{}
	for _, s := range specs {
		known[s.name] = true
	}
	rowNames := map[string]bool{}
	b.runs = map[workload]bool{}
	for _, n := range splitNames(b.cfg.only) {
		switch {
		case slices.Contains(allWorkloads, workload(n)):
			b.runs[workload(n)] = true
		case known[n]:
			rowNames[n] = true
		default:
			return fmt.Errorf("-only: %q is neither a row nor a workload (%s)", n, joinWorkloads(allWorkloads))
		}
	}
	if len(b.runs) == 0 {
		for _, w := range allWorkloads {
			b.runs[w] = true
		}
	}
	wanted := func(s spec) bool {
		if len(rowNames) > 0 && !rowNames[s.name] {
			return false
		}
		for _, w := range s.in {
			if b.runs[w] {
				return true
			}
		}
		return false
	}

	var refinit string
	for _, s := range specs {
		if !wanted(s) {
			continue
		}
		bin := s.bin
		if s.refinit {
			if refinit == "" {
				refinit = b.cfg.refinitPath
			}
			if refinit == "" {
				p, err := b.buildRefinit()
				if err != nil {
					return err
				}
				refinit = p
			}
			bin = refinit
		}
		path, err := exec.LookPath(bin)
		if err != nil {
			if s.peer {
				b.missing = append(b.missing, s.name)
				continue
			}
			if bin == "reaper-init" {
				b.noReaper = true
				continue
			}
			return fmt.Errorf("%s: %w", s.name, err)
		}
		if path, err = filepath.Abs(path); err != nil {
			return err
		}
		resolved, err := filepath.EvalSymlinks(path)
		if err != nil {
			return err
		}
		st, err := os.Stat(resolved)
		if err != nil {
			return err
		}
		r := &row{name: s.name, path: path, args: s.args, env: s.env, in: s.in, group: s.group, watch: s.watch,
			peer: s.peer, silent: s.silent, size: st.Size(), stripped: isStripped(resolved)}
		r.logPath = filepath.Join(b.dir, fmt.Sprintf("row%d.log", len(b.rows)))
		r.logFile, err = os.OpenFile(r.logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		b.rows = append(b.rows, r)
	}
	if len(b.missing) > 0 {
		b.logf("not installed: %s (install with: %s)", strings.Join(b.missing, ", "), installHint)
	}
	if b.noReaper {
		b.logf("reaper-init is not in $PATH: pass -init PATH")
	}
	if len(b.rows) == 0 {
		return fmt.Errorf("no init to measure")
	}
	for _, r := range b.rows {
		env := ""
		if len(r.env) > 0 {
			env = strings.Join(r.env, " ") + " "
		}
		b.logf("row %-28s %s%s", r.name, env, strings.Join(r.argv("CMD"), " "))
	}
	return nil
}

// hostileEnv are the Go runtime settings of the hostile rows, each one a
// setting the runtime acts on before the init's own code runs (it reads
// them while it starts), so that an init written in Go cannot undo it but
// by re-executing itself: a garbage collection at every 1% of heap growth,
// a memory limit of one byte (the collector runs whenever anything is
// allocated, and the scavenger returns memory as fast as it can), and a
// line on standard error at every collection and every second from the
// runtime's monitor thread, which then never sleeps for more than 10 ms.
var hostileEnv = []string{"GOGC=1", "GOMEMLIMIT=1", "GODEBUG=gctrace=1,schedtrace=1000"}

// joinWorkloads returns the names of ws separated by commas.
func joinWorkloads(ws []workload) string {
	s := make([]string, len(ws))
	for i, w := range ws {
		s[i] = string(w)
	}
	return strings.Join(s, ", ")
}

// rowsFor returns the rows that workload w measures.
func (b *bench) rowsFor(w workload) []*row {
	var rs []*row
	for _, r := range b.rows {
		if r.measuredBy(w) {
			rs = append(rs, r)
		}
	}
	return rs
}

// buildRefinit builds ./refinit as a static, stripped binary, the way the
// Makefile builds reaper-init.
func (b *bench) buildRefinit() (string, error) {
	out := filepath.Join(b.dir, "refinit")
	cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w", "-o", out,
		"github.com/reaper-init/reaper-init/integration/bench/refinit")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build refinit (run from the integration module, or pass -refinit): %v: %s",
			err, bytes.TrimSpace(stderr.Bytes()))
	}
	return out, nil
}

// isStripped reports whether the ELF file at path has no symbol table.
func isStripped(path string) bool {
	f, err := elf.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	return f.Section(".symtab") == nil
}

// machine describes the machine for the report's header: the CPU model
// and the kernel release.
func machine() (model, kernel string) {
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			k, v, ok := strings.Cut(sc.Text(), ":")
			k = strings.TrimSpace(k)
			if !ok {
				continue
			}
			if k == "model name" && model == "" {
				model = strings.TrimSpace(v)
			}
		}
		f.Close()
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = strings.TrimSpace(string(b))
	}
	return model, kernel
}
