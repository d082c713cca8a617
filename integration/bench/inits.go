package main

import (
	"bufio"
	"bytes"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// installHint is the command that installs the peers this program compares
// against (and hyperfine, to cross-check a start-up row by hand).
const installHint = "apt-get install tini dumb-init catatonit hyperfine"

// The names of the rows that the targets refer to.
const (
	rowTiniStatic  = "tini-static"
	rowRefinit     = "refinit"
	rowReaper      = "reaper-init"
	rowReaperWatch = "reaper-init (default watch)"
)

// row is one init under test, run as `path args... COMMAND`.
type row struct {
	name     string
	path     string   // resolved binary
	args     []string // options that come before the command
	idleOnly bool     // measured in the idle test only
	silent   bool     // forwards no signals: left out of the signal test
	size     int64    // binary size on disk
	stripped bool     // the binary has no symbol table

	logPath string   // the init's standard error, all runs appended
	logFile *os.File // open for the spawned processes
}

// argv returns the command line that runs cmd under the row's init.
func (r *row) argv(cmd ...string) []string {
	a := append([]string{r.path}, r.args...)
	return append(a, cmd...)
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

// setupRows resolves every row's binary and builds refinit. It leaves out
// the peers that are not installed, and reaper-init when no -init was
// given and there is none in $PATH; any other missing binary is an error.
func (b *bench) setupRows() error {
	type spec struct {
		name, bin string
		args      []string
		idleOnly  bool
		silent    bool
		peer      bool
	}
	reaper := b.cfg.initPath
	if reaper == "" {
		reaper = "reaper-init"
	}
	only := map[string]bool{}
	for _, n := range strings.Split(b.cfg.only, ",") {
		if n = strings.TrimSpace(n); n != "" {
			only[n] = true
		}
	}
	refinit := b.cfg.refinitPath
	if refinit == "" && (len(only) == 0 || only[rowRefinit]) {
		p, err := b.buildRefinit()
		if err != nil {
			return err
		}
		refinit = p
	}
	specs := []spec{
		{name: rowTiniStatic, bin: "tini-static", args: []string{"--"}, peer: true},
		{name: "tini", bin: "tini", args: []string{"--"}, peer: true},
		{name: "dumb-init", bin: "dumb-init", peer: true},
		{name: "catatonit", bin: "catatonit", args: []string{"--"}, peer: true},
		{name: rowRefinit, bin: refinit, args: []string{"--"}, silent: true},
		{name: rowReaper, bin: reaper, args: []string{"--watch", "0", "--"}},
		{name: rowReaperWatch, bin: reaper, args: []string{"--"}, idleOnly: true},
	}
	known := map[string]bool{}
	for _, s := range specs {
		known[s.name] = true
	}
	for n := range only {
		if !known[n] {
			return fmt.Errorf("-only: unknown row %q", n)
		}
	}
	for _, s := range specs {
		if len(only) > 0 && !only[s.name] {
			continue
		}
		path, err := exec.LookPath(s.bin)
		if err != nil {
			if s.peer {
				b.missing = append(b.missing, s.name)
				continue
			}
			if s.bin == "reaper-init" {
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
		r := &row{name: s.name, path: path, args: s.args, idleOnly: s.idleOnly, silent: s.silent,
			size: st.Size(), stripped: isStripped(resolved)}
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
		b.logf("row %-28s %s", r.name, strings.Join(r.argv("CMD"), " "))
	}
	return nil
}

// rowsFor returns the rows measured by every workload but the idle test.
func (b *bench) rowsFor(idle bool) []*row {
	var rs []*row
	for _, r := range b.rows {
		if idle || !r.idleOnly {
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
