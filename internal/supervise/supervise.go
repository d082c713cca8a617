// Package supervise is reaper-init's main loop: it waits for signals,
// forwards them, reaps children, runs the watch, and decides when and how
// the init ends.
//
// # One loop, one actor
//
// Everything that changes state happens on one goroutine, in
// [Supervisor.Run]: signals, the reap loop, the deadlines (grace end,
// dump-wait end, settle end, held signals, the next watch tick) and the
// watch's /proc scan, so there is no lock, no timer goroutine and no
// second waiter. The loop sleeps in one wait (see waiter) until the signal
// pipe is readable or the nearest deadline passes. Work that may be long
// (a /proc scan of 30,000 processes, a walk of a large process tree) runs
// in bounded steps of well under a millisecond, with the pipe read and the
// deadlines checked between two steps, so that a signal or a reap is never
// held back by more than a step.
//
// Plain signals are forwarded by the signal handler itself (package
// catch); the loop sets what the handler may do, does the bookkeeping for
// what it did, and decides everything else: delays, the grace period, the
// second-signal rule, job control, pause mode.
//
// # Ending
//
// Without a grace period the init ends as tini does: as soon as the main
// child has been reaped, with its status. With --grace D:
//
//   - Escalation: once a terminating signal (TERM, INT, QUIT, HUP by
//     default, after rewriting; see --stop-signals) has been forwarded,
//     the main child has D to exit. Then the optional dump signal goes to
//     everything still alive, and after --dump-wait SIGKILL goes to the
//     child's process group and to every other process the init answers
//     for: all of the PID namespace when it is PID 1 (kill(-1)), its
//     descendants otherwise.
//   - Drain: when the main child exits and other processes remain, they
//     get SIGTERM, then have what is left of D (D when no escalation was
//     running) before the same dump and SIGKILL. The init exits with the
//     main child's status once nothing is left.
//   - A second terminating signal during either wait kills at once.
//
// In pause mode (no child) SIGTERM and SIGINT end the init with status 0,
// after the same drain when --grace is set; every other signal is
// ignored.
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
	"github.com/reaper-init/reaper-init/internal/watch"
	"golang.org/x/sys/unix"
)

// settle bounds how long the init waits for SIGKILLed processes to be
// reaped before it exits anyway (a process stuck in the kernel cannot be
// waited for; as PID 1 the kernel kills what is left when the init exits).
const settle = 5 * time.Second

// othersPoll is how often a PID 1 in a drain looks whether processes that
// are not its children (they joined the namespace from outside, as docker
// exec does) are still there: they tell it nothing when they exit.
const othersPoll = 50 * time.Millisecond

// walkPerStep bounds the processes one step of a process-tree walk
// visits (a few system calls each).
const walkPerStep = 48

// logListMax bounds how many processes one log line names.
const logListMax = 20

// Config is what the supervisor needs to know about the child and the
// user's choices.
type Config struct {
	Child       int               // the main child's PID, also its process group ID; 0 in pause mode
	PID1        bool              // the init is PID 1 of its namespace
	SingleChild bool              // forward to the child only, not its group
	Rewrites    *signals.Rewrites // nil: forward unchanged
	Stop        signals.Set       // terminating signals; 0 means signals.DefaultStop
	Grace       time.Duration     // 0: no escalation, no drain
	DumpSignal  unix.Signal       // 0: none
	DumpWait    time.Duration
	Delays      *[signals.Max + 1]time.Duration // nil: no delays
	WarnOnReap  bool                            // log each reaped orphan
	// JobControl: the init is not PID 1, so it stops when the main child
	// stops and continues it when continued, as a shell's job expects.
	JobControl bool
	// TTY is the terminal whose foreground group the child was given, or
	// -1.
	TTY int
	Log *logx.Logger
	// ProcRoot is where the namespace's proc file system is; "" is /proc.
	ProcRoot string

	// Watch, when not nil, is ticked every WatchInterval.
	Watch         *watch.Watcher
	WatchInterval time.Duration
	// Stats are updated for every reap and forwarded signal; nil for none.
	Stats *watch.Stats

	// OnStopping, when set, is called once, when the first terminating
	// signal has arrived (received as sig, at) and been handled (sent is
	// what was forwarded for it, 0 when nothing was yet): the provisional
	// termination summary.
	OnStopping func(sig unix.Signal, at time.Time, sent unix.Signal)

	// Later, when set, is called once, LaterDelay after the loop starts,
	// unless it has ended by then: work that must not delay a short-lived
	// child's exit (giving back start-up memory).
	Later      func()
	LaterDelay time.Duration
}

type phase int

const (
	running  phase = iota // the main child is alive, no deadline passed
	draining              // the main child is gone (or pause mode ends); others got SIGTERM
	dumping               // the dump signal went out; SIGKILL follows
	killed                // SIGKILL went out; reaping what is left
)

// Signals is where the supervisor gets its signals and how it steers the
// signal handler: the catch package in production.
type Signals interface {
	FD() int                        // readable when signals have arrived
	Read(b []byte) int              // reads what has arrived, without blocking
	ChildSeen()                     // a SIGCHLD byte was read
	SetTarget(t, c int)             // where the handler forwards (catch.SetTarget)
	SetForward(s, t int, loud bool) // loud: tell the loop (catch.Loud)
	Counted(fn func(sig, n int))    // the signals forwarded quietly
	DisableFast()
}

// Supervisor runs the main loop. Create it with New.
type Supervisor struct {
	cfg   Config
	sigs  Signals
	wait  *waiter
	clock func() time.Time
	buf   [128]byte

	phase      phase
	mainDone   bool
	terminated bool // a terminating signal was forwarded (grace running)
	stopping   bool // a terminating signal has arrived (OnStopping called)
	pauseEnd   bool // pause mode: TERM or INT arrived
	jobStopped bool // stopped with the child; SIGCONT gives it the terminal back

	// Deadlines; the zero time means none.
	graceEnd  time.Time
	dumpEnd   time.Time
	settleEnd time.Time
	othersAt  time.Time
	tickAt    time.Time
	laterAt   time.Time
	held      [signals.Max + 1]time.Time
	settled   bool

	walker  *procfs.Walker
	walk    walkJob
	killWhy string // why killAll ran, for its log line
	counted func(sig, n int)
	lastErr string // the watch's last error, logged once

	out Outcome
}

// New returns a supervisor that reads its signals from sigs.
func New(cfg Config, sigs Signals) *Supervisor {
	if cfg.ProcRoot == "" {
		cfg.ProcRoot = "/proc"
	}
	if cfg.Stop == 0 {
		cfg.Stop = signals.DefaultStop
	}
	if cfg.Stats == nil {
		cfg.Stats = watch.NewStats()
	}
	s := &Supervisor{cfg: cfg, sigs: sigs, clock: time.Now, walker: procfs.NewWalker()}
	s.counted = s.countedSignal
	return s
}

// Run loops until the init should exit and says how it ended. pending are
// signals received before the loop started (by an earlier image of the
// init, or the parent's death noticed at start-up), handled first as if
// they had just arrived.
func (s *Supervisor) Run(pending []unix.Signal) Outcome {
	w, err := newWaiter(s.sigs.FD())
	if err != nil {
		s.cfg.Log.Error("cannot wait for signals: " + err.Error())
		s.out.Err = err
		return s.out
	}
	s.wait = w
	if s.cfg.Watch != nil && s.cfg.WatchInterval > 0 {
		s.tickAt = s.clock().Add(s.cfg.WatchInterval)
	}
	if s.cfg.Later != nil {
		s.laterAt = s.clock().Add(s.cfg.LaterDelay)
	}
	s.updateFast()
	s.reapAll()
	for _, sig := range pending {
		s.receive(sig, false)
	}
	for {
		s.pollSignals()
		s.expire(s.clock())
		s.advance()
		if s.done() {
			break
		}
		if s.background() {
			continue
		}
		next := s.nextDeadline()
		if !next.IsZero() {
			d := next.Sub(s.clock())
			if d <= 0 {
				continue
			}
			s.wait.wait(d)
		} else {
			s.wait.wait(0)
		}
	}
	s.sigs.DisableFast()
	s.collect()
	s.reportKills()
	s.out.Settled = s.settled
	return s.out
}

// collect adds the signals the handler forwarded quietly to the counters.
func (s *Supervisor) collect() {
	s.sigs.Counted(s.counted)
}

func (s *Supervisor) countedSignal(sig, n int) {
	if sig >= 1 && sig < len(s.cfg.Stats.Forwarded) {
		s.cfg.Stats.Forwarded[sig] += uint64(n)
	}
}

// pollSignals reads every signal that has arrived and acts on it.
func (s *Supervisor) pollSignals() {
	for {
		n := s.sigs.Read(s.buf[:])
		if n <= 0 {
			return
		}
		for _, b := range s.buf[:n] {
			sig := unix.Signal(b &^ forwardedBit)
			if sig == unix.SIGCHLD {
				// Clear first: a SIGCHLD arriving from here on writes
				// a new byte, so no exit goes unnoticed.
				s.sigs.ChildSeen()
				s.reapAll()
				continue
			}
			s.receive(sig, b&forwardedBit != 0)
		}
		if n < len(s.buf) {
			return
		}
	}
}

// forwardedBit marks a byte whose signal the handler forwarded itself
// (catch.Forwarded).
const forwardedBit = 0x80

// background does one bounded step of the work in progress (a process
// walk, else a watch tick) and reports whether there was any.
//
// Between two steps it yields the CPU: a scan of a crowded namespace
// runs for tens of milliseconds, and on a busy machine the scheduler
// would otherwise let it run out its time slice before a task it has
// just woken (the child a forwarded signal was sent to) gets the CPU.
func (s *Supervisor) background() bool {
	if s.walk.active {
		s.stepWalk()
		if s.walk.active {
			rawsys.SchedYield()
		}
		return true
	}
	if s.cfg.Watch != nil && s.cfg.Watch.Ticking() {
		done, err := s.cfg.Watch.Step()
		if done {
			s.watchResult(err)
		} else {
			rawsys.SchedYield()
		}
		return true
	}
	return false
}

// watchResult logs a watch error once, and again only when it changes or
// after a tick without error.
func (s *Supervisor) watchResult(err error) {
	switch {
	case err == nil:
		s.lastErr = ""
	case err.Error() != s.lastErr:
		s.lastErr = err.Error()
		s.cfg.Log.Warn("watch: " + s.lastErr)
	}
}

// nextDeadline is the earliest deadline set, or the zero time.
func (s *Supervisor) nextDeadline() time.Time {
	next := earliest(earliest(s.graceEnd, s.dumpEnd), earliest(s.settleEnd, s.othersAt))
	next = earliest(earliest(next, s.tickAt), s.laterAt)
	for _, due := range s.held {
		next = earliest(next, due)
	}
	return next
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// due reports whether deadline d is set and has passed, and clears it.
func due(d *time.Time, now time.Time) bool {
	if d.IsZero() || d.After(now) {
		return false
	}
	*d = time.Time{}
	return true
}

// expire acts on every deadline that has passed.
func (s *Supervisor) expire(now time.Time) {
	if due(&s.graceEnd, now) {
		s.graceOver()
	}
	if due(&s.dumpEnd, now) {
		s.killAll("dump wait over")
	}
	if due(&s.settleEnd, now) {
		s.settled = true
		s.cfg.Log.Warn("processes still not reaped " + settle.String() + " after SIGKILL; exiting")
	}
	due(&s.othersAt, now) // done() looks again
	if due(&s.laterAt, now) {
		s.cfg.Later()
	}
	for sig := range s.held {
		if due(&s.held[sig], now) {
			s.forward(unix.Signal(sig))
		}
	}
	if due(&s.tickAt, now) {
		s.collect()
		s.tickAt = now.Add(s.cfg.WatchInterval)
		if !s.cfg.Watch.Ticking() {
			if err := s.cfg.Watch.Begin(); err != nil {
				s.watchResult(err)
			}
		}
	}
}

// ended reports whether the init was asked to end: the main child is
// gone, or pause mode got its signal.
func (s *Supervisor) ended() bool {
	if s.cfg.Child <= 0 {
		return s.pauseEnd
	}
	return s.mainDone
}

// done reports whether the init may exit now.
func (s *Supervisor) done() bool {
	if !s.ended() {
		return false
	}
	if s.cfg.Grace <= 0 || s.settled {
		return true
	}
	if s.phase == running || s.walk.active {
		return false
	}
	if reap.HasChildren() {
		return false
	}
	if s.othersLeft() {
		// They tell the init nothing when they exit: look again in a
		// while.
		if s.othersAt.IsZero() {
			s.othersAt = s.clock().Add(othersPoll)
		}
		return false
	}
	return true
}

// advance moves from running to draining once the main child is gone.
func (s *Supervisor) advance() {
	if !s.mainDone || s.phase != running || s.cfg.Grace <= 0 {
		return
	}
	s.phase = draining
	s.updateFast()
	// Signals still held by --delay were meant for the main child; the
	// drain below stops the rest.
	s.held = [signals.Max + 1]time.Time{}
	if !s.anyoneLeft() {
		return
	}
	s.out.Drained = true
	s.sendAll(unix.SIGTERM, "drain: main child exited, stopping the rest")
	s.walk.drain = true
	if s.graceEnd.IsZero() {
		s.graceEnd = s.clock().Add(s.cfg.Grace)
	}
}

// anyoneLeft reports whether any process the init answers for is left.
func (s *Supervisor) anyoneLeft() bool {
	return reap.HasChildren() || s.othersLeft()
}

// othersLeft reports whether, as PID 1, processes are left that are not
// the init's children: they joined the namespace from outside (docker
// exec, nsenter).
func (s *Supervisor) othersLeft() bool {
	return s.cfg.PID1 && kill(-1, 0) == nil
}

// reapAll collects every child that has exited (and, with job control,
// notices the main child's stop), one at a time: each is peeked at first
// (waitid WNOWAIT), so that the signal handler is told to stop forwarding
// before the main child's PID is freed, and so that the command name of a
// process to log is read before it is gone.
func (s *Supervisor) reapAll() {
	for {
		pid, stopped := reap.Peek(s.cfg.JobControl)
		if pid <= 0 {
			return
		}
		main := pid == s.cfg.Child && !s.mainDone
		if main && !stopped {
			s.sigs.DisableFast()
		}
		comm := ""
		if !stopped && (s.cfg.WarnOnReap || (s.phase == killed && s.out.FirstKilled.PID == 0) || (!main && s.drainMisses(pid))) {
			comm = procfs.Comm(s.cfg.ProcRoot, pid)
		}
		ws, ok := reap.Collect(pid, s.cfg.JobControl)
		if !ok {
			return
		}
		if ws.Stopped() {
			if main {
				s.childStopped()
			}
			continue
		}
		s.reaped(pid, ws, comm)
	}
}

func (s *Supervisor) reaped(pid int, ws reap.Status, comm string) {
	code := reap.ExitCode(ws)
	main := pid == s.cfg.Child && !s.mainDone
	if !main && s.drainMisses(pid) && s.walker.Claim(pid) {
		s.count(pid, comm)
	}
	st := s.cfg.Stats
	st.Reaped++
	if s.phase == killed && ws.Signaled() && ws.Signal() == unix.SIGKILL {
		s.out.Killed++
		if s.out.FirstKilled.PID == 0 || main {
			if main && comm == "" {
				comm = s.out.Main.Comm
			}
			s.out.FirstKilled = ending.Proc{PID: pid, Comm: comm}
		}
	}
	if main {
		s.mainDone = true
		s.out.Exited, s.out.Status, s.out.Code = true, ws, code
		st.ChildExit = int64(code)
		s.updateFast()
		s.cfg.Log.Info("main child exited " + logx.KVInt("pid", pid) + " " + status(ws))
		return
	}
	st.OrphansReaped++
	if s.cfg.WarnOnReap {
		s.cfg.Log.Print(logx.LevelQuiet, "reaped orphan "+logx.KVInt("pid", pid)+" "+logx.KV("comm", comm)+" "+status(ws))
	}
}

func status(ws reap.Status) string {
	if ws.Signaled() {
		return "signal=" + signals.Name(ws.Signal())
	}
	return logx.KVInt("exit", ws.ExitStatus())
}

// kill is kill(2) without the scheduler (see package rawsys).
func kill(pid int, sig unix.Signal) error { return rawsys.Kill(pid, sig) }

// describe formats a process list for one log line.
func describe(count int, procs []ending.Proc) string {
	line := logx.KVInt("count", count)
	for i, p := range procs {
		if i == logListMax {
			break
		}
		line += " " + logx.KVInt("pid", p.PID) + " " + logx.KV("comm", p.Comm)
	}
	if count > len(procs) && len(procs) >= logListMax {
		line += " more=" + strconv.Itoa(count-logListMax)
	}
	return line
}
