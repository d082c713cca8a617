package main

import (
	"time"

	"github.com/reaper-init/reaper-init/internal/cli"
	"github.com/reaper-init/reaper-init/internal/ending"
	"github.com/reaper-init/reaper-init/internal/logx"
	"github.com/reaper-init/reaper-init/internal/procfs"
	"github.com/reaper-init/reaper-init/internal/supervise"
	"github.com/reaper-init/reaper-init/internal/watch"
	"golang.org/x/sys/unix"
)

// theEnd composes how the init ends, in one place: the termination
// summary, the termination-message file and the log's last line all take
// it from here.
type theEnd struct {
	sum  ending.Summary
	file *ending.File
	oom  *ending.OOMCounter
	log  *logx.Logger
	dump unix.Signal // --dump-signal, named when it was sent
	buf  []byte
}

func newEnding(cfg *cli.Config, log *logx.Logger) *theEnd {
	e := &theEnd{log: log, oom: ending.NewOOMCounter("", "")}
	f, err := ending.NewFile(cfg.TerminationLog, cfg.TerminationLog != "")
	if err != nil {
		log.Warn(err.Error()) // "termination log PATH: ..."
	}
	e.file = f
	e.sum.Grace = cfg.Grace
	e.dump = cfg.DumpSignal
	e.sum.Pause = cfg.Pause
	return e
}

// startCounting takes the OOM counter's baseline. It runs once the child
// has started (the Later of the loop): reading the cgroup files costs a
// dozen system calls that a short-lived command need not wait for.
func (e *theEnd) startCounting() {
	_ = e.oom.Start()
}

// stopping writes the provisional summary when the first terminating
// signal comes in: the kubelet's own SIGKILL would leave no later chance.
func (e *theEnd) stopping(sig unix.Signal, at time.Time, sent unix.Signal, child int, w *watch.Watcher) {
	e.sum.Signal, e.sum.SignalAt, e.sum.Forwarded = sig, at, sent
	e.sum.Running = running(child)
	e.watchSaw(w)
	if err := e.file.WriteProvisional(&e.sum); err != nil {
		e.log.Debug(err.Error())
	}
}

// record takes in how the loop ended, and reports whether the ending was
// unusual enough to say in the log at the default verbosity.
func (e *theEnd) record(out supervise.Outcome, w *watch.Watcher) bool {
	s := &e.sum
	if out.Exited {
		s.Child = ending.ChildStatus(out.Status)
		if out.Status.Signaled() && out.Status.Signal() == unix.SIGKILL {
			if e.oom.Path() == "" {
				// No baseline (the init ended before it was taken):
				// a count above 0 counts as new, the container's
				// cgroup being the init's own.
				_ = e.oom.StartAtZero()
			}
			s.OOMKills, _ = e.oom.Since()
		}
	}
	if out.Received != 0 {
		s.Signal, s.SignalAt = out.Received, out.SignalAt
	}
	if out.Forwarded {
		s.Forwarded = out.Signal
	}
	if out.Dumped {
		s.Dump = e.dump
	}
	s.Kill = out.KilledBy
	if out.KilledBy != ending.NotKilled {
		s.Killed = ending.Procs{Count: out.Killed, First: out.FirstKilled}
	}
	if out.Drained {
		s.Drained = ending.Procs{Count: out.DrainCount, First: out.DrainFirst}
	}
	warned := e.watchSaw(w)
	switch s.Reason() {
	case ending.GraceExpired, ending.SecondSignal, ending.DrainKilled, ending.OOMKilled:
		return true
	}
	return warned
}

// watchSaw copies what the watch last warned about into the summary and
// reports whether it ever warned.
func (e *theEnd) watchSaw(w *watch.Watcher) bool {
	if w == nil {
		return false
	}
	warned := false
	if pid, comm, n := w.LastZombieHolder(); pid != 0 {
		e.sum.Zombies = ending.ZombieHolder{PID: pid, Comm: comm, Zombies: n}
		warned = true
	}
	if kind, used, max := w.LastPressure(); max != 0 {
		e.sum.Pressure = ending.PIDPressure{Limit: kind, Used: used, Max: max}
		warned = true
	}
	return warned
}

// finish writes the final summary and, for an unusual ending, logs it as
// the last line; it returns code, the exit code, which nothing here can
// change.
func (e *theEnd) finish(code int, unusual bool) int {
	e.sum.Exit = code
	if err := e.file.WriteFinal(&e.sum); err != nil {
		e.log.Debug(err.Error())
	}
	if unusual || e.log.Enabled(logx.LevelInfo) {
		e.buf = e.sum.AppendFinal(e.buf[:0])
		e.log.Print(logx.LevelQuiet, string(e.buf))
	}
	return code
}

// runningMax and runningBudget bound the walk that counts what is still
// running for the provisional summary: it is written at once, whatever
// the size of the tree.
const (
	runningMax    = 4096
	runningBudget = 2 * time.Millisecond
)

// running counts the init's living descendants, the main child first.
func running(child int) (ps ending.Procs) {
	ps.First.PID = child
	// The main child's name comes from the walk, which reads it anyway,
	// or from its comm file when the walk does not get to it.
	defer func() {
		if child > 0 && ps.First.Comm == "" {
			ps.First.Comm = procfs.Comm("/proc", child)
		}
	}()
	w := procfs.NewWalker()
	if w.Start("/proc") != nil {
		if child > 0 {
			ps.Count = 1
		}
		return ps
	}
	deadline := time.Now().Add(runningBudget)
	for !w.Step(64, func(p *procfs.Proc) bool {
		if p.Living() {
			ps.Count++
			switch {
			case p.PID == child:
				ps.First.Comm = p.Comm
			case ps.First.PID == 0:
				ps.First = ending.Proc{PID: p.PID, Comm: p.Comm}
			}
		}
		return ps.Count < runningMax
	}) {
		if time.Now().After(deadline) {
			break
		}
	}
	return ps
}
