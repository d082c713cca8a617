package main

import (
	"fmt"
	"time"
)

// wakeSample is how often the idle test samples context switches to count
// wakeups. A wakeup is a run of consecutive samples in which the init's
// context switches went up: the several switches of one timer tick (the
// thread that runs it, the Go runtime's sysmon thread) count as one.
const wakeSample = 50 * time.Millisecond

// idleResult holds one row's idle figures, one value per instance.
type idleResult struct {
	rss, hwm  []float64 // KiB, from /proc/PID/status
	anon, pss []float64 // KiB, from /proc/PID/smaps_rollup
	threads   []float64 // the most threads seen at once
	cpuUS     []float64 // CPU time over the window, microseconds
	ctxsw     []float64 // context switches over the window
	wakeups   []float64 // wakeups over the window (see wakeSample)
	err       error
}

// idleInstance is one init running in the idle test.
type idleInstance struct {
	r       *row
	pid     int
	before  map[int]taskUsage // at the start of the window
	last    uint64            // context switches at the last sample
	rising  bool              // they went up at the last sample
	wakeups int
	threads int // the most threads seen at once
}

// runIdle measures the rows of each idle group in turn (see idleGroup).
func (b *bench) runIdle() {
	rows := b.rowsFor(wIdle)
	b.idle = map[*row]*idleResult{}
	for _, r := range rows {
		b.idle[r] = &idleResult{}
	}
	for g := idleGroup(0); g < idleGroups; g++ {
		var phase []*row
		for _, r := range rows {
			if r.group == g && b.startup.errs[r] == nil {
				phase = append(phase, r)
			}
		}
		if len(phase) > 0 {
			b.idlePhase(phase)
		}
	}
}

// idlePhase starts idleRuns instances of every row given at once, each
// with a sleeping child, lets them settle, and measures them all over the
// same window, so that every row sees the same machine.
func (b *bench) idlePhase(rows []*row) {
	b.logf("idle: %d instances of each of %d inits, %v window after %v", b.cfg.idleRuns, len(rows), b.cfg.idleWindow, b.cfg.idleSettle)
	var live []*idleInstance
	defer func() {
		for _, in := range live {
			kill(in.pid)
		}
	}()
	for _, r := range rows {
		for i := 0; i < b.cfg.idleRuns; i++ {
			pid, err := b.spawnPID1(r.argv(b.sleep, "3600"), b.environ(r), r.logFile)
			if err != nil {
				b.idle[r].err = err
				break
			}
			live = append(live, &idleInstance{r: r, pid: pid})
		}
	}
	time.Sleep(b.cfg.idleSettle)

	var measured []*idleInstance
	for _, in := range live {
		if err := b.checkIdleChild(in.pid); err != nil {
			b.idle[in.r].err = in.r.failure(err)
			continue
		}
		u, err := processUsage(in.pid)
		if err != nil {
			b.idle[in.r].err = in.r.failure(err)
			continue
		}
		in.before, in.last, in.threads = u, sumUsage(u, nil).ctxsw, len(u)
		measured = append(measured, in)
	}
	end := time.Now().Add(b.cfg.idleWindow)
	for next := time.Now().Add(wakeSample); next.Before(end); next = next.Add(wakeSample) {
		time.Sleep(time.Until(next))
		for _, in := range measured {
			u, err := processUsage(in.pid)
			if err != nil {
				continue // reported at the end of the window
			}
			in.threads = max(in.threads, len(u))
			n := sumUsage(u, nil).ctxsw
			up := n > in.last
			if up && !in.rising {
				in.wakeups++
			}
			in.last, in.rising = n, up
		}
	}
	time.Sleep(time.Until(end))

	for _, in := range measured {
		res := b.idle[in.r]
		if res.err != nil {
			continue
		}
		after, err := processUsage(in.pid)
		if err != nil {
			res.err = in.r.failure(fmt.Errorf("init exited during the idle window: %w", err))
			continue
		}
		d := sumUsage(after, in.before)
		if sumUsage(after, nil).ctxsw > in.last && !in.rising {
			in.wakeups++ // a wakeup after the last sample
		}
		in.threads = max(in.threads, len(after))
		mem, err := idleMemory(in.pid)
		if err != nil {
			res.err = err
			continue
		}
		res.rss = append(res.rss, mem.rss)
		res.hwm = append(res.hwm, mem.hwm)
		res.anon = append(res.anon, mem.anon)
		res.pss = append(res.pss, mem.pss)
		res.threads = append(res.threads, float64(in.threads))
		res.cpuUS = append(res.cpuUS, float64(d.cpuNS)/1e3)
		res.ctxsw = append(res.ctxsw, float64(d.ctxsw))
		res.wakeups = append(res.wakeups, float64(in.wakeups))
	}
	for _, r := range rows {
		if res := b.idle[r]; res.err != nil {
			b.logf("idle: %s: %v", r.name, res.err)
		}
	}
}

// memory is what the idle test reads of a process's memory, in KiB.
type memory struct {
	rss, hwm  float64 // VmRSS, VmHWM from /proc/PID/status
	anon, pss float64 // Anonymous, Pss from /proc/PID/smaps_rollup
}

// idleMemory reads the memory figures of pid.
func idleMemory(pid int) (memory, error) {
	var m memory
	st, err := statusFields(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return m, err
	}
	rollup, err := statusFields(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return m, err
	}
	for _, f := range []struct {
		to  *float64
		val string
	}{{&m.rss, st["VmRSS"]}, {&m.hwm, st["VmHWM"]}, {&m.anon, rollup["Anonymous"]}, {&m.pss, rollup["Pss"]}} {
		n, err := kib(f.val)
		if err != nil {
			return m, fmt.Errorf("/proc/%d: unreadable VmRSS, VmHWM (status), Anonymous or Pss (smaps_rollup)", pid)
		}
		*f.to = float64(n)
	}
	return m, nil
}

// sumUsage adds up the usage of every thread in after, less what the same
// thread had used in before (nil: nothing). A thread missing from before
// was started in between and counts whole.
func sumUsage(after, before map[int]taskUsage) taskUsage {
	var sum taskUsage
	for tid, a := range after {
		bf := before[tid]
		sum.ctxsw += a.ctxsw - bf.ctxsw
		sum.cpuNS += a.cpuNS - bf.cpuNS
	}
	return sum
}

// checkIdleChild waits until the init pid has started its sleeping child
// (10 s at most, for a loaded machine) and checks that the init is still
// running and has that one child only.
func (b *bench) checkIdleChild(pid int) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		kids, err := children(pid)
		if err != nil {
			return fmt.Errorf("init exited: %w", err)
		}
		if len(kids) == 1 {
			return nil
		}
		if len(kids) > 1 || time.Now().After(deadline) {
			return fmt.Errorf("init has %d children, want 1 (the sleeping child)", len(kids))
		}
		time.Sleep(10 * time.Millisecond)
	}
}
