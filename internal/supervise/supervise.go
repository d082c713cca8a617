// Package supervise is reaper-init's main loop: it waits for signals,
// forwards them, reaps children, and decides when and how the init ends.
//
// Everything happens on one goroutine, in [Supervisor.Run]: signals, the
// reap loop and the deadlines of the grace period, so there is no lock and
// no second waiter. The loop sleeps in ppoll on the signal pipe of a
// signals.Catcher, with the nearest deadline as its timeout, and wakes
// only for a signal or a deadline it set itself.
//
// # Ending
//
// Without a grace period the init ends as tini does: as soon as the main
// child has been reaped, with its status. With --grace D:
//
//   - Escalation: once a terminating signal (TERM, INT, QUIT, HUP, after
//     rewriting) has been forwarded, the main child has D to exit. Then
//     the optional dump signal goes to everything still alive, and after
//     --dump-wait SIGKILL goes to the child's process group and to every
//     other process the init answers for: all of the PID namespace when it
//     is PID 1 (kill(-1)), its descendants otherwise.
//   - Drain: when the main child exits and other processes remain, they
//     get SIGTERM, then have what is left of D (D when no escalation was
//     running) before the same dump and SIGKILL. The init exits with the
//     main child's status once nothing is left to reap.
//   - A second terminating signal during either wait kills at once.
package supervise

import (
	"strconv"
	"time"

	"github.com/reaper-init/reaper-init/internal/logx"
	"github.com/reaper-init/reaper-init/internal/procfs"
	"github.com/reaper-init/reaper-init/internal/reap"
	"github.com/reaper-init/reaper-init/internal/signals"
	"golang.org/x/sys/unix"
)

// settle bounds how long the init waits for SIGKILLed processes to be
// reaped before it exits anyway (a process stuck in the kernel cannot be
// waited for; as PID 1 the kernel kills what is left when the init exits).
const settle = 5 * time.Second

// logListMax bounds how many processes one log line names.
const logListMax = 20

// Config is what the supervisor needs to know about the child and the
// user's choices.
type Config struct {
	Child       int               // the main child's PID, also its process group ID
	PID1        bool              // the init is PID 1 of its namespace
	SingleChild bool              // forward to the child only, not its group
	Rewrites    *signals.Rewrites // nil: forward unchanged
	Grace       time.Duration     // 0: no escalation, no drain
	DumpSignal  unix.Signal       // 0: none
	DumpWait    time.Duration
	Delays      *[signals.Max + 1]time.Duration // nil: no delays
	WarnOnReap  bool                            // log each reaped orphan
	Log         *logx.Logger
	ProcRoot    string // "/proc"

	// OnReap, when set, is called for every reaped child with its exit
	// code (code or 128+N) and whether it was the main child.
	OnReap func(pid, code int, main bool)
	// OnForward, when set, is called with every signal sent on.
	OnForward func(sig unix.Signal)
}

type phase int

const (
	running  phase = iota // the main child is alive, no deadline passed
	draining              // the main child is gone; others got SIGTERM
	dumping               // the dump signal went out; SIGKILL follows
	killed                // SIGKILL went out; reaping what is left
)

// Supervisor runs the main loop. Create it with New.
type Supervisor struct {
	cfg     Config
	signals Signals

	phase      phase
	mainDone   bool
	mainCode   int
	terminated bool // a terminating signal was forwarded

	// Deadlines; the zero time means none.
	graceEnd  time.Time // end of the grace period
	dumpEnd   time.Time // end of --dump-wait
	settleEnd time.Time // end of the wait after SIGKILL
	settled   bool

	pending [signals.Max + 1]time.Time // due time of held signals
}

// Signals is where the supervisor gets its signals from: a
// *signals.Catcher in production.
type Signals interface {
	FD() int                     // readable when signals have arrived
	Drain(func(sig unix.Signal)) // hands over what has arrived
}

// New returns a supervisor that reads its signals from sigs.
func New(cfg Config, sigs Signals) *Supervisor {
	if cfg.ProcRoot == "" {
		cfg.ProcRoot = "/proc"
	}
	return &Supervisor{cfg: cfg, signals: sigs}
}

// Run loops until the init should exit and returns the main child's exit
// code (code, or 128+N for signal N), before any -e remapping. pending,
// when not 0, is handled first, as if it had just arrived.
func (s *Supervisor) Run(pending unix.Signal) int {
	s.reapAll()
	if pending != 0 {
		s.receive(pending)
	}
	s.advance()
	fds := []unix.PollFd{{Fd: int32(s.signals.FD()), Events: unix.POLLIN}}
	onSignal := s.onSignal // one closure, not one per wake-up
	for !s.done() {
		var timeout *unix.Timespec
		if next := s.nextDeadline(); !next.IsZero() {
			ts := unix.NsecToTimespec(max(int64(time.Until(next)), 0))
			timeout = &ts
		}
		fds[0].Revents = 0
		if _, err := unix.Ppoll(fds, timeout, nil); err != nil && err != unix.EINTR {
			s.cfg.Log.Error("ppoll: " + err.Error())
			time.Sleep(10 * time.Millisecond) // never spin
		}
		s.signals.Drain(onSignal)
		s.expire(time.Now())
		s.advance()
	}
	return s.mainCode
}

func (s *Supervisor) onSignal(sig unix.Signal) {
	if sig == unix.SIGCHLD {
		s.reapAll()
	} else {
		s.receive(sig)
	}
}

// nextDeadline is the earliest deadline set, or the zero time.
func (s *Supervisor) nextDeadline() time.Time {
	next := earliest(earliest(s.graceEnd, s.dumpEnd), s.settleEnd)
	for _, due := range s.pending {
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
	for sig := range s.pending {
		if due(&s.pending[sig], now) {
			s.forward(unix.Signal(sig))
		}
	}
}

// done reports whether the init may exit now.
func (s *Supervisor) done() bool {
	if !s.mainDone {
		return false
	}
	if s.cfg.Grace <= 0 || s.settled {
		return true
	}
	return s.phase != running && !reap.HasChildren()
}

// advance moves from running to draining once the main child is gone.
func (s *Supervisor) advance() {
	if !s.mainDone || s.phase != running || s.cfg.Grace <= 0 {
		return
	}
	s.phase = draining
	// Signals still held by --delay were meant for the main child; the
	// drain below stops the rest.
	s.pending = [signals.Max + 1]time.Time{}
	if !reap.HasChildren() {
		return
	}
	s.cfg.Log.Warn("drain: main child exited, stopping the rest " + s.describe(s.alive()))
	s.sendAll(unix.SIGTERM)
	if s.graceEnd.IsZero() {
		s.graceEnd = time.Now().Add(s.cfg.Grace)
	}
}

// reapAll collects every exited child and notices the main child among
// them.
func (s *Supervisor) reapAll() {
	if s.cfg.WarnOnReap {
		for pid := reap.Next(); pid > 0; pid = reap.Next() {
			comm := procfs.Comm(s.cfg.ProcRoot, pid)
			ws, ok := reap.One(pid)
			if !ok {
				break
			}
			s.reaped(pid, ws, comm)
		}
		return
	}
	reap.All(func(pid int, ws reap.Status) { s.reaped(pid, ws, "") })
}

func (s *Supervisor) reaped(pid int, ws reap.Status, comm string) {
	code := reap.ExitCode(ws)
	main := pid == s.cfg.Child
	if main {
		s.mainDone, s.mainCode = true, code
		s.cfg.Log.Info("main child exited " + logx.KVInt("pid", pid) + " " + status(ws))
	} else if s.cfg.WarnOnReap {
		s.cfg.Log.Print(logx.LevelQuiet, "reaped orphan "+logx.KVInt("pid", pid)+" "+logx.KV("comm", comm)+" "+status(ws))
	}
	if s.cfg.OnReap != nil {
		s.cfg.OnReap(pid, code, main)
	}
}

func status(ws reap.Status) string {
	if ws.Signaled() {
		return "signal=" + signals.Name(ws.Signal())
	}
	return logx.KVInt("exit", ws.ExitStatus())
}

// receive handles one signal from outside.
func (s *Supervisor) receive(sig unix.Signal) {
	if !signals.Forwardable(sig) {
		s.cfg.Log.Debug("not forwarding " + signals.Name(sig))
		return
	}
	if s.cfg.Delays != nil && s.cfg.Delays[sig] > 0 && !s.mainDone {
		if !s.pending[sig].IsZero() {
			s.cfg.Log.Info(signals.Name(sig) + " again while held: forwarding now")
			s.pending[sig] = time.Time{}
			s.forward(sig)
			return
		}
		s.pending[sig] = time.Now().Add(s.cfg.Delays[sig])
		s.cfg.Log.Info("holding " + signals.Name(sig) + " for " + s.cfg.Delays[sig].String())
		return
	}
	s.forward(sig)
}

// forward sends sig, through the rewrite table, to the child's group (or
// the child), and starts or short-cuts the grace period.
func (s *Supervisor) forward(sig unix.Signal) {
	out := sig
	if s.cfg.Rewrites != nil {
		out = s.cfg.Rewrites.Map(sig)
	}
	if out == 0 {
		s.cfg.Log.Debug("dropping " + signals.Name(sig))
		return
	}
	if s.phase != running && signals.Terminating(out) {
		s.killAll("second " + signals.Name(out))
		return
	}
	target := -s.cfg.Child
	if s.cfg.SingleChild {
		target = s.cfg.Child
	}
	if err := kill(target, out); err != nil && err != unix.ESRCH {
		s.cfg.Log.Warn("forwarding " + signals.Name(out) + ": " + err.Error())
	}
	s.cfg.Log.Debug("forwarded " + signals.Name(out) + " " + logx.KVInt("to", target))
	if s.cfg.OnForward != nil {
		s.cfg.OnForward(out)
	}
	if s.cfg.Grace <= 0 || !signals.Terminating(out) {
		return
	}
	if s.terminated {
		s.killAll("second terminating signal " + signals.Name(out))
		return
	}
	s.terminated = true
	if s.graceEnd.IsZero() {
		s.cfg.Log.Info("grace period of " + s.cfg.Grace.String() + " started by " + signals.Name(out))
		s.graceEnd = time.Now().Add(s.cfg.Grace)
	}
}

// graceOver runs when the grace period ends: the dump signal first, when
// one is set, else SIGKILL.
func (s *Supervisor) graceOver() {
	if s.phase == killed || s.phase == dumping {
		return
	}
	if s.cfg.DumpSignal != 0 {
		s.phase = dumping
		s.cfg.Log.Warn("grace period over: sending " + signals.Name(s.cfg.DumpSignal) + " to " + s.describe(s.alive()))
		s.sendAll(s.cfg.DumpSignal)
		s.dumpEnd = time.Now().Add(s.cfg.DumpWait)
		return
	}
	s.killAll("grace period over")
}

// killAll sends SIGKILL to everything the init answers for and waits (up
// to settle) for it to be reaped.
func (s *Supervisor) killAll(why string) {
	if s.phase == killed {
		return
	}
	s.phase = killed
	s.graceEnd, s.dumpEnd = time.Time{}, time.Time{}
	s.cfg.Log.Warn(why + ": killed " + s.describe(s.alive()))
	s.sendAll(unix.SIGKILL)
	s.settleEnd = time.Now().Add(settle)
	s.reapAll()
}

// sendAll sends sig, once each, to the main child's process group and
// every other process the init answers for: as PID 1 that is the whole
// namespace (kill(-1) reaches everyone but the init), as a subreaper the
// group and then every descendant outside it.
func (s *Supervisor) sendAll(sig unix.Signal) {
	if s.cfg.PID1 {
		_ = kill(-1, sig)
		return
	}
	_ = kill(-s.cfg.Child, sig)
	for _, p := range s.alive() {
		if pgid, err := unix.Getpgid(p.PID); err == nil && pgid != s.cfg.Child {
			_ = kill(p.PID, sig)
		}
	}
}

// alive lists the init's living descendants (at most a bounded number),
// as seen in /proc.
func (s *Supervisor) alive() []procfs.Proc {
	var out []procfs.Proc
	_ = procfs.Descendants(s.cfg.ProcRoot, func(p *procfs.Proc) bool {
		if p.State != 'Z' {
			out = append(out, *p)
		}
		return len(out) < 4096
	})
	return out
}

// describe formats a process list for one log line.
func (s *Supervisor) describe(procs []procfs.Proc) string {
	line := logx.KVInt("count", len(procs))
	for i, p := range procs {
		if i == logListMax {
			line += " more=" + strconv.Itoa(len(procs)-i)
			break
		}
		line += " " + logx.KVInt("pid", p.PID) + " " + logx.KV("comm", p.Comm)
	}
	return line
}

// kill is kill(2) with EINTR retried.
func kill(pid int, sig unix.Signal) error {
	for {
		err := unix.Kill(pid, sig)
		if err != unix.EINTR {
			return err
		}
	}
}
