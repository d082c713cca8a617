package supervise

import (
	"time"

	"github.com/reaper-init/reaper-init/internal/logx"
	"github.com/reaper-init/reaper-init/internal/rawsys"
	"github.com/reaper-init/reaper-init/internal/signals"
	"golang.org/x/sys/unix"
)

// updateFast tells the signal handler what it may forward by itself. It
// forwards nothing when there is no main child to forward to (pause mode,
// the main child exited) or once the ending has begun; otherwise, for each
// signal, the signal the loop would send at once, or 0 for those the loop
// decides: a rewrite to 0, a --delay, the terminating signals, the
// job-control signals when the init is not PID 1 (it stops and continues
// with the child), and the signals never forwarded.
func (s *Supervisor) updateFast() {
	if s.cfg.Child <= 0 || s.mainDone || s.phase != running {
		s.sigs.DisableFast()
		return
	}
	for sig := unix.Signal(1); sig <= signals.Max; sig++ {
		// Quietly: counted, the loop not woken (see package catch).
		s.sigs.SetForward(int(sig), int(s.fastRule(sig)), false)
	}
	if s.cfg.SingleChild {
		s.sigs.SetTarget(s.cfg.Child, 0)
	} else {
		s.sigs.SetTarget(-s.cfg.Child, s.cfg.Child)
	}
}

// fastRule is the signal the handler may send for sig, or 0.
func (s *Supervisor) fastRule(sig unix.Signal) unix.Signal {
	if !signals.Forwardable(sig) {
		return 0
	}
	if s.cfg.Delays != nil && s.cfg.Delays[sig] > 0 {
		return 0
	}
	if !s.cfg.PID1 && signals.JobControl(sig) {
		return 0
	}
	out := s.mapped(sig)
	if out == 0 {
		return 0
	}
	// A terminating signal is the loop's: the provisional summary is
	// written before it is forwarded, and it may start the grace period
	// or, the second time, end it.
	if s.cfg.Stop.Has(out) || s.cfg.Stop.Has(sig) {
		return 0
	}
	return out
}

// mapped is sig through the rewrite table; 0 drops it.
func (s *Supervisor) mapped(sig unix.Signal) unix.Signal {
	if s.cfg.Rewrites == nil {
		return sig
	}
	return s.cfg.Rewrites.Map(sig)
}

// receive handles one signal from outside; sent says that the handler
// has already forwarded it (through the rewrite table).
func (s *Supervisor) receive(sig unix.Signal, sent bool) {
	if !signals.Forwardable(sig) {
		s.cfg.Log.Debug("not forwarding " + signals.Name(sig))
		return
	}
	if s.cfg.Child <= 0 {
		s.receivePaused(sig)
		return
	}
	out := s.mapped(sig)
	// The first terminating signal writes the provisional termination
	// summary before it is forwarded: an application that writes its
	// own message when stopped then writes it over ours, never the other
	// way round.
	first := !s.stopping && (s.cfg.Stop.Has(out) || s.cfg.Stop.Has(sig))
	if first {
		s.noteStopping(sig, out)
	}
	if sent {
		if first {
			s.stopped(out)
		}
		s.forwarded(out)
		return
	}
	if s.mainDone {
		if first {
			s.stopped(0)
		}
		s.receiveAfterMain(out)
		return
	}
	if s.cfg.Delays != nil && s.cfg.Delays[sig] > 0 {
		if !s.held[sig].IsZero() {
			s.cfg.Log.Info(signals.Name(sig) + " again while held: forwarding now")
			s.held[sig] = time.Time{}
			s.forward(sig)
			return
		}
		if first {
			s.stopped(0)
		}
		s.held[sig] = s.clock().Add(s.cfg.Delays[sig])
		s.cfg.Log.Info("holding " + signals.Name(sig) + " for " + s.cfg.Delays[sig].String())
		return
	}
	if first {
		s.stopped(out)
	}
	if s.cfg.JobControl && sig == unix.SIGCONT {
		s.continued()
	}
	s.forward(sig)
}

// noteStopping records the first terminating signal (received as sig,
// rewritten to out); stopped then calls OnStopping.
func (s *Supervisor) noteStopping(sig, out unix.Signal) {
	if s.stopping {
		return
	}
	s.stopping = true
	s.out.Received, s.out.Signal, s.out.SignalAt = sig, out, s.clock()
}

// stopped calls OnStopping for the first terminating signal, which is
// being forwarded as sent (0: not now).
func (s *Supervisor) stopped(sent unix.Signal) {
	if s.cfg.OnStopping != nil {
		s.cfg.OnStopping(s.out.Received, s.out.SignalAt, sent)
	}
}

// receiveAfterMain handles a signal that arrives once the main child is
// gone: during a drain a terminating signal kills what is left at once;
// anything else goes to everyone still there.
func (s *Supervisor) receiveAfterMain(out unix.Signal) {
	if out == 0 {
		return
	}
	if s.cfg.Grace > 0 && s.cfg.Stop.Has(out) && s.phase != killed {
		s.out.SecondSignal = true
		s.killAll("second " + signals.Name(out))
		return
	}
	if s.phase == running {
		return // exiting now: there is nobody to forward to
	}
	s.cfg.Stats.Forwarded[out]++
	s.sendAll(out, "")
}

// forward sends sig, through the rewrite table, to the child's group (or
// the child), and does the bookkeeping.
func (s *Supervisor) forward(sig unix.Signal) {
	out := s.mapped(sig)
	if out == 0 {
		s.cfg.Log.Debug("dropping " + signals.Name(sig))
		return
	}
	if s.mainDone {
		s.receiveAfterMain(out)
		return
	}
	if s.phase != running && s.cfg.Stop.Has(out) {
		s.out.SecondSignal = true
		s.killAll("second " + signals.Name(out))
		return
	}
	s.sendChild(out)
	s.cfg.Log.Debug("forwarded " + signals.Name(out))
	s.forwarded(out)
}

// sendChild sends sig to the main child's process group and, when the
// child has left that group (setpgid), to the child as well: each process
// once. With -c, to the child alone.
func (s *Supervisor) sendChild(sig unix.Signal) {
	child := s.cfg.Child
	if s.cfg.SingleChild {
		if err := kill(child, sig); err != nil && err != unix.ESRCH {
			s.cfg.Log.Warn("forwarding " + signals.Name(sig) + ": " + err.Error())
		}
		return
	}
	if err := kill(-child, sig); err != nil && err != unix.ESRCH {
		s.cfg.Log.Warn("forwarding " + signals.Name(sig) + ": " + err.Error())
	}
	if pg, err := rawsys.Getpgid(child); err == nil && pg != child {
		_ = kill(child, sig)
	}
}

// forwarded is the bookkeeping of a forwarded signal: the counters, and
// the grace period a terminating signal starts, or the SIGKILL a second
// one sends.
func (s *Supervisor) forwarded(out unix.Signal) {
	s.cfg.Stats.Forwarded[out]++
	if !s.cfg.Stop.Has(out) {
		return
	}
	s.out.Forwarded = true
	if s.cfg.Grace <= 0 {
		return
	}
	if s.terminated {
		s.out.SecondSignal = true
		s.killAll("second terminating signal " + signals.Name(out))
		return
	}
	s.terminated = true
	s.updateFast()
	if s.graceEnd.IsZero() {
		s.cfg.Log.Info("grace period of " + s.cfg.Grace.String() + " started by " + signals.Name(out))
		s.graceEnd = s.clock().Add(s.cfg.Grace)
	}
}

// receivePaused handles a signal in pause mode: SIGTERM and SIGINT end
// the init, every other signal is ignored.
func (s *Supervisor) receivePaused(sig unix.Signal) {
	if sig != unix.SIGTERM && sig != unix.SIGINT {
		s.cfg.Log.Debug("pause: ignoring " + signals.Name(sig))
		return
	}
	if !s.stopping {
		s.noteStopping(sig, sig)
		s.stopped(0)
	}
	if s.pauseEnd {
		if s.cfg.Grace > 0 && s.phase != killed {
			s.out.SecondSignal = true
			s.killAll("second " + signals.Name(sig))
		}
		return
	}
	s.pauseEnd = true
	s.cfg.Log.Info("pause: " + signals.Name(sig) + ": ending " + logx.KV("grace", s.cfg.Grace.String()))
	if s.cfg.Grace <= 0 || !s.anyoneLeft() {
		return
	}
	s.phase = draining
	s.out.Drained = true
	s.sendAll(unix.SIGTERM, "pause: stopping the namespace")
	s.walk.drain = true
	s.graceEnd = s.clock().Add(s.cfg.Grace)
}
