package main

import (
	"fmt"
	"os"
	"time"
)

// startupResult holds the wall times of the start-up test, in
// milliseconds: of a bare /bin/true as PID 1, and of each row's
// `INIT -- /bin/true`.
type startupResult struct {
	bare    []float64
	bareErr error // the bare /bin/true failed: nothing to subtract
	times   map[*row][]float64
	errs    map[*row]error
}

// runStartup times start-ups of every row and of a bare /bin/true, each
// as PID 1 of a fresh PID namespace, round by round in a fresh order.
func (b *bench) runStartup() {
	rows := b.rowsFor(wStartup)
	res := &b.startup
	res.times = map[*row][]float64{}
	res.errs = map[*row]error{}
	b.logf("start-up: %d runs of each of %d inits and of a bare %s", b.cfg.startupRuns, len(rows), b.truePath)
	// Slot len(rows) is the bare /bin/true.
	for i := 0; i < b.cfg.startupRuns; i++ {
		for _, k := range order(len(rows)+1, i) {
			if k == len(rows) {
				ms, err := b.timeStart([]string{b.truePath}, b.env, nil)
				if err != nil {
					res.bareErr = err
					return
				}
				res.bare = append(res.bare, ms)
				continue
			}
			r := rows[k]
			if res.errs[r] != nil {
				continue
			}
			ms, err := b.timeStart(r.argv(b.truePath), b.environ(r), r.logFile)
			if err != nil {
				res.errs[r] = r.failure(err)
				b.logf("start-up: %s: %v", r.name, res.errs[r])
				continue
			}
			res.times[r] = append(res.times[r], ms)
		}
	}
}

// timeStart runs argv as PID 1 of a fresh PID namespace and returns the
// milliseconds from just before the fork to just after wait4 returned.
func (b *bench) timeStart(argv, env []string, stderr *os.File) (float64, error) {
	start := time.Now()
	pid, err := b.spawnDirect(argv, env, stderr)
	if err != nil {
		return 0, err
	}
	code, err := waitPID(pid)
	elapsed := time.Since(start)
	if err != nil {
		return 0, err
	}
	if code != 0 {
		return 0, fmt.Errorf("exit status %d", code)
	}
	return float64(elapsed) / float64(time.Millisecond), nil
}
