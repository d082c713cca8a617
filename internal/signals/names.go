package signals

import (
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Max is the highest signal number on Linux.
const Max = 64

// rtmin is the first real-time signal a program may use: the C library
// reserves 32 and 33, and the Go runtime also 34.
const rtmin = 34

// names holds the standard Linux signal names, without the SIG prefix,
// indexed by number.
var names = [...]string{
	1: "HUP", 2: "INT", 3: "QUIT", 4: "ILL", 5: "TRAP", 6: "ABRT", 7: "BUS",
	8: "FPE", 9: "KILL", 10: "USR1", 11: "SEGV", 12: "USR2", 13: "PIPE",
	14: "ALRM", 15: "TERM", 16: "STKFLT", 17: "CHLD", 18: "CONT", 19: "STOP",
	20: "TSTP", 21: "TTIN", 22: "TTOU", 23: "URG", 24: "XCPU", 25: "XFSZ",
	26: "VTALRM", 27: "PROF", 28: "WINCH", 29: "IO", 30: "PWR", 31: "SYS",
}

// aliases are other names the kernel and shells accept.
var aliases = map[string]unix.Signal{
	"IOT": unix.SIGABRT, "POLL": unix.SIGIO, "CLD": unix.SIGCHLD,
}

// Name returns the conventional name of sig: "SIGTERM", "SIGRTMIN+3",
// or "SIG" followed by the number for anything unknown.
func Name(sig unix.Signal) string {
	n := int(sig)
	switch {
	case n > 0 && n < len(names):
		return "SIG" + names[n]
	case n == rtmin:
		return "SIGRTMIN"
	case n > rtmin && n < Max:
		return "SIGRTMIN+" + strconv.Itoa(n-rtmin)
	case n == Max:
		return "SIGRTMAX"
	}
	return "SIG" + strconv.Itoa(n)
}

// Parse reads a signal given by name or number. Names are case-insensitive
// and may omit the SIG prefix: "TERM", "SIGTERM", "sigterm", "15",
// "RTMIN+2" and "RTMAX-1" all work. The result is in 1..Max.
func Parse(s string) (unix.Signal, error) {
	if s == "" {
		return 0, errorf("empty signal")
	}
	if n, err := strconv.Atoi(s); err == nil {
		if n < 1 || n > Max {
			return 0, errorf("signal number " + s + " out of range 1-" + strconv.Itoa(Max))
		}
		return unix.Signal(n), nil
	}
	u := strings.TrimPrefix(strings.ToUpper(s), "SIG")
	if n, err := strconv.Atoi(u); err == nil && u != s && n >= 1 && n <= Max {
		return unix.Signal(n), nil // "SIG32", as Name writes it
	}
	for i, name := range names {
		if name != "" && name == u {
			return unix.Signal(i), nil
		}
	}
	if sig, ok := aliases[u]; ok {
		return sig, nil
	}
	if sig, ok := parseRealtime(u); ok {
		return sig, nil
	}
	return 0, errorf("unknown signal " + strconv.Quote(s))
}

// parseRealtime reads RTMIN, RTMIN+N, RTMAX and RTMAX-N.
func parseRealtime(u string) (unix.Signal, bool) {
	base, sign, rest := 0, 1, ""
	switch {
	case strings.HasPrefix(u, "RTMIN"):
		base, rest = rtmin, u[len("RTMIN"):]
	case strings.HasPrefix(u, "RTMAX"):
		base, sign, rest = Max, -1, u[len("RTMAX"):]
	default:
		return 0, false
	}
	off := 0
	if rest != "" {
		want := byte('+')
		if sign < 0 {
			want = '-'
		}
		if rest[0] != want {
			return 0, false
		}
		n, err := strconv.Atoi(rest[1:])
		if err != nil || n < 0 {
			return 0, false
		}
		off = n
	}
	n := base + sign*off
	if n < rtmin || n > Max {
		return 0, false
	}
	return unix.Signal(n), true
}

// Error is a signal-specification error.
type Error struct{ msg string }

func (e *Error) Error() string { return e.msg }

func errorf(msg string) error { return &Error{msg} }
