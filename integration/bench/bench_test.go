package main

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reaper-init/reaper-init/integration/internal/testenv"
)

// TestQuick builds the benchmark, runs it in quick mode against reaper-init
// and whatever peers are installed, and checks that every section of the
// report is there with a measured row for each init, and that every target
// is judged.
func TestQuick(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping: the quick benchmark takes about twenty seconds")
	}
	testenv.RequirePIDNamespace(t)
	initBin := testenv.Init(t)

	bin := filepath.Join(t.TempDir(), "bench")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, "-quick", "-init", initBin)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	err := testenv.WaitTimeout(t, cmd, 5*time.Minute)
	if code := testenv.ExitCode(t, err); code != 0 {
		t.Fatalf("bench -quick: exit %d\nstderr:\n%s", code, stderr.String())
	}
	out := stdout.String()
	t.Logf("report:\n%s", out)

	var peers, missing []string
	for name, bin := range map[string]string{"tini-static": "tini-static", "tini": "tini", "dumb-init": "dumb-init", "catatonit": "catatonit"} {
		if _, err := exec.LookPath(bin); err == nil {
			peers = append(peers, name)
		} else {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		var line string
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, "- Not installed, left out: ") {
				line = l
			}
		}
		for _, name := range missing {
			if !strings.Contains(line, " "+name+",") && !strings.Contains(line, " "+name+" (") {
				t.Errorf("report does not list %s as not installed: %q", name, line)
			}
		}
		if !strings.Contains(line, installHint) {
			t.Errorf("report does not say how to install the missing inits: %q", line)
		}
	}

	measured := append(append([]string{}, peers...), rowRefinit, rowReaper)
	idle := append(append([]string{}, measured...), rowReaperWatch, rowReaperWatch1s, rowReaperProcs64, rowRefinitProcs64)
	for _, env := range hostileEnv {
		idle = append(idle, "reaper-init ("+env+")")
	}
	crowd := []string{rowReaper, rowReaperWatch1s}
	if slices.Contains(peers, rowTiniStatic) {
		crowd = append(crowd, rowTiniStatic)
	}
	checks := []struct {
		section string
		rows    []string
	}{
		{"## 1. Start-up overhead", measured},
		{"## 2. Reap throughput", measured},
		{"## 3. Signal-forward latency\n", append(append([]string{}, peers...), rowReaper)},
		{"## 4. Idle cost", idle},
		{"## 5. Binary size", measured},
		{"## 6. Signal-forward latency among ", crowd},
	}
	for _, c := range checks {
		sec := section(out, c.section)
		if sec == "" {
			t.Errorf("report has no section %q", c.section)
			continue
		}
		for _, name := range c.rows {
			cells := tableRow(sec, name)
			if cells == nil {
				t.Errorf("%s: no row for %s", c.section, name)
				continue
			}
			// The first figure of every table is a measurement.
			if _, err := strconv.ParseFloat(cells[0], 64); err != nil {
				if c.section == "## 5. Binary size" {
					_, err = strconv.ParseFloat(cells[1], 64)
				}
				if err != nil {
					t.Errorf("%s: %s: no measurement: %q", c.section, name, strings.Join(cells, " | "))
				}
			}
		}
	}
	sec := section(out, "## Targets")
	if n := strings.Count(sec, "\n| ") - 1; n < 13 { // less the header
		t.Errorf("targets table has %d targets, want 13:\n%s", n, sec)
	}
	// With every peer installed, every target is computed from the run.
	if len(missing) == 0 {
		for _, line := range strings.Split(sec, "\n") {
			if strings.HasSuffix(line, "| not measured |") {
				t.Errorf("target not judged: %s", line)
			}
		}
	}
	// The health probe (check.go): measured at 300 processes, exit 1.
	if cells := tableRow(section(out, "## 7. Health probe"), "300"); len(cells) < 6 || cells[5] != "1" {
		t.Errorf("## 7. Health probe: no measured row for 300 processes: %q", cells)
	} else if _, err := strconv.ParseFloat(cells[0], 64); err != nil {
		t.Errorf("## 7. Health probe: 300 processes: no measurement: %q", cells)
	}
}

// section returns the part of the report from the heading (the start of
// a line, or the whole line when it ends in a newline) to the next
// heading of the same level.
func section(report, heading string) string {
	i := strings.Index(report, "\n"+heading)
	if i < 0 {
		return ""
	}
	s := report[i+1+len(heading):]
	if j := strings.Index(s, "\n## "); j >= 0 {
		s = s[:j]
	}
	return s
}

// tableRow returns the cells after the first of the table row for name.
func tableRow(sec, name string) []string {
	for _, line := range strings.Split(sec, "\n") {
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) < 2 || strings.TrimSpace(cells[0]) != name {
			continue
		}
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		return cells[1:]
	}
	return nil
}
