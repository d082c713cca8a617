package signals

import (
	"os"
	"strconv"
	"strings"
)

// LinkedGODEBUG mirrors the GODEBUG default this binary's runtime was
// linked with. The Makefile sets both from one variable:
//
//	-X=runtime.godebugDefault=asyncpreemptoff=1
//	-X=github.com/reaper-init/reaper-init/internal/signals.LinkedGODEBUG=asyncpreemptoff=1
//
// The runtime's own copy cannot be read from outside the runtime.
var LinkedGODEBUG string

// URGForwardable reports whether every SIGURG reaper-init catches came
// from outside. On amd64 the signal handler tells the runtime's own
// preemption signals apart by their siginfo. Elsewhere it holds when the
// binary was linked with the asyncpreemptoff=1 default and GODEBUG in the
// environment (which the runtime reads after the default) does not set it
// back to 0, so that the runtime sends no SIGURG at all.
func URGForwardable() bool { return urgForwardable() }

func urgForwardableLinked() bool {
	off := 0
	for _, godebug := range []string{LinkedGODEBUG, os.Getenv("GODEBUG")} {
		if v, ok := lastSetting(godebug, "asyncpreemptoff"); ok {
			if n, err := strconv.Atoi(v); err == nil {
				off = n
			}
		}
	}
	return off != 0
}

// lastSetting returns the value of the last key=value for key in a
// comma-separated GODEBUG string, as the runtime reads it.
func lastSetting(godebug, key string) (value string, ok bool) {
	for _, f := range strings.Split(godebug, ",") {
		if k, v, found := strings.Cut(f, "="); found && k == key {
			value, ok = v, true
		}
	}
	return value, ok
}
