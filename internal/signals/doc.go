// Package signals holds reaper-init's signal policy: which signals are
// forwarded, the job-control signals, the sets of terminating signals
// (--stop-signals), the rewrite table (-r), and signal names.
//
// The signals themselves are caught by package catch: an assembly handler
// installed before any other package is initialised, which reads each
// signal's siginfo to tell a signal another process sent (a request to
// the container, forwarded whatever its number) from one the kernel raised
// about reaper-init itself or one reaper-init sent itself (kept), and
// which forwards plain signals itself, from the handler, before the main
// loop even wakes. Its package documentation describes the hand-over
// between the handler and the main loop: how a signal is forwarded exactly
// once, and never to a PID the loop has already reaped.
package signals
