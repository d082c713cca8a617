package signals

import (
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Rewrites maps a received signal to the signal forwarded in its place,
// as dumb-init's --rewrite does. The zero value forwards every signal
// unchanged. Lookups are an array index: no allocation, no hashing.
type Rewrites struct {
	// to[s] is 0 when s has no rule, else the replacement plus one
	// (so a stored 1 means "drop").
	to [Max + 1]uint8
}

// Set adds the rule from -> to; to == 0 drops from. A later rule for the
// same signal replaces an earlier one.
func (r *Rewrites) Set(from, to unix.Signal) {
	if from >= 1 && from <= Max && to >= 0 && to <= Max {
		r.to[from] = uint8(to) + 1
	}
}

// Map returns the signal to forward for sig, or 0 when sig is dropped.
func (r *Rewrites) Map(sig unix.Signal) unix.Signal {
	if sig < 1 || sig > Max || r.to[sig] == 0 {
		return sig
	}
	return unix.Signal(r.to[sig] - 1)
}

// ParseRule reads a rewrite rule "S:R": S and R are signal names or
// numbers, and R may be 0 to drop S. SIGKILL and SIGSTOP cannot be
// rewritten because they never reach the init.
func ParseRule(spec string) (from, to unix.Signal, err error) {
	s, r, ok := strings.Cut(spec, ":")
	if !ok {
		return 0, 0, errorf("rewrite " + strconv.Quote(spec) + ": want SIGNAL:SIGNAL")
	}
	from, err = Parse(s)
	if err != nil {
		return 0, 0, errorf("rewrite " + strconv.Quote(spec) + ": " + err.Error())
	}
	if from == unix.SIGKILL || from == unix.SIGSTOP {
		return 0, 0, errorf("rewrite " + strconv.Quote(spec) + ": " + Name(from) + " cannot be caught")
	}
	if r == "0" {
		return from, 0, nil
	}
	to, err = Parse(r)
	if err != nil {
		return 0, 0, errorf("rewrite " + strconv.Quote(spec) + ": " + err.Error())
	}
	return from, to, nil
}
