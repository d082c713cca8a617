package main

import (
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
