// Package core holds the black-box tests of reaper-init's core behaviour:
// exit codes, reaping, signal forwarding and rewriting, process groups,
// exec and usage errors, subreaper mode, the terminal, and the state the
// child starts in. Each test runs the built binary, usually as PID 1 of a
// fresh PID namespace, with the helper program as its workload.
package core
