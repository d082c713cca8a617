package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"strings"
	"time"
)

// defaultWatch is reaper-init's default PID-pressure watch interval (its
// README), which bounds the wakeups of the "default watch" row.
const defaultWatch = 10 * time.Second

// Target bounds from the benchmark's specification.
const (
	maxStartupVsRefinit = 1.1
	maxBinaryBytes      = 2 << 20
	maxRSSKiB           = 2560
)

// report writes the Markdown report.
func (b *bench) report(w io.Writer) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	cpus := runtime.NumCPU()
	model, kernel := machine()
	p("# reaper-init benchmark\n\n")
	p("- Date: %s\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	p("- Machine: %d CPUs (nproc), %s, Linux %s\n", cpus, orDash(model), orDash(kernel))
	p("- Go: %s (this program and refinit)\n", runtime.Version())
	p("- Load average (1 min) at start and end: %s, %s\n", b.loadStart, loadAverage())
	p("- Per init: %d start-ups; %d run(s) of %d orphans; %d signals over %d instance(s); a %v idle window, %d instance(s) at once",
		b.cfg.startupRuns, b.cfg.reapRuns, b.cfg.orphans, b.cfg.signals, b.cfg.signalRounds, b.cfg.idleWindow, b.cfg.idleRuns)
	if b.cfg.quick {
		p(" — quick mode, not for comparison")
	}
	p("\n")
	if len(b.missing) > 0 {
		p("- Not installed, left out: %s (install with: `%s`)\n", strings.Join(b.missing, ", "), installHint)
	}
	if b.noReaper {
		p("- reaper-init left out: not in $PATH, and no `-init PATH` given\n")
	}
	p("\nEvery init runs as PID 1 of a fresh PID namespace; the inits take turns run by run.\n")
	p("Ratios are medians divided by tini-static's.\n")

	b.reportStartup(p)
	b.reportReap(p)
	b.reportSignal(p)
	b.reportIdle(p)
	b.reportSize(p)
	b.reportTargets(p)
	b.reportCheck(p) // check.go
}

type printer func(format string, args ...any)

func (b *bench) tini() *row {
	return b.find(rowTiniStatic)
}

func (b *bench) find(name string) *row {
	for _, r := range b.rows {
		if r.name == name {
			return r
		}
	}
	return nil
}

// startupDist returns r's start-up overhead: its wall times minus the
// median wall time of a bare /bin/true.
func (b *bench) startupDist(r *row) dist {
	bare := summarize(append([]float64(nil), b.startup.bare...))
	return summarize(append([]float64(nil), b.startup.times[r]...)).shift(bare.med)
}

func (b *bench) reportStartup(p printer) {
	p("\n## 1. Start-up overhead\n\n")
	bare := summarize(append([]float64(nil), b.startup.bare...))
	if err := b.startup.bareErr; err != nil {
		p("Not measured: a bare %s as PID 1 failed: %v\n", b.truePath, err)
		return
	}
	p("Wall time of `INIT -- %s` as PID 1, from fork to wait4, minus the median wall time of a bare `%s` started the same way (%s ms; p10 %s, p90 %s; %d runs).\n\n",
		b.truePath, b.truePath, num(bare.med, 3), num(bare.p10, 3), num(bare.p90, 3), bare.n)
	p("| init | median ms | p10 ms | p90 ms | runs | × tini-static |\n|---|--:|--:|--:|--:|--:|\n")
	var ref dist
	if t := b.tini(); t != nil {
		ref = b.startupDist(t)
	}
	var notes []string
	for _, r := range b.rowsFor(false) {
		if err := b.startup.errs[r]; err != nil {
			p("| %s | failed | | | | |\n", r.name)
			notes = append(notes, fmt.Sprintf("%s: %v", r.name, err))
			continue
		}
		d := b.startupDist(r)
		p("| %s | %s | %s | %s | %d | %s |\n", r.name, num(d.med, 3), num(d.p10, 3), num(d.p90, 3), d.n, ratio(d.med, ref.med))
	}
	printNotes(p, notes)
}

func (b *bench) reportReap(p printer) {
	p("\n## 2. Reap throughput\n\n")
	p("A child of the init makes %d orphans as fast as it can (double fork, the middle process exits at once, the orphan exits at once). Throughput: orphans over the time from the first fork until /proc shows no orphan left unreaped. Peak: the most unreaped orphans (zombies, and orphans still exiting) seen in /proc/INIT/task/*/children, sampled every 0.5 ms.\n\n", b.cfg.orphans)
	p("| init | orphans/s median | p10 | p90 | × tini-static | peak unreaped median | p10 | p90 | × tini-static |\n|---|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	var refRate, refPeak dist
	if t := b.tini(); t != nil && b.reap[t] != nil {
		refRate = summarize(b.reap[t].rate)
		refPeak = summarize(b.reap[t].peak)
	}
	var notes []string
	for _, r := range b.rowsFor(false) {
		res := b.reap[r]
		if err := b.startup.errs[r]; err != nil {
			p("| %s | not run (start-up failed) | | | | | | | |\n", r.name)
			continue
		}
		if res.err != nil {
			notes = append(notes, fmt.Sprintf("%s: %v", r.name, res.err))
		}
		if res.retries > 0 {
			notes = append(notes, fmt.Sprintf("%s: %d forks failed with EAGAIN (PID table or limit full) and were retried", r.name, res.retries))
		}
		if len(res.rate) == 0 {
			p("| %s | failed | | | | | | | |\n", r.name)
			continue
		}
		rate, peak := summarize(res.rate), summarize(res.peak)
		p("| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", r.name,
			num(rate.med, 0), num(rate.p10, 0), num(rate.p90, 0), ratio(rate.med, refRate.med),
			num(peak.med, 0), num(peak.p10, 0), num(peak.p90, 0), ratio(peak.med, refPeak.med))
	}
	printNotes(p, notes)
}

func (b *bench) reportSignal(p printer) {
	p("\n## 3. Signal-forward latency\n\n")
	p("SIGUSR1 sent to the init (PID 1) one at a time, %v after the previous one was acknowledged. The child takes the signal with sigtimedwait and reads CLOCK_MONOTONIC; latency is from the sender's reading just before kill(2) to the child's.\n\n", signalGap)
	p("| init | median µs | p10 µs | p90 µs | p99 µs | signals | × tini-static |\n|---|--:|--:|--:|--:|--:|--:|\n")
	var ref dist
	if t := b.tini(); t != nil && b.signal[t] != nil {
		ref = summarize(append([]float64(nil), b.signal[t].lat...))
	}
	var notes []string
	for _, r := range b.rowsFor(false) {
		res := b.signal[r]
		if err := b.startup.errs[r]; err != nil {
			p("| %s | not run (start-up failed) | | | | | |\n", r.name)
			continue
		}
		if r.silent {
			p("| %s | — | | | | | |\n", r.name)
			notes = append(notes, fmt.Sprintf("%s forwards no signals: it is the start-up reference", r.name))
			continue
		}
		if res.err != nil {
			notes = append(notes, fmt.Sprintf("%s: %v", r.name, res.err))
		}
		if len(res.lat) == 0 {
			p("| %s | — | | | | | |\n", r.name)
			continue
		}
		d := summarize(append([]float64(nil), res.lat...))
		p("| %s | %s | %s | %s | %s | %d | %s |\n", r.name, num(d.med, 1), num(d.p10, 1), num(d.p90, 1), num(d.p99, 1), d.n, ratio(d.med, ref.med))
	}
	printNotes(p, notes)
}

func (b *bench) reportIdle(p printer) {
	p("\n## 4. Idle cost\n\n")
	p("%d instance(s) of each init at once, each with a sleeping child, measured over the same %v window after %v to settle. Memory and threads from /proc/PID/status at the end of the window; CPU time (schedstat) and context switches (voluntary and involuntary, every thread) over the window. Wakeups: runs of consecutive %v samples in which the context switches went up (the switches of one timer tick, on several threads, are one wakeup). Cells: median (p10–p90).\n\n",
		b.cfg.idleRuns, b.cfg.idleWindow, b.cfg.idleSettle, wakeSample)
	p("| init | VmRSS KiB | VmHWM KiB | threads | CPU µs | context switches | wakeups | × tini-static (VmRSS) |\n|---|--:|--:|--:|--:|--:|--:|--:|\n")
	var ref dist
	if t := b.tini(); t != nil && b.idle[t] != nil {
		ref = summarize(append([]float64(nil), b.idle[t].rss...))
	}
	var notes []string
	for _, r := range b.rowsFor(true) {
		res := b.idle[r]
		if res.err != nil {
			notes = append(notes, fmt.Sprintf("%s: %v", r.name, res.err))
		}
		if len(res.rss) == 0 {
			p("| %s | failed | | | | | | |\n", r.name)
			continue
		}
		rss := summarize(append([]float64(nil), res.rss...))
		p("| %s | %s | %s | %s | %s | %s | %s | %s |\n", r.name, cell(res.rss, 0), cell(res.hwm, 0), cell(res.threads, 0),
			cell(res.cpuUS, 0), cell(res.ctxsw, 0), cell(res.wakeups, 0), ratio(rss.med, ref.med))
	}
	printNotes(p, notes)
}

func (b *bench) reportSize(p printer) {
	p("\n## 5. Binary size\n\n")
	p("| init | binary | bytes | MiB | stripped | × tini-static |\n|---|---|--:|--:|---|--:|\n")
	var ref float64
	if t := b.tini(); t != nil {
		ref = float64(t.size)
	}
	for _, r := range b.rowsFor(false) {
		path := r.path
		if r.name == rowRefinit {
			path = "(built from bench/refinit)"
		}
		stripped := "no"
		if r.stripped {
			stripped = "yes"
		}
		p("| %s | %s | %d | %s | %s | %s |\n", r.name, path, r.size, num(float64(r.size)/(1<<20), 2), stripped, ratio(float64(r.size), ref))
	}
}

// reportTargets checks reaper-init against the targets of the benchmark's
// specification.
func (b *bench) reportTargets(p printer) {
	p("\n## Targets\n\n| target | measured | verdict |\n|---|---|---|\n")
	line := func(target, measured string, ok, measuredOK bool) {
		verdict := "not measured"
		if measuredOK {
			verdict = "missed"
			if ok {
				verdict = "met"
			}
		}
		p("| %s | %s | %s |\n", target, measured, verdict)
	}
	reaper, ref, tini, watch := b.find(rowReaper), b.find(rowRefinit), b.tini(), b.find(rowReaperWatch)
	usable := func(r *row) bool { return r != nil && b.startup.errs[r] == nil }

	if usable(reaper) && usable(ref) {
		a, c := b.startupDist(reaper).med, b.startupDist(ref).med
		line(fmt.Sprintf("start-up overhead ≤ %.1f × refinit's", maxStartupVsRefinit),
			fmt.Sprintf("%s ms vs %s ms (%s)", num(a, 3), num(c, 3), ratio(a, c)), a <= maxStartupVsRefinit*c, true)
	} else {
		line(fmt.Sprintf("start-up overhead ≤ %.1f × refinit's", maxStartupVsRefinit), "—", false, false)
	}

	if usable(reaper) && usable(tini) && len(b.reap[reaper].rate) > 0 && len(b.reap[tini].rate) > 0 {
		a, c := summarize(b.reap[reaper].rate).med, summarize(b.reap[tini].rate).med
		line("reap throughput ≥ tini-static's", fmt.Sprintf("%s/s vs %s/s (%s)", num(a, 0), num(c, 0), ratio(a, c)), a >= c, true)
	} else {
		line("reap throughput ≥ tini-static's", "—", false, false)
	}

	if usable(reaper) && usable(tini) && len(b.signal[reaper].lat) > 0 && len(b.signal[tini].lat) > 0 {
		a := summarize(append([]float64(nil), b.signal[reaper].lat...)).med
		c := summarize(append([]float64(nil), b.signal[tini].lat...)).med
		line("median signal latency ≤ tini-static's", fmt.Sprintf("%s µs vs %s µs (%s)", num(a, 1), num(c, 1), ratio(a, c)), a <= c, true)
	} else {
		line("median signal latency ≤ tini-static's", "—", false, false)
	}

	if reaper != nil && b.idle[reaper] != nil && len(b.idle[reaper].wakeups) > 0 {
		res := b.idle[reaper]
		max := maxOf(res.wakeups)
		line("idle wakeups with `--watch 0`: none", fmt.Sprintf("at most %s wakeups (%s context switches) in %v",
			num(max, 0), num(maxOf(res.ctxsw), 0), b.cfg.idleWindow), max == 0, true)
	} else {
		line("idle wakeups with `--watch 0`: none", "—", false, false)
	}
	if watch != nil && b.idle[watch] != nil && len(b.idle[watch].wakeups) > 0 {
		res := b.idle[watch]
		max := maxOf(res.wakeups)
		intervals := math.Max(1, math.Ceil(float64(b.cfg.idleWindow)/float64(defaultWatch)))
		line(fmt.Sprintf("idle wakeups with the default watch: ≤ 1 per %v", defaultWatch),
			fmt.Sprintf("at most %s wakeups (%s context switches) in %v", num(max, 0), num(maxOf(res.ctxsw), 0), b.cfg.idleWindow),
			max <= intervals, true)
	} else {
		line(fmt.Sprintf("idle wakeups with the default watch: ≤ 1 per %v", defaultWatch), "—", false, false)
	}

	if reaper != nil {
		what := "stripped"
		if !reaper.stripped {
			what = "not stripped"
		}
		line("binary ≤ 2 MiB (stripped)", fmt.Sprintf("%s MiB, %s", num(float64(reaper.size)/(1<<20), 2), what),
			reaper.size <= maxBinaryBytes && reaper.stripped, true)
	} else {
		line("binary ≤ 2 MiB (stripped)", "—", false, false)
	}

	if reaper != nil && b.idle[reaper] != nil && len(b.idle[reaper].rss) > 0 {
		rss := maxOf(b.idle[reaper].rss)
		line("VmRSS ≤ 2.5 MiB", fmt.Sprintf("at most %s KiB (%s MiB)", num(rss, 0), num(rss/1024, 2)), rss <= maxRSSKiB, true)
	} else {
		line("VmRSS ≤ 2.5 MiB", "—", false, false)
	}
}

// loadAverage returns the one-minute load average, or a dash.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) > 0 {
		return f[0]
	}
	return "—"
}

// num formats x with prec decimals, or a dash when x is not a number.
func num(x float64, prec int) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "—"
	}
	return fmt.Sprintf("%.*f", prec, x)
}

// ratio formats a/ref, or a dash when there is no reference.
func ratio(a, ref float64) string {
	if ref == 0 || math.IsNaN(ref) || math.IsNaN(a) {
		return "—"
	}
	return fmt.Sprintf("%.2f", a/ref)
}

// cell formats a sample as "median (p10–p90)", or the median alone when
// the spread is nil.
func cell(xs []float64, prec int) string {
	d := summarize(append([]float64(nil), xs...))
	if num(d.p10, prec) == num(d.p90, prec) {
		return num(d.med, prec)
	}
	return fmt.Sprintf("%s (%s–%s)", num(d.med, prec), num(d.p10, prec), num(d.p90, prec))
}

func maxOf(xs []float64) float64 {
	m := math.Inf(-1)
	for _, x := range xs {
		m = math.Max(m, x)
	}
	return m
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func printNotes(p printer, notes []string) {
	if len(notes) > 0 {
		p("\n")
	}
	for _, n := range notes {
		p("- %s\n", n)
	}
}
