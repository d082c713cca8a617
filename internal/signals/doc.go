// Package signals holds reaper-init's signal policy: which signals it
// catches and forwards, the rewrite table, signal names, and how it
// registers with the Go runtime.
//
// # Registering
//
// A Go program that has not asked for SIGTERM, SIGINT or SIGHUP exits on
// them, and one that has not asked for an externally sent SIGILL, SIGTRAP,
// SIGSYS, SIGABRT or SIGQUIT crashes with a stack trace. As PID 1 either
// takes the container down. [Notify] therefore asks for every signal the
// runtime lets a program catch, before the child exists, and hands the
// forwardable ones and SIGCHLD to two separate channels: coalesced
// SIGCHLDs are harmless (the reap loop empties the queue each time), while
// a forwarded signal must never be lost behind a SIGCHLD.
//
// Asking for a signal also means the runtime installs its handler for it,
// so the child, whose handlers are reset to the default at exec, starts
// with every disposition at SIG_DFL, whatever the init inherited.
//
// # SIGURG
//
// Since Go 1.14 the runtime preempts long-running goroutines by sending
// SIGURG to its own threads, and it hands those signals to os/signal like
// any other (golang/go#37942): a forwarder that asks for SIGURG passes
// signals to its child that nobody sent. The siginfo that would tell the
// two apart is not visible to a Go program. reaper-init instead links with
// asynchronous preemption turned off, through the runtime's built-in
// GODEBUG default (-X=runtime.godebugDefault=asyncpreemptoff=1, see the
// Makefile). That is not an environment variable, so the child does not
// inherit it. The runtime then sends no SIGURG at all, and goroutines are
// preempted only at function calls, which is all an init whose goroutines
// block on channels needs. [URGForwardable] checks that the binary was
// built this way and that the environment does not turn preemption back
// on; when it was not, SIGURG is not caught, the runtime ignores it, and
// it is not forwarded.
package signals
