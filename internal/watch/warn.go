package watch

import (
	"strconv"
	"time"

	"github.com/reaper-init/reaper-init/internal/logx"
)

// Steps of the PID-pressure warning, in points of percent of the nearest
// limit. It fires above Config.PIDPressure.
const (
	pressureClearGap = 5 // say it cleared this far under the threshold (less for a threshold under 20)
	pressureStepPct  = 5 // warn again after a move this large
	maxHolders       = 3 // processes named in the warning
)

// pressureClearPct is the use under which a PID-pressure warning clears:
// 5 points under the threshold, or a quarter of it when that is less.
func pressureClearPct(warn int64) int64 { return warn - min(pressureClearGap, warn/4) }

// zombieWarning is what the last zombie warning said.
type zombieWarning struct {
	active bool
	pid    int
	start  uint64
	comm   string
	count  int
}

// pressureWarning is what the last PID-pressure warning said.
type pressureWarning struct {
	active bool
	kind   string
	path   string
	max    int64
	pct    int64
	used   int64
}

// warnZombies warns when a living process holds more zombies than the
// threshold. It says a state once, and again only when the count moved
// by a quarter or more, or when another parent took over (the first one
// fell to the threshold or the new one holds a quarter more); it says
// once that the state cleared when the largest count fell to three
// quarters of the threshold or below.
func (w *Watcher) warnZombies() {
	th := w.cfg.ZombieThreshold
	z := &w.zwarn
	top, count := -1, 0
	if len(w.top) > 0 {
		top = w.top[0]
		count = int(w.zombies[top])
	}
	if count > th {
		p := &w.procs[top]
		say := !z.active
		switch {
		case say:
		case p.PID != z.pid || p.StartTime != z.start:
			prev := w.zombieCount(z.pid, z.start)
			say = prev <= th || (count-prev)*4 >= prev
		default:
			say = abs(count-z.count)*4 >= z.count
		}
		if !say {
			return
		}
		over := w.ZombieParentsOver(th)
		*z = zombieWarning{active: true, pid: p.PID, start: p.StartTime, comm: p.Comm, count: count}
		w.lastZombie = *z
		line := "warning: zombies piling up " + logx.KVInt("pid", p.PID) + " " + logx.KV("comm", p.Comm) +
			" " + logx.KVInt("zombies", count)
		if age := w.oldest[top]; age > 0 {
			line += " oldest=" + roundAge(age).String()
		}
		line += " " + logx.KVInt("threshold", th)
		if over > 1 {
			line += " " + logx.KVInt("parents", over)
		}
		w.logf(line)
		return
	}
	if z.active && count*4 <= th*3 {
		z.active = false
		w.logf("zombies cleared " + logx.KVInt("pid", z.pid) + " " + logx.KV("comm", z.comm) + " " +
			logx.KVInt("zombies", w.zombieCount(z.pid, z.start)) + " " + logx.KVInt("threshold", th))
	}
}

// zombieCount returns the zombies held now by the process pid started at
// start, or 0 when it is gone.
func (w *Watcher) zombieCount(pid int, start uint64) int {
	i := w.index(pid)
	if i < 0 || w.procs[i].StartTime != start {
		return 0
	}
	return int(w.zombies[i])
}

// roundAge rounds a zombie's age for the log: to 100ms under ten
// seconds, to the second above.
func roundAge(d time.Duration) time.Duration {
	if d < 10*time.Second {
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Second)
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// nearest returns the limit with the highest use in percent, or nil.
func (w *Watcher) nearest() *Limit {
	var best *Limit
	for i := range w.limits {
		l := &w.limits[i]
		if l.Max <= 0 {
			continue
		}
		if best == nil || l.Used*best.Max > best.Used*l.Max {
			best = l
		}
	}
	return best
}

// warnPressure warns when PID use passes Config.PIDPressure (80%) of the
// nearest limit, naming the limit and the processes holding the most
// PIDs. It says a state once, and again when the use moved by 5 points or
// the limit changed; it says once that the state cleared when the use
// fell 5 points under the threshold (75%).
func (w *Watcher) warnPressure() {
	pw := &w.pwarn
	warnPct := int64(w.cfg.PIDPressure)
	l := w.nearest()
	if l != nil && l.Over(w.cfg.PIDPressure) {
		pct := l.Percent()
		if pw.active && l.Kind == pw.kind && l.Path == pw.path && l.Max == pw.max &&
			abs(int(pct-pw.pct)) < pressureStepPct {
			return
		}
		*pw = pressureWarning{active: true, kind: l.Kind, path: l.Path, max: l.Max, pct: pct, used: l.Used}
		w.lastPressure = *pw
		line := "warning: PID use near its limit " + logx.KV("limit", l.Kind) +
			" used=" + strconv.FormatInt(l.Used, 10) + " max=" + strconv.FormatInt(l.Max, 10) +
			" percent=" + strconv.FormatInt(pct, 10) + " " + logx.KVInt("processes", len(w.procs)) +
			" " + logx.KVInt("tasks", w.nTasks) + " " + logx.KV("holders", w.holders())
		if l.Path != "" {
			line += " " + logx.KV("path", l.Path)
		}
		w.logf(line)
		return
	}
	if !pw.active {
		return
	}
	// Compare with the limit that was warned about, if it is still read.
	cur := l
	for i := range w.limits {
		if w.limits[i].Kind == pw.kind && w.limits[i].Path == pw.path {
			cur = &w.limits[i]
		}
	}
	if cur != nil && cur.Max > 0 && cur.Used*100 >= cur.Max*pressureClearPct(warnPct) {
		return
	}
	pw.active = false
	line := "PID use back under its limit " + logx.KV("limit", pw.kind)
	if cur != nil && cur.Max > 0 {
		line += " used=" + strconv.FormatInt(cur.Used, 10) + " max=" + strconv.FormatInt(cur.Max, 10) +
			" percent=" + strconv.FormatInt(cur.Percent(), 10)
	}
	w.logf(line)
}

// holders formats the processes holding the most tasks (their threads and
// their direct children's) as "PID:COMM:TASKS,...", most first. The init
// itself, and processes holding only their own single task, are left out.
func (w *Watcher) holders() string {
	var top [maxHolders]int
	n := 0
	for i, h := range w.held {
		if w.procs[i].PID == w.self || h <= 1 {
			continue
		}
		pos := n
		for pos > 0 && w.held[top[pos-1]] < h {
			pos--
		}
		if pos >= maxHolders {
			continue
		}
		if n < maxHolders {
			n++
		}
		copy(top[pos+1:n], top[pos:n-1])
		top[pos] = i
	}
	var b []byte
	for k := 0; k < n; k++ {
		if k > 0 {
			b = append(b, ',')
		}
		p := &w.procs[top[k]]
		b = strconv.AppendInt(b, int64(p.PID), 10)
		b = append(b, ':')
		b = append(b, p.Comm...)
		b = append(b, ':')
		b = strconv.AppendInt(b, int64(w.held[top[k]]), 10)
	}
	return string(b)
}
