// Package signals holds reaper-init's signal policy (which signals it
// catches and forwards, the rewrite table, signal names) and the
// [Catcher] that receives them.
//
// # Catching
//
// A Go program that has not asked for SIGTERM, SIGINT or SIGHUP exits on
// them, and one that has not asked for an externally sent SIGILL, SIGTRAP,
// SIGSYS, SIGABRT or SIGQUIT crashes with a stack trace. As PID 1 either
// takes the container down. So the init catches every signal it can,
// before the child exists, and hands them to its main loop through a
// pipe, one byte each; SIGCHLD is coalesced (the reap loop empties the
// queue each time), forwarded signals never are.
//
// A caught signal's handler is reset to the default by exec, so the child
// starts with every disposition at SIG_DFL, whatever the init inherited.
//
// On amd64 the handler is a few instructions of assembly
// (catcher_amd64.s) installed with rt_sigaction. os/signal would cost a
// round trip between two threads for each signal registered (some sixty
// of them, more than the rest of the init's start-up) and two thread
// wake-ups for each signal forwarded; the assembly handler costs one
// system call to install and wakes the main loop directly. Elsewhere, and
// on amd64 with the build tag reaper_ossignal (which the tests use to
// cover it), os/signal delivers the signals and a goroutine writes the
// bytes.
//
// # Whose signal
//
// The handler reads each signal's siginfo. A fault raised by the kernel
// in the init itself (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS)
// goes on to the Go runtime's handler, which turns it into a panic. So
// does the SIGURG the runtime sends its own threads with tgkill to
// preempt goroutines: since Go 1.14 it hands those to os/signal like any
// other (golang/go#37942), and a Go init built on os/signal passes to its
// child signals that nobody sent. Any other signal the init sent itself,
// such as the SIGPIPE the kernel raises for a write to a closed pipe, is
// dropped. Everything else came from outside and is recorded.
//
// With os/signal there is no siginfo. The binary is then linked with
// asynchronous preemption turned off, through the runtime's built-in
// GODEBUG default (-X=runtime.godebugDefault=asyncpreemptoff=1, see the
// Makefile; not an environment variable, so the child does not inherit
// it), and the runtime sends no SIGURG at all. [URGForwardable] checks
// that the binary was built this way and that GODEBUG in the environment
// does not turn preemption back on; when it was not, SIGURG is left to the
// runtime, which ignores it, and it is not forwarded.
package signals
