package signals

import (
	"os"
	"os/signal"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Registering with the runtime costs a round trip between two threads
// for every signal (about 20 to 50 microseconds each), so for sixty
// signals it would double the init's start-up time. Registration is
// therefore split in two. [NotifyEarly] runs before the child starts and
// takes what must not be missed: SIGCHLD, the signals that would kill or
// stop the init if they came unasked (TERM, INT, HUP, QUIT), and any
// signal whose disposition the init inherited as ignored (registering
// resets it to the default in the child). [NotifyRest] takes the others,
// the most used first, while the child is already starting; until it has
// finished, such a signal is ignored rather than forwarded, in the first
// milliseconds of the child's life, when the child could not have
// installed a handler for it yet either.

// early are the signals registered before the child starts.
var early = [...]unix.Signal{unix.SIGTERM, unix.SIGINT, unix.SIGHUP, unix.SIGQUIT}

// NotifyEarly registers SIGCHLD to chld and the early signals, plus any
// signal of Catch(forwardURG) inherited as ignored, to fwd. Delivery never
// blocks: a signal that finds its channel full is dropped, so give fwd a
// buffer and chld room for one.
func NotifyEarly(fwd, chld chan<- os.Signal, forwardURG bool) {
	signal.Notify(chld, sigchld)
	for _, s := range early {
		signal.Notify(fwd, s)
	}
	for _, s := range Catch(forwardURG) {
		if !isEarly(s) && ignored(s) {
			signal.Notify(fwd, s)
		}
	}
}

// NotifyRest registers to fwd the signals of Catch(forwardURG) that
// NotifyEarly left, one at a time so that delivery to the channels already
// registered is never held up for long.
func NotifyRest(fwd chan<- os.Signal, forwardURG bool) {
	for _, s := range Catch(forwardURG) {
		if !isEarly(s) {
			signal.Notify(fwd, s)
		}
	}
}

func isEarly(s unix.Signal) bool {
	for _, e := range early {
		if s == e {
			return true
		}
	}
	return false
}

// ignored reports whether sig's disposition is SIG_IGN.
func ignored(sig unix.Signal) bool {
	// struct kernel_sigaction: handler, flags, restorer, mask.
	var act [4]uintptr
	_, _, errno := unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig), 0,
		uintptr(unsafe.Pointer(&act)), 8, 0, 0)
	return errno == 0 && act[0] == 1 // SIG_IGN
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
