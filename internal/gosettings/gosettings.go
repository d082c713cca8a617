// Package gosettings keeps the container's Go settings from being
// reaper-init's.
//
// An image built for a Go application often sets GOGC, GOMEMLIMIT,
// GOMAXPROCS or GODEBUG in its environment, and reaper-init's own runtime
// reads them too, some before any of reaper-init's code runs: GOMAXPROCS=64
// keeps 64 Ps' worth of memory and threads, GOGC=1 runs collections during
// start-up that leave a dozen threads behind, GODEBUG=schedtrace=1000 makes
// the runtime wake every second for the life of the container. And on a
// big node the runtime sizes itself for every CPU of the machine before
// anyone can tell it otherwise.
//
// What the runtime's API can bound, [Bound] bounds: no garbage collection
// (nothing allocates in steady state; a memory limit is the backstop).
// What it cannot, a re-exec can: [NeedReexec] says when the runtime has
// already been shaped by settings of the container's, or has sized itself
// for a big machine, and [Reexec] runs reaper-init again with GOMAXPROCS=1
// and GOGC=off and without the container's Go settings, which it keeps in
// variables of its own; the new image hands them, exactly as they were, to
// the child ([Restore]). The re-exec costs one more exec and runtime start
// (about a millisecond), paid only by the containers that need it.
package gosettings

import (
	"runtime"
	"strconv"
	"strings"
	_ "unsafe" // for go:linkname

	"github.com/reaper-init/reaper-init/internal/signals"
	"golang.org/x/sys/unix"
)

//go:linkname setGCPercent runtime/debug.setGCPercent
func setGCPercent(int32) int32

//go:linkname setMemoryLimit runtime/debug.setMemoryLimit
func setMemoryLimit(int64) int64

// MemoryLimit is the heap size at which the runtime collects garbage
// after all: a backstop, never reached in steady state (the buffers of a
// 30,000-process watch take a few MiB).
const MemoryLimit = 32 << 20

// Bound turns the garbage collector off, with MemoryLimit as the
// backstop. runtime/debug would do the same but brings fmt into the
// binary; the linknamed functions are the ones it calls.
func Bound() {
	setGCPercent(-1)
	setMemoryLimit(MemoryLimit)
}

// The variables of the Go runtime that reaper-init re-executes without.
var goVars = [...]string{"GOGC", "GOMEMLIMIT", "GOMAXPROCS", "GODEBUG"}

// runtimeDebugKeys are the GODEBUG settings the runtime reads itself
// (runtime1.go's dbgvars). Settings of other packages (net/http, crypto)
// do nothing to reaper-init and cost no re-exec.
var runtimeDebugKeys = map[string]bool{
	"adaptivestackstart": true, "asyncpreemptoff": true, "asynctimerchan": true,
	"cgocheck": true, "clobberfree": true, "containermaxprocs": true,
	"dataindependenttiming": true, "decoratemappings": true, "disablethp": true,
	"dontfreezetheworld": true, "checkfinalizers": true, "efence": true,
	"gccheckmark": true, "gcpacertrace": true, "gcshrinkstackoff": true,
	"gcstoptheworld": true, "gctrace": true, "harddecommit": true, "inittrace": true,
	"invalidptr": true, "madvdontneed": true, "panicnil": true, "profstackdepth": true,
	"sbrk": true, "scavtrace": true, "scheddetail": true, "schedtrace": true,
	"traceadvanceperiod": true, "traceallocfree": true, "tracecheckstackownership": true,
	"tracebackancestors": true, "tracebacklabels": true, "tracefpunwindoff": true,
	"updatemaxprocs": true,
}

// maxProcs is the most Ps NeedReexec lets the runtime keep: on a bigger
// machine it has made more threads before any of reaper-init's code ran,
// and keeps every P's memory. (On a small one it starts with four
// threads, now and then five: not worth a re-exec, whose second runtime
// start doubles the window in which a SIGTERM is lost; see
// docs/startup-signals.md.)
const maxProcs = 8

// Variables of reaper-init's own that carry the container's settings
// across the re-exec.
const (
	reexecVar = "REAPER_INIT_REEXEC" // set by Reexec: the signals caught before it
	savedVar  = "REAPER_INIT_SAVED_" // + the name of a Go variable: its value
)

// NeedReexec reports why reaper-init should run again without the
// container's Go settings, or "" when it need not: a Go variable in the
// environment that shapes the runtime (GOGC, GOMEMLIMIT, GOMAXPROCS other
// than 1, GODEBUG with a setting of the runtime's), or more Ps than a
// small init needs (a big machine). It never asks twice: an image started
// by Reexec does not re-exec again.
func NeedReexec(lookup func(string) (string, bool)) string {
	if _, ok := lookup(reexecVar); ok {
		return ""
	}
	for _, name := range goVars {
		v, ok := lookup(name)
		if !ok {
			continue
		}
		switch {
		case name == "GOMAXPROCS" && v == "1", name == "GOGC" && v == "off":
		case name == "GODEBUG" && !runtimeDebug(v):
		default:
			return name + "=" + strconv.Quote(v)
		}
	}
	if n := runtime.GOMAXPROCS(0); n > maxProcs {
		return "GOMAXPROCS=" + strconv.Itoa(n) + " (the machine's CPUs)"
	}
	return ""
}

// runtimeDebug reports whether a GODEBUG value sets anything the runtime
// reads.
func runtimeDebug(godebug string) bool {
	for _, kv := range strings.Split(godebug, ",") {
		k, _, _ := strings.Cut(kv, "=")
		if runtimeDebugKeys[strings.TrimSpace(k)] {
			return true
		}
	}
	return false
}

// Reexec runs reaper-init again, as the same process, with the same
// arguments, without the container's Go settings: they travel in
// variables of reaper-init's own, with the signals caught so far
// (pending), for the new image to take back. It returns only on failure;
// the caller then goes on as it is.
func Reexec(argv, environ []string, pending []unix.Signal) error {
	env := make([]string, 0, len(environ)+4)
	for _, kv := range environ {
		name, value, _ := strings.Cut(kv, "=")
		if isGoVar(name) {
			env = append(env, savedVar+name+"="+value)
			continue
		}
		if name == reexecVar || strings.HasPrefix(name, savedVar) {
			continue
		}
		env = append(env, kv)
	}
	var sigs []byte
	for _, sig := range pending {
		if len(sigs) > 0 {
			sigs = append(sigs, ',')
		}
		sigs = strconv.AppendInt(sigs, int64(sig), 10)
	}
	env = append(env, "GOMAXPROCS=1", "GOGC=off", reexecVar+"="+string(sigs))
	return unix.Exec("/proc/self/exe", argv, env)
}

// Restore undoes Reexec in the new image's environment: it returns the
// environment the child must get (the container's Go settings as they
// were, none of reaper-init's own variables) and the signals caught
// before the re-exec. Without a re-exec it returns environ as it is.
func Restore(environ []string) (env []string, pending []unix.Signal, reexeced bool) {
	for _, kv := range environ {
		if name, value, _ := strings.Cut(kv, "="); name == reexecVar {
			reexeced = true
			for _, f := range strings.Split(value, ",") {
				if n, err := strconv.Atoi(f); err == nil && signals.Forwardable(unix.Signal(n)) {
					pending = append(pending, unix.Signal(n))
				}
			}
		}
	}
	if !reexeced {
		return environ, nil, false
	}
	env = make([]string, 0, len(environ))
	for _, kv := range environ {
		name, value, _ := strings.Cut(kv, "=")
		switch {
		case name == reexecVar, isGoVar(name):
		case strings.HasPrefix(name, savedVar) && isGoVar(name[len(savedVar):]):
			env = append(env, name[len(savedVar):]+"="+value)
		default:
			env = append(env, kv)
		}
	}
	return env, pending, true
}

func isGoVar(name string) bool {
	for _, v := range goVars {
		if name == v {
			return true
		}
	}
	return false
}
