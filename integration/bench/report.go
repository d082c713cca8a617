package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

// defaultWatch is reaper-init's default PID-pressure watch interval (its
// README), which bounds the wakeups of the "default watch" row.
const defaultWatch = 10 * time.Second

// Target bounds from the benchmark's specification.
const (
	maxThreads          = 4
	maxAnonVsRefinit    = 1.15
	maxRSSKiB           = 2560
	maxSwitchesPerTick  = 3
	maxStartupVsRefinit = 1.1
	maxHeldBackUS       = 1000 // a scan may delay a forwarded signal this much at most
	minScanSignals      = 100  // signals sent during a scan that the held-back target needs
	maxBinaryBytes      = 2 << 20
)

// report writes the Markdown report.
func (b *bench) report(w io.Writer) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	cpus := runtime.NumCPU()
	model, kernel := machine()
	p("# reaper-init benchmark\n\n")
	p("- Date: %s\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	p("- Machine: %d CPUs (nproc), %s, Linux %s, kernel.pid_max %d\n", cpus, orDash(model), orDash(kernel), pidMax())
	p("- Go: %s (this program and refinit)\n", runtime.Version())
	p("- Load average (1 min) at start and end: %s, %s; %s in all\n", b.loadStart, loadAverage(),
		time.Since(b.started).Round(time.Second))
	p("- Per init: %d start-ups; %d run(s) of %d orphans; %d signals over %d instance(s); a %v idle window, %d instance(s) at once; %d crowd(s) of %d sleeping processes, %v of signals each",
		b.cfg.startupRuns, b.cfg.reapRuns, b.cfg.orphans, b.cfg.signals, b.cfg.signalRounds, b.cfg.idleWindow, b.cfg.idleRuns,
		b.cfg.crowdRounds, b.crowdSize(), b.cfg.crowdWindow)
	if b.cfg.quick {
		p(" — quick mode, not for comparison")
	}
	p("\n")
	if len(b.runs) < len(allWorkloads) {
		var ran []workload
		for _, w := range allWorkloads {
			if b.runs[w] {
				ran = append(ran, w)
			}
		}
		p("- Workloads run (-only): %s\n", joinWorkloads(ran))
	}
	if len(b.missing) > 0 {
		p("- Not installed, left out: %s (install with: `%s`)\n", strings.Join(b.missing, ", "), installHint)
	}
	if b.noReaper {
		p("- reaper-init left out: not in $PATH, and no `-init PATH` given\n")
	}
	p("\nEvery init runs as PID 1 of a fresh PID namespace; the inits take turns run by run.\n")
	p("Ratios are medians divided by tini-static's, or by the best peer's (the lowest of tini-static, tini, dumb-init and catatonit).\n")

	if b.runs[wStartup] {
		b.reportStartup(p)
	}
	if b.runs[wReap] {
		b.reportReap(p)
	}
	if b.runs[wSignal] {
		b.reportSignal(p)
	}
	if b.runs[wIdle] {
		b.reportIdle(p)
	}
	b.reportSize(p)
	if b.runs[wCrowd] {
		b.reportCrowd(p)
	}
	if b.runs[wCheck] {
		b.reportCheck(p) // check.go
	}
	b.reportTargets(p)
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

// sum summarizes a copy of xs.
func sum(xs []float64) dist {
	return summarize(append([]float64(nil), xs...))
}

// startupDist returns r's start-up overhead: its wall times minus the
// median wall time of a bare /bin/true.
func (b *bench) startupDist(r *row) dist {
	return sum(b.startup.times[r]).shift(sum(b.startup.bare).med)
}

func (b *bench) reportStartup(p printer) {
	p("\n## 1. Start-up overhead\n\n")
	bare := sum(b.startup.bare)
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
	for _, r := range b.rowsFor(wStartup) {
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
		refRate = sum(b.reap[t].rate)
		refPeak = sum(b.reap[t].peak)
	}
	var notes []string
	for _, r := range b.rowsFor(wReap) {
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
		rate, peak := sum(res.rate), sum(res.peak)
		p("| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", r.name,
			num(rate.med, 0), num(rate.p10, 0), num(rate.p90, 0), ratio(rate.med, refRate.med),
			num(peak.med, 0), num(peak.p10, 0), num(peak.p90, 0), ratio(peak.med, refPeak.med))
	}
	printNotes(p, notes)
}

// bestPeer returns, among the peers' latency samples in lat, the lowest
// median and the lowest p99, with the names of the peers they belong to.
func (b *bench) bestPeer(lat func(*row) []float64) (med, p99 float64, medName, p99Name string) {
	med, p99 = math.NaN(), math.NaN()
	for _, r := range b.rows {
		if !r.peer || len(lat(r)) == 0 {
			continue
		}
		d := sum(lat(r))
		if math.IsNaN(med) || d.med < med {
			med, medName = d.med, r.name
		}
		if math.IsNaN(p99) || d.p99 < p99 {
			p99, p99Name = d.p99, r.name
		}
	}
	return med, p99, medName, p99Name
}

// signalLat returns r's latencies in the signal test.
func (b *bench) signalLat(r *row) []float64 {
	if res := b.signal[r]; res != nil && b.startup.errs[r] == nil {
		return res.lat
	}
	return nil
}

func (b *bench) reportSignal(p printer) {
	p("\n## 3. Signal-forward latency\n\n")
	p("SIGUSR1 sent to the init (PID 1) one at a time, %v after the previous one was acknowledged. The child takes the signal with sigtimedwait and reads CLOCK_MONOTONIC; latency is from the sender's reading just before kill(2) to the child's.", signalGap)
	bestMed, bestP99, medName, p99Name := b.bestPeer(b.signalLat)
	if medName != "" {
		p(" Best peer: %s by the median (%s µs), %s by the p99 (%s µs).", medName, num(bestMed, 1), p99Name, num(bestP99, 1))
	}
	p("\n\n| init | median µs | p10 µs | p90 µs | p99 µs | max µs | signals | × tini-static | × best peer (median) | × best peer (p99) |\n|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	ref := sum(b.signalLat(b.tini()))
	var notes []string
	for _, r := range b.rowsFor(wSignal) {
		res := b.signal[r]
		if err := b.startup.errs[r]; err != nil {
			p("| %s | not run (start-up failed) | | | | | | | | |\n", r.name)
			continue
		}
		if r.silent {
			p("| %s | — | | | | | | | | |\n", r.name)
			notes = append(notes, fmt.Sprintf("%s forwards no signals: it is the start-up reference", r.name))
			continue
		}
		if res.err != nil {
			notes = append(notes, fmt.Sprintf("%s: %v", r.name, res.err))
		}
		if len(res.lat) == 0 {
			p("| %s | — | | | | | | | | |\n", r.name)
			continue
		}
		d := sum(res.lat)
		p("| %s | %s | %s | %s | %s | %s | %d | %s | %s | %s |\n", r.name, num(d.med, 1), num(d.p10, 1), num(d.p90, 1),
			num(d.p99, 1), num(d.max, 1), d.n, ratio(d.med, ref.med), ratio(d.med, bestMed), ratio(d.p99, bestP99))
	}
	printNotes(p, notes)
}

func (b *bench) reportIdle(p printer) {
	p("\n## 4. Idle cost\n\n")
	p("%d instance(s) of each init at once, each with a sleeping child, measured over the same %v window after %v to settle; the three groups below one after the other. VmRSS and VmHWM from /proc/PID/status and Anonymous (private anonymous memory) and PSS from /proc/PID/smaps_rollup, at the end of the window. Threads: the most seen at once, at the start and end of the window and in every sample. CPU time (schedstat) and context switches (voluntary and involuntary, every thread) over the window; per watch tick: context switches divided by the window's length in watch intervals. Wakeups: runs of consecutive %v samples in which the context switches went up (the switches of one timer tick, on several threads, are one wakeup). Cells: median (p10–p90).\n",
		b.cfg.idleRuns, b.cfg.idleWindow, b.cfg.idleSettle, wakeSample)
	titles := [idleGroups]string{
		idleMain:     "Each init as it runs by default",
		idleVariants: "reaper-init's watch, and GOMAXPROCS=64 for a big node",
		idleHostile:  "Hostile Go runtime settings in the init's environment",
	}
	ref := sum(b.idle[b.tini()].rssOrNil())
	var notes []string
	for g := idleGroup(0); g < idleGroups; g++ {
		var rows []*row
		for _, r := range b.rowsFor(wIdle) {
			if r.group == g {
				rows = append(rows, r)
			}
		}
		if len(rows) == 0 {
			continue
		}
		p("\n### %s\n\n", titles[g])
		if g != idleMain {
			p("PSS divides each shared page among the processes that map it, here the instances of the same binary in this group (%s): compare Anonymous across groups.\n\n",
				b.sharers(rows))
		}
		p("| init | VmRSS KiB | VmHWM KiB | Anonymous KiB | PSS KiB | threads | CPU µs | context switches | per watch tick | wakeups | × tini-static (VmRSS) |\n|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
		for _, r := range rows {
			res := b.idle[r]
			if res.err != nil {
				notes = append(notes, fmt.Sprintf("%s: %v", r.name, res.err))
			}
			if len(res.rss) == 0 {
				p("| %s | failed | | | | | | | | | |\n", r.name)
				continue
			}
			perTick := "—"
			if r.watch > 0 {
				perTick = cell(b.perTick(r), 1)
			}
			p("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", r.name, cell(res.rss, 0), cell(res.hwm, 0),
				cell(res.anon, 0), cell(res.pss, 0), cell(res.threads, 0), cell(res.cpuUS, 0), cell(res.ctxsw, 0), perTick,
				cell(res.wakeups, 0), ratio(sum(res.rss).med, ref.med))
		}
	}
	printNotes(p, notes)
}

// rssOrNil returns the VmRSS sample of res, nil when res is nil.
func (res *idleResult) rssOrNil() []float64 {
	if res == nil {
		return nil
	}
	return res.rss
}

// sharers describes how many idle instances of each binary run at once
// among rows.
func (b *bench) sharers(rows []*row) string {
	count := map[string]int{}
	var order []string
	for _, r := range rows {
		name := filepath.Base(r.path)
		if count[name] == 0 {
			order = append(order, name)
		}
		count[name] += b.cfg.idleRuns
	}
	parts := make([]string, len(order))
	for i, n := range order {
		parts[i] = fmt.Sprintf("%d of %s", count[n], n)
	}
	return strings.Join(parts, ", ")
}

// perTick returns the context switches of r's instances per watch tick:
// over the idle window divided by its length in watch intervals.
func (b *bench) perTick(r *row) []float64 {
	res := b.idle[r]
	if res == nil || r.watch <= 0 {
		return nil
	}
	ticks := float64(b.cfg.idleWindow) / float64(r.watch)
	out := make([]float64, len(res.ctxsw))
	for i, n := range res.ctxsw {
		out[i] = n / ticks
	}
	return out
}

func (b *bench) reportSize(p printer) {
	rows := b.rowsFor(wStartup)
	if len(rows) == 0 {
		return
	}
	p("\n## 5. Binary size\n\n")
	p("| init | binary | bytes | MiB | stripped | × tini-static |\n|---|---|--:|--:|---|--:|\n")
	var ref float64
	if t := b.tini(); t != nil {
		ref = float64(t.size)
	}
	for _, r := range rows {
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

// crowdSize returns the number of sleeping processes of the crowd test,
// as measured or, before it ran, as asked.
func (b *bench) crowdSize() int {
	if b.crowd.rows != nil {
		return b.crowd.size
	}
	return b.cfg.crowd
}

// crowdLat returns r's latencies in the crowd test.
func (b *bench) crowdLat(r *row) []float64 {
	if res := b.crowd.rows[r]; res != nil {
		return res.lat
	}
	return nil
}

func (b *bench) reportCrowd(p printer) {
	res := &b.crowd
	p("\n## 6. Signal-forward latency among %d processes\n\n", res.size)
	if res.err != nil {
		p("Not measured: %v\n", res.err)
		return
	}
	p("The signal test again, while %d sleeping processes (children of the init's child, in a process group of their own, blocked in pause(2)) fill the PID namespace: reaper-init with its watch scanning /proc every second and with the watch off, and tini-static. SIGUSR1 every %v–%v (uniformly random, so that signals fall anywhere in the watch's interval) for %v, over %d fresh crowd(s) per init. During a scan: the signals sent while the init held a descriptor open on /proc (its watch's scanner does while it reads /proc) and one of its threads was running or waiting for a CPU (state R or D in /proc/INIT/task/*/stat), both read just before kill(2). Init CPU: its CPU time over the signalling window. Threads: the init's, at the end. Set-up: from the init's start until the crowd is made and the child ready; teardown: from the last signal until the crowd, killed first, has gone and the init, killed next, has been reaped.",
		res.size, crowdGapMin, crowdGapMax, b.cfg.crowdWindow, b.cfg.crowdRounds)
	if res.note != "" {
		p(" Crowd: %s.", res.note)
	}
	p("\n\n| init | median µs | p90 µs | p99 µs | max µs | signals | during a scan | their p99 µs | their max µs | init CPU %% | threads | set-up s | teardown s |\n|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	var notes []string
	for _, r := range b.rowsFor(wCrowd) {
		cr := res.rows[r]
		if err := b.startup.errs[r]; err != nil {
			p("| %s | not run (start-up failed) | | | | | | | | | | | |\n", r.name)
			continue
		}
		if cr.err != nil {
			notes = append(notes, fmt.Sprintf("%s: %v", r.name, cr.err))
		}
		if len(cr.lat) == 0 {
			p("| %s | failed | | | | | | | | | | | |\n", r.name)
			continue
		}
		d, busy := sum(cr.lat), sum(cr.busyLat)
		p("| %s | %s | %s | %s | %s | %d | %d | %s | %s | %s | %s | %s | %s |\n", r.name, num(d.med, 1), num(d.p90, 1),
			num(d.p99, 1), num(d.max, 1), d.n, busy.n, num(busy.p99, 1), num(busy.max, 1),
			cell(cr.cpuPct, 1), cell(cr.threads, 0), cell(cr.setupSec, 1), cell(cr.teardownSec, 1))
	}
	printNotes(p, notes)
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
		if !measuredOK && measured == "" {
			measured = "—"
		}
		p("| %s | %s | %s |\n", target, measured, verdict)
	}
	reaper, ref := b.find(rowReaper), b.find(rowRefinit)
	idle := func(name string) *idleResult {
		if r := b.find(name); r != nil && b.idle[r] != nil && len(b.idle[r].rss) > 0 {
			return b.idle[r]
		}
		return nil
	}
	usable := func(r *row) bool { return r != nil && b.startup.errs[r] == nil }

	// Threads, at the machine's CPU count and at 64, idle and in the crowd.
	{
		target := fmt.Sprintf("threads ≤ %d at any CPU count", maxThreads)
		i1, i64 := idle(rowReaper), idle(rowReaperProcs64)
		if i1 != nil && i64 != nil {
			most := math.Max(maxOf(i1.threads), maxOf(i64.threads))
			var crowd []string
			measured := fmt.Sprintf("at most %s idle (%d CPUs), %s idle (GOMAXPROCS=64)", num(maxOf(i1.threads), 0),
				runtime.NumCPU(), num(maxOf(i64.threads), 0))
			for name, what := range map[string]string{rowReaper: "watch off", rowReaperWatch1s: "`--watch 1s`"} {
				if r := b.find(name); r != nil && b.crowd.rows[r] != nil && len(b.crowd.rows[r].threads) > 0 {
					n := maxOf(b.crowd.rows[r].threads)
					most = math.Max(most, n)
					crowd = append(crowd, fmt.Sprintf("%s in the crowd (%s)", num(n, 0), what))
				}
			}
			slices.Sort(crowd)
			if len(crowd) > 0 {
				measured += ", " + strings.Join(crowd, ", ")
			}
			line(target, measured, most <= maxThreads, true)
		} else {
			line(target, "", false, false)
		}
	}
	anon := func(reaperRow, refRow, what string) {
		target := fmt.Sprintf("private anonymous memory ≤ %.2f × refinit's%s", maxAnonVsRefinit, what)
		a, c := idle(reaperRow), idle(refRow)
		if a == nil || c == nil {
			line(target, "", false, false)
			return
		}
		x, y := sum(a.anon).med, sum(c.anon).med
		line(target, fmt.Sprintf("%s KiB vs %s KiB (%s)", num(x, 0), num(y, 0), ratio3(x, y)), x <= maxAnonVsRefinit*y, true)
	}
	anon(rowReaper, rowRefinit, "")
	anon(rowReaperProcs64, rowRefinitProcs64, " (both with GOMAXPROCS=64)")
	if i := idle(rowReaper); i != nil {
		rss := maxOf(i.rss)
		line("VmRSS ≤ 2.5 MiB", fmt.Sprintf("at most %s KiB (%s MiB)", num(rss, 0), num(rss/1024, 2)), rss <= maxRSSKiB, true)
	} else {
		line("VmRSS ≤ 2.5 MiB", "", false, false)
	}
	{
		target := fmt.Sprintf("≤ %d context switches per watch tick (`--watch 1s`)", maxSwitchesPerTick)
		if r := b.find(rowReaperWatch1s); r != nil && idle(r.name) != nil {
			pt := b.perTick(r)
			line(target, fmt.Sprintf("at most %s per tick (%s over %v)", num(maxOf(pt), 1), num(maxOf(b.idle[r].ctxsw), 0), b.cfg.idleWindow),
				maxOf(pt) <= maxSwitchesPerTick, true)
		} else {
			line(target, "", false, false)
		}
	}
	if i := idle(rowReaper); i != nil {
		n := maxOf(i.ctxsw)
		line("no context switch in 10 s with `--watch 0`", fmt.Sprintf("at most %s in %v (%s wakeups)", num(n, 0), b.cfg.idleWindow, num(maxOf(i.wakeups), 0)),
			n == 0, true)
	} else {
		line("no context switch in 10 s with `--watch 0`", "", false, false)
	}
	{
		bestMed, bestP99, medName, p99Name := b.bestPeer(b.signalLat)
		lat := b.signalLat(reaper)
		if len(lat) > 0 && medName != "" {
			d := sum(lat)
			line("signal-forward latency: median ≤ the best peer's", fmt.Sprintf("%s µs vs %s µs, %s (%s)", num(d.med, 1), num(bestMed, 1), medName, ratio3(d.med, bestMed)),
				d.med <= bestMed, true)
			line("signal-forward latency: p99 ≤ the best peer's", fmt.Sprintf("%s µs vs %s µs, %s (%s)", num(d.p99, 1), num(bestP99, 1), p99Name, ratio3(d.p99, bestP99)),
				d.p99 <= bestP99, true)
		} else {
			line("signal-forward latency: median ≤ the best peer's", "", false, false)
			line("signal-forward latency: p99 ≤ the best peer's", "", false, false)
		}
	}
	if usable(reaper) && usable(ref) && len(b.startup.times[reaper]) > 0 && len(b.startup.times[ref]) > 0 {
		a, c := b.startupDist(reaper).med, b.startupDist(ref).med
		line(fmt.Sprintf("start-up overhead ≤ %.1f × refinit's", maxStartupVsRefinit),
			fmt.Sprintf("%s ms vs %s ms (%s)", num(a, 3), num(c, 3), ratio3(a, c)), a <= maxStartupVsRefinit*c, true)
	} else {
		line(fmt.Sprintf("start-up overhead ≤ %.1f × refinit's", maxStartupVsRefinit), "", false, false)
	}
	{
		target := fmt.Sprintf("a watch scan among %d processes holds no forwarded signal back by more than %d ms", b.crowdSize(), maxHeldBackUS/1000)
		on, off := b.crowdLat(b.find(rowReaperWatch1s)), b.crowdLat(reaper)
		if len(on) > 0 && len(off) > 0 {
			d, base := sum(on), sum(off)
			var busy dist
			if cr := b.crowd.rows[b.find(rowReaperWatch1s)]; cr != nil {
				busy = sum(cr.busyLat)
			}
			// The signals sent during a scan are the ones a scan can hold
			// back; with too few of them, every signal of the row.
			worst, which := d.max, fmt.Sprintf("max %s µs over all %d signals (%d sent during a scan, fewer than %d)", num(d.max, 0), d.n, busy.n, minScanSignals)
			if busy.n >= minScanSignals {
				worst, which = busy.max, fmt.Sprintf("max %s µs over the %d signals sent during a scan (%s µs over all %d)", num(busy.max, 0), busy.n, num(d.max, 0), d.n)
			}
			line(target, fmt.Sprintf("`--watch 1s`: %s, %s µs above the median with the watch off (%s µs; its max %s µs)",
				which, num(worst-base.med, 0), num(base.med, 0), num(base.max, 0)),
				worst-base.med <= maxHeldBackUS, true)
		} else {
			line(target, "", false, false)
		}
	}

	// Earlier targets, still measured.
	if tini := b.tini(); usable(reaper) && usable(tini) && b.reap[reaper] != nil && len(b.reap[reaper].rate) > 0 && len(b.reap[tini].rate) > 0 {
		a, c := sum(b.reap[reaper].rate).med, sum(b.reap[tini].rate).med
		line("reap throughput ≥ tini-static's", fmt.Sprintf("%s/s vs %s/s (%s)", num(a, 0), num(c, 0), ratio3(a, c)), a >= c, true)
	} else {
		line("reap throughput ≥ tini-static's", "", false, false)
	}
	if i := idle(rowReaperWatch); i != nil {
		most := maxOf(i.wakeups)
		intervals := math.Max(1, math.Ceil(float64(b.cfg.idleWindow)/float64(defaultWatch)))
		line(fmt.Sprintf("idle wakeups with the default watch: ≤ 1 per %v", defaultWatch),
			fmt.Sprintf("at most %s wakeups (%s context switches) in %v", num(most, 0), num(maxOf(i.ctxsw), 0), b.cfg.idleWindow),
			most <= intervals, true)
	} else {
		line(fmt.Sprintf("idle wakeups with the default watch: ≤ 1 per %v", defaultWatch), "", false, false)
	}
	if reaper != nil {
		what := "stripped"
		if !reaper.stripped {
			what = "not stripped"
		}
		line("binary ≤ 2 MiB (stripped)", fmt.Sprintf("%s MiB, %s", num(float64(reaper.size)/(1<<20), 2), what),
			reaper.size <= maxBinaryBytes && reaper.stripped, true)
	} else {
		line("binary ≤ 2 MiB (stripped)", "", false, false)
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

// ratio3 formats a/ref with three decimals, as the targets print it, so
// that a ratio just over a bound does not print as the bound.
func ratio3(a, ref float64) string {
	if ref == 0 || math.IsNaN(ref) || math.IsNaN(a) {
		return "—"
	}
	return fmt.Sprintf("%.3f", a/ref)
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
