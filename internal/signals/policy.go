package signals

import (
	"strings"

	"golang.org/x/sys/unix"
)

// Forwardable reports whether reaper-init passes sig on to its child when
// another process sends it: every signal but SIGCHLD (it drives the reap
// loop), SIGKILL and SIGSTOP (nobody can catch them), and 32 to 34, which
// the C library and the Go runtime reserve. Fault signals, SIGTTIN,
// SIGTTOU and SIGPROF sent with kill are the application's business
// (docker kill -s ABRT for a core dump); the same signals raised by the
// kernel about reaper-init itself never get this far (package catch).
func Forwardable(sig unix.Signal) bool {
	switch sig {
	case unix.SIGCHLD, unix.SIGKILL, unix.SIGSTOP:
		return false
	}
	return sig >= 1 && sig <= Max && (sig < 32 || sig > rtmin)
}

// JobControl reports whether sig is one of the job-control signals that
// reaper-init, when it is not PID 1, follows with stopping or continuing
// itself: SIGTSTP, SIGTTIN, SIGTTOU and SIGCONT.
func JobControl(sig unix.Signal) bool {
	switch sig {
	case unix.SIGTSTP, unix.SIGTTIN, unix.SIGTTOU, unix.SIGCONT:
		return true
	}
	return false
}

// Set is a set of signals. The zero value is empty.
type Set uint64

// Has reports whether sig is in the set.
func (s Set) Has(sig unix.Signal) bool { return sig >= 1 && sig <= Max && s&(1<<(sig-1)) != 0 }

// Add returns the set with sig added.
func (s Set) Add(sig unix.Signal) Set {
	if sig < 1 || sig > Max {
		return s
	}
	return s | 1<<(sig-1)
}

// String lists the set's signals by name, comma-separated.
func (s Set) String() string {
	var b strings.Builder
	for sig := unix.Signal(1); sig <= Max; sig++ {
		if s.Has(sig) {
			if b.Len() > 0 {
				b.WriteByte(',')
			}
			b.WriteString(Name(sig))
		}
	}
	return b.String()
}

// DefaultStop is the default set of terminating signals: the ones after
// which a grace period starts, and whose arrival writes the provisional
// termination summary.
const DefaultStop = Set(1<<(unix.SIGTERM-1) | 1<<(unix.SIGINT-1) | 1<<(unix.SIGQUIT-1) | 1<<(unix.SIGHUP-1))

// ParseSet reads a list of signal names or numbers separated by commas or
// spaces, as the other lists of the command line and the environment are
// ("TERM,INT,WINCH", "TERM WINCH", "SIGRTMIN+3"). SIGKILL and SIGSTOP,
// which never reach the init, are refused, and so are an empty list and
// an empty item between two commas.
func ParseSet(list string) (Set, error) {
	var s Set
	for _, item := range strings.Split(list, ",") {
		names := strings.Fields(item)
		if len(names) == 0 {
			names = []string{""} // an empty item: Parse says why not
		}
		for _, f := range names {
			sig, err := Parse(f)
			if err != nil {
				return 0, err
			}
			if sig == unix.SIGKILL || sig == unix.SIGSTOP {
				return 0, errorf(Name(sig) + " cannot be caught")
			}
			s = s.Add(sig)
		}
	}
	return s, nil
}
