// Package ending describes how reaper-init ended, in one line, and leaves
// that line where Kubernetes shows it: the termination-message file.
//
// When a pod restarts with exit code 137 the first question is why. The
// init knows at the moment it exits: which signal came in and when,
// whether it was forwarded, whether the grace period ran out, what had to
// be killed, how the main child ended, whether the watch saw a zombie
// hoarder or PID pressure, whether the memory cgroup counted an OOM kill.
// A [Summary] holds those facts, [Summary.Reason] derives the reason from
// them (the one place where the precedence between reasons is decided),
// [Summary.AppendFinal] renders them as one key=value line, and [File]
// writes that line to the file the kubelet reads at terminationMessagePath
// and shows under the container's last state in kubectl describe pod.
//
// # What the main loop records
//
// The loop owns one Summary and fills it as things happen:
//
//   - at start, before the child runs: [OOMCounter.Start] (the baseline);
//     Grace, and Pause in pause mode;
//   - when the child cannot be started: ExecErr, then as at exit;
//   - on the first terminating signal from outside (TERM, INT, QUIT or
//     HUP, as received or after rewriting): Signal, SignalAt, Forwarded
//     (what was sent on, 0 if nothing was), Running (what is alive now),
//     then [File.WriteProvisional] at once: the kubelet's own SIGKILL at
//     the end of terminationGracePeriodSeconds leaves no later chance;
//   - when a signal held by --delay is finally forwarded: Forwarded;
//   - when the grace period ends with a dump signal: Dump;
//   - when it sends SIGKILL to everything: Kill (why) and Killed (what);
//   - when the main child exits and the drain sends SIGTERM to what is
//     left: Drained;
//   - when the main child is reaped: Child ([ChildStatus]); when it died
//     of SIGKILL, OOMKills from [OOMCounter.Since];
//   - from the watch, whenever it warns: Zombies and Pressure (the last
//     warning, kept even when the state cleared since);
//   - at exit: Exit (after -e remapping), then [File.WriteFinal], and
//     [Summary.AppendFinal] for the log's last line.
//
// # Reasons
//
// See [Reason]. The line never says more than the facts recorded: an
// empty field is left out.
package ending

import (
	"time"

	"golang.org/x/sys/unix"
)

// Reason is why the init ended, in one word: see the constants.
type Reason uint8

// The reasons, as [Summary.Reason] derives them, first match wins in this
// order: ExecFailed, PauseTerminated, GraceExpired, SecondSignal,
// OOMKilled, DrainKilled, Forwarded, ChildExited. Stopping is the reason
// of the provisional summary only.
const (
	// ChildExited: the main child exited, or was killed by a signal, on
	// its own: no terminating signal had been forwarded to it, and the
	// init killed nothing.
	ChildExited Reason = iota
	// Forwarded: a terminating signal came in, was forwarded, and the
	// main child then ended (by that signal, or by exiting after handling
	// it) before the grace period ran out.
	Forwarded
	// GraceExpired: the grace period (or the dump wait after it) ran out
	// while the main child was alive, and the init sent SIGKILL to
	// everything. The main child's SIGKILL (137) is the init's.
	GraceExpired
	// SecondSignal: a second terminating signal came in during the grace
	// period, while the main child was alive, and the init sent SIGKILL
	// to everything at once.
	SecondSignal
	// DrainKilled: the main child had ended, the drain sent SIGTERM to
	// the processes it left behind, and some of them had to be SIGKILLed
	// (the grace period ran out, or a second terminating signal came).
	// The exit code is still the main child's.
	DrainKilled
	// ExecFailed: the main child could not be started (126, 127, or 1
	// when the fork itself failed).
	ExecFailed
	// PauseTerminated: pause mode, no child: a signal ended the init.
	PauseTerminated
	// OOMKilled: the main child died of a SIGKILL the init did not send,
	// and the container's memory cgroup counted a new OOM kill since the
	// init started.
	OOMKilled
	// Stopping: the provisional summary, written when the first
	// terminating signal comes in and replaced at exit. If it is what the
	// kubelet finds, the init never got to exit on its own: the kubelet
	// (or the node) killed it first.
	Stopping
)

var reasonNames = [...]string{
	ChildExited:     "child-exited",
	Forwarded:       "forwarded",
	GraceExpired:    "grace-expired",
	SecondSignal:    "second-signal",
	DrainKilled:     "drain-killed",
	ExecFailed:      "exec-failed",
	PauseTerminated: "pause-terminated",
	OOMKilled:       "oom-killed",
	Stopping:        "stopping",
}

// String returns the reason as the line shows it: "grace-expired", ...,
// or "unknown" for a value that is none of the constants.
func (r Reason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "unknown"
}

// KillCause is why the init sent SIGKILL to everything it answers for.
type KillCause uint8

// The causes. The loop picks one when it sends the SIGKILL: KilledInDrain
// when the main child had already ended, otherwise the event that led to
// it.
const (
	// NotKilled: the init sent no SIGKILL.
	NotKilled KillCause = iota
	// KilledByGrace: the grace period (or the dump wait after it) ran
	// out while the main child was alive.
	KilledByGrace
	// KilledBySecondSignal: a second terminating signal came in while
	// the main child was alive.
	KilledBySecondSignal
	// KilledInDrain: the main child had ended; the drain's wait ran out
	// (or a second terminating signal came) with processes left.
	KilledInDrain
)

// Proc names one process.
type Proc struct {
	PID  int
	Comm string // its command name, /proc/PID/comm
}

// Procs is a set of processes the summary speaks of: how many, and the
// first of them (the main child's group leader first, when it is among
// them, as the loop lists them).
type Procs struct {
	Count int // 0: none, the field is left out
	First Proc
}

// Child is how the main child ended.
type Child struct {
	Ended  bool        // it has been reaped
	Code   int         // its exit status, when it exited
	Signal unix.Signal // the signal that killed it; 0 when it exited
}

// ChildStatus returns the Child for a main child reaped with status ws.
func ChildStatus(ws unix.WaitStatus) Child {
	if ws.Signaled() {
		return Child{Ended: true, Signal: ws.Signal()}
	}
	return Child{Ended: true, Code: ws.ExitStatus()}
}

// ZombieHolder is the process the watch last warned about for holding
// zombies.
type ZombieHolder struct {
	PID     int // 0: the watch never warned
	Comm    string
	Zombies int // how many zombies it held then
}

// PIDPressure is the PID limit the watch last warned was nearly reached.
type PIDPressure struct {
	Limit string // which limit: "pid_max" or "cgroup", as the watch names it
	Used  int64
	Max   int64 // 0: the watch never warned
}

// Summary is how the init ended, or, before it has, how it is ending. The
// main loop fills it (see the package documentation for when); the zero
// value is a main child that has not ended and nothing else known.
type Summary struct {
	// Exit is the exit code the init reports, after -e remapping.
	Exit int
	// Child is how the main child ended.
	Child Child
	// ExecErr is why the main child could not be started; nil when it
	// was.
	ExecErr error
	// Pause: the init ran without a child (pause mode).
	Pause bool

	// Signal is the first terminating signal that came in from outside,
	// as received (before rewriting); 0 when none did.
	Signal unix.Signal
	// SignalAt is when Signal came in.
	SignalAt time.Time
	// Forwarded is the signal sent on to the child for Signal, after
	// rewriting: Signal itself, another one, or 0 when nothing was sent
	// (a rewrite to 0, still held by --delay, no child).
	Forwarded unix.Signal

	// Grace is the grace period; 0 when there is none.
	Grace time.Duration
	// Dump is the dump signal sent when the grace period ran out; 0 when
	// none was sent.
	Dump unix.Signal
	// Kill is why the init sent SIGKILL to everything; Killed is what it
	// reached.
	Kill   KillCause
	Killed Procs
	// Drained is what the drain sent SIGTERM to when the main child had
	// ended.
	Drained Procs
	// OOMKills is the number of OOM kills the container's memory cgroup
	// counted since the init started, read when the main child died of
	// SIGKILL; 0 when none, or not read.
	OOMKills int64

	// Zombies and Pressure are what the watch last warned about.
	Zombies  ZombieHolder
	Pressure PIDPressure

	// Running is what was still alive when the provisional summary was
	// written.
	Running Procs
}

// Reason derives why the init ended from the facts recorded. The order
// of precedence is that of the [Reason] constants' documentation: a
// failed exec and pause mode say what kind of run it was; a SIGKILL the
// init sent to a living main child explains its 137 better than the
// signal that started the grace period; an OOM kill is the root cause
// even when a drain had to kill what the child left behind; a drain that
// had to kill says more than the forwarded signal before it.
func (s *Summary) Reason() Reason {
	switch {
	case s.ExecErr != nil:
		return ExecFailed
	case s.Pause:
		return PauseTerminated
	case s.Kill == KilledByGrace:
		return GraceExpired
	case s.Kill == KilledBySecondSignal:
		return SecondSignal
	case s.oomKilled():
		return OOMKilled
	case s.Kill == KilledInDrain:
		return DrainKilled
	case s.Forwarded != 0 && s.Child.Ended:
		return Forwarded
	}
	return ChildExited
}

// oomKilled reports whether the main child died of a SIGKILL the init
// did not send (neither by killing everything nor by forwarding a
// SIGKILL a rewrite made) while the memory cgroup counted an OOM kill.
func (s *Summary) oomKilled() bool {
	return s.OOMKills > 0 && s.Child.Ended && s.Child.Signal == unix.SIGKILL &&
		s.Forwarded != unix.SIGKILL && (s.Kill == NotKilled || s.Kill == KilledInDrain)
}
