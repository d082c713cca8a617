// Package watch holds the black-box tests of reaper-init's PID-pressure
// watch: the zombie warning, the PID-pressure warning under a cgroup
// pids limit, the Prometheus metrics file, -w naming each reaped orphan,
// and the absence of wakeups between ticks. Each test runs the built
// binary as PID 1 of a fresh PID namespace with the helper program's
// watch_* subcommands as its workload.
package watch
