package supervise

import (
	"strconv"
	"time"

	"github.com/reaper-init/reaper-init/internal/ending"
	"github.com/reaper-init/reaper-init/internal/logx"
	"github.com/reaper-init/reaper-init/internal/procfs"
	"github.com/reaper-init/reaper-init/internal/rawsys"
	"github.com/reaper-init/reaper-init/internal/reap"
	"github.com/reaper-init/reaper-init/internal/signals"
	"golang.org/x/sys/unix"
)

// Outcome is how the loop ended: what the termination summary and the
// exit code are made of.
type Outcome struct {
	// Exited: the main child was reaped, with Status; Code is its exit
	// code (the code, or 128+N for signal N), before any -e remapping.
	Exited bool
	Status reap.Status
	Code   int
	// Main is the main child as last seen (its command name is read when
	// it has to be killed).
	Main ending.Proc
	// Received is the first terminating signal that arrived, as
	// received, at SignalAt; Signal is what the rewrite table made of it
	// (0: dropped), and Forwarded says that reached the child.
	Received  unix.Signal
	Signal    unix.Signal
	SignalAt  time.Time
	Forwarded bool
	// Dumped: the dump signal was sent when the grace period ran out.
	Dumped bool
	// GraceExpired: the grace period (or the drain's) ran out;
	// SecondSignal: a second terminating signal cut it short; Drained:
	// the main child (or pause mode) ended with other processes left,
	// which were sent SIGTERM.
	GraceExpired bool
	SecondSignal bool
	Drained      bool
	// KilledBy says why the init sent SIGKILL to everything;
	// Killed counts the processes reaped after it that died of it;
	// FirstKilled is the main child when it was one of them, else the
	// first reaped.
	KilledBy    ending.KillCause
	Killed      int
	FirstKilled ending.Proc
	// DrainCount is how many processes the drain (or pause mode's end)
	// found still running and sent SIGTERM, DrainFirst the first of them.
	DrainCount int
	DrainFirst ending.Proc
	// Settled: the init gave up waiting for killed processes.
	Settled bool
	// Err is set when the loop could not run at all.
	Err error
}

// walkJob is a walk of the process tree in progress: it signals what it
// finds (as a subreaper) or only counts it (as PID 1, whose kill(-1) has
// already reached everyone), and logs one line when it is done.
type walkJob struct {
	active    bool
	sig       unix.Signal // 0: count only
	skipGroup int         // process group already signalled as a whole
	line      string      // log line prefix; "" for none
	drain     bool        // the drain's walk: its count goes in the Outcome
	self      int         // the init's PID, parent of the zombies the drain counts
	count     int
	names     []ending.Proc
}

// sendAll sends sig, once each, to every process the init answers for: as
// PID 1 the whole namespace (kill(-1) reaches everyone but the init), as
// a subreaper the main child's group and every descendant outside it,
// found by a walk of the process tree in steps. With a line, the
// processes are also counted and named in one log line when the walk is
// done.
func (s *Supervisor) sendAll(sig unix.Signal, line string) {
	s.walk = walkJob{line: line, self: rawsys.Getpid(), names: s.walk.names[:0]}
	if s.cfg.PID1 {
		_ = kill(-1, sig)
	} else {
		s.walk.sig = sig
		if s.cfg.Child > 0 && !s.mainDone {
			_ = kill(-s.cfg.Child, sig)
			s.walk.skipGroup = s.cfg.Child
		}
	}
	if s.walk.sig == 0 && line == "" {
		return
	}
	if err := s.walker.Start(s.cfg.ProcRoot); err != nil {
		s.cfg.Log.Warn("walking the process tree: " + err.Error())
		return
	}
	s.walk.active = true
}

// stepWalk visits the next few processes of the walk in progress.
func (s *Supervisor) stepWalk() {
	done := s.walker.Step(walkPerStep, s.visit)
	if !done {
		return
	}
	s.walk.active = false
	if s.walk.drain {
		s.out.DrainCount = s.walk.count
		if len(s.walk.names) > 0 {
			s.out.DrainFirst = s.walk.names[0]
		}
	}
	if s.walk.line != "" {
		s.cfg.Log.Warn(s.walk.line + " " + describe(s.walk.count, s.walk.names))
	}
}

// visit signals and counts one descendant.
func (s *Supervisor) visit(p *procfs.Proc) bool {
	if !p.Living() {
		// One of the init's children that died of the drain's
		// SIGTERM between the kill and this visit, not reaped yet,
		// was still one of those stopped (one reaped already is
		// counted by reaped, which claims it from the walk).
		if s.walk.drain && p.Zombie() && p.PPID == s.walk.self {
			s.count(p.PID, p.Comm)
		}
		return true
	}
	if s.walk.sig != 0 && (s.walk.skipGroup == 0 || p.PGID != s.walk.skipGroup) {
		_ = kill(p.PID, s.walk.sig)
	}
	s.count(p.PID, p.Comm)
	return true
}

// count adds a process to the walk's count and, while there is room, to
// its names.
func (s *Supervisor) count(pid int, comm string) {
	s.walk.count++
	if len(s.walk.names) < logListMax {
		s.walk.names = append(s.walk.names, ending.Proc{PID: pid, Comm: comm})
	}
}

// drainMisses reports whether pid, a child about to be reaped, would drop
// out of the drain's census unseen: it exited (most likely of the drain's
// SIGTERM) before the walk reached it.
func (s *Supervisor) drainMisses(pid int) bool {
	return s.walk.active && s.walk.drain && !s.walker.Visited(pid)
}

// graceOver runs when the grace period ends: the dump signal first, when
// one is set, else SIGKILL.
func (s *Supervisor) graceOver() {
	if s.phase == killed || s.phase == dumping {
		return
	}
	s.out.GraceExpired = true
	if s.cfg.DumpSignal != 0 {
		s.phase = dumping
		s.out.Dumped = true
		s.updateFast()
		s.sendAll(s.cfg.DumpSignal, "grace period over: sending "+signals.Name(s.cfg.DumpSignal)+" to")
		s.dumpEnd = s.clock().Add(s.cfg.DumpWait)
		return
	}
	s.killAll("grace period over")
}

// killAll sends SIGKILL to everything the init answers for and waits (up
// to settle) for it to be reaped. What was killed is counted as it is
// reaped, and logged when the init ends.
func (s *Supervisor) killAll(why string) {
	if s.phase == killed {
		return
	}
	if s.cfg.Child > 0 && !s.mainDone {
		s.out.Main = ending.Proc{PID: s.cfg.Child, Comm: procfs.Comm(s.cfg.ProcRoot, s.cfg.Child)}
	}
	switch {
	case s.ended():
		s.out.KilledBy = ending.KilledInDrain
	case s.out.SecondSignal:
		s.out.KilledBy = ending.KilledBySecondSignal
	default:
		s.out.KilledBy = ending.KilledByGrace
	}
	s.phase = killed
	s.updateFast()
	s.graceEnd, s.dumpEnd = time.Time{}, time.Time{}
	s.killWhy = why
	s.sendAll(unix.SIGKILL, "")
	s.settleEnd = s.clock().Add(settle)
	s.reapAll()
}

// reportKills logs what killAll killed, once the init is about to exit.
func (s *Supervisor) reportKills() {
	if s.killWhy == "" {
		return
	}
	line := s.killWhy + ": killed " + describe(s.out.Killed, nil)
	if p := s.out.FirstKilled; p.PID != 0 {
		line += " first=" + strconv.Quote(logx.KVInt("pid", p.PID)+" "+logx.KV("comm", p.Comm))
	}
	s.cfg.Log.Warn(line)
}
