package signals

import (
	"os"
	"os/signal"
	"strconv"
	"strings"
)

// Notify registers with the runtime for every signal reaper-init handles:
// SIGCHLD goes to chld and everything from [Catch] to fwd. Call it before
// starting the child. Delivery never blocks: a signal that finds its
// channel full is dropped, so give fwd a buffer and chld room for one.
func Notify(fwd, chld chan<- os.Signal, forwardURG bool) {
	signal.Notify(chld, os.Signal(sigchld))
	catch := Catch(forwardURG)
	sigs := make([]os.Signal, len(catch))
	for i, s := range catch {
		sigs[i] = s
	}
	signal.Notify(fwd, sigs...)
}

// LinkedGODEBUG mirrors the GODEBUG default this binary's runtime was
// linked with. The Makefile sets both from one variable:
//
//	-X=runtime.godebugDefault=asyncpreemptoff=1
//	-X=github.com/reaper-init/reaper-init/internal/signals.LinkedGODEBUG=asyncpreemptoff=1
//
// The runtime's own copy cannot be read from outside the runtime.
var LinkedGODEBUG string

// URGForwardable reports whether the Go runtime of this binary sends no
// preemption SIGURG, so that every SIGURG received came from outside. That
// holds when the binary was linked with the asyncpreemptoff=1 default and
// GODEBUG in the environment (which the runtime reads after the default)
// does not set it back to 0.
func URGForwardable() bool {
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
