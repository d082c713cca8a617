package signals

import "golang.org/x/sys/unix"

// Forwardable reports whether reaper-init passes sig on to its child when
// it receives it from outside. It says no to SIGCHLD (it drives the reap
// loop), to the fault signals (a kill -SEGV aimed at PID 1 is not meant
// for the application, and tini and catatonit drop them too), to SIGTTIN
// and SIGTTOU (job-control noise aimed at the init itself), to the
// real-time signals the C library and Go runtime reserve, to SIGPROF,
// which the Go runtime keeps for its profiler and never hands on, and to
// SIGKILL and SIGSTOP, which nobody can catch.
func Forwardable(sig unix.Signal) bool {
	switch sig {
	case unix.SIGCHLD, unix.SIGKILL, unix.SIGSTOP,
		unix.SIGSEGV, unix.SIGBUS, unix.SIGFPE, unix.SIGILL, unix.SIGTRAP,
		unix.SIGSYS, unix.SIGABRT, unix.SIGSTKFLT,
		unix.SIGTTIN, unix.SIGTTOU, unix.SIGPROF:
		return false
	}
	return sig >= 1 && sig <= Max && (sig < 32 || sig > rtmin)
}

// Terminating reports whether sig asks a process to end: the signals
// after which a grace period starts.
func Terminating(sig unix.Signal) bool {
	switch sig {
	case unix.SIGTERM, unix.SIGINT, unix.SIGQUIT, unix.SIGHUP:
		return true
	}
	return false
}

// Catch returns the signals reaper-init must handle itself, other than
// SIGCHLD: every forwardable signal, and the fault signals as well,
// because a Go program that does not ask for an externally sent SIGILL,
// SIGTRAP, SIGSYS, SIGABRT, SIGQUIT or SIGSTKFLT crashes on it. With
// forwardURG false, SIGURG is left to the Go runtime, which ignores it.
func Catch(forwardURG bool) []unix.Signal {
	sigs := make([]unix.Signal, 0, Max)
	for s := unix.Signal(1); s <= Max; s++ {
		switch {
		case s == unix.SIGCHLD || s == unix.SIGKILL || s == unix.SIGSTOP:
		case s >= 32 && s <= rtmin:
		case s == unix.SIGURG && !forwardURG:
		default:
			sigs = append(sigs, s)
		}
	}
	return sigs
}
