package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"unsafe"
)

// workloads are the subcommands with which this program re-executes
// itself: the processes the inits run (or, for pid1, the step before the
// init). Each returns its exit code.
var workloads = map[string]func(args []string) int{
	"pid1":        pid1Workload,
	"orphans":     orphansWorkload,
	"sigack":      sigackWorkload,
	"sigack-wait": sigackWaitWorkload,
	"crowd":       crowdWorkload,
}

// countArgs checks the arguments of a workload whose usage is "NAME N
// ARG...": as many as the usage names, the first a count of at least
// min. It returns the count, or prints the usage or the bad count on
// stderr and returns false.
func countArgs(args []string, usage string, min int) (int, bool) {
	words := strings.Fields(usage)
	if len(args) != len(words)-1 {
		fmt.Fprintln(os.Stderr, "usage: bench "+usage)
		return 0, false
	}
	n, err := strconv.Atoi(args[0])
	if err != nil || n < min {
		fmt.Fprintf(os.Stderr, "bench %s: bad count %q\n", words[0], args[0])
		return 0, false
	}
	return n, true
}

// monotonic returns CLOCK_MONOTONIC in nanoseconds, a reading that can be
// compared across processes (time.Now's monotonic reading counts from the
// start of the process). Both ends of a latency measurement, this program
// sending and the child receiving, read the clock this same way.
func monotonic() int64 {
	var ts syscall.Timespec
	const clockMonotonic = 1
	syscall.RawSyscall(syscall.SYS_CLOCK_GETTIME, clockMonotonic, uintptr(unsafe.Pointer(&ts)), 0)
	return ts.Nano()
}
