// Package catch is reaper-init's signal handler: a few dozen instructions
// of assembly per architecture, installed for every catchable signal
// before any other package of the program is initialised, that decides
// for each signal, from its siginfo, whose it is and what becomes of it.
//
// # Why this early
//
// The Go runtime installs handlers of its own before any package is
// initialised, and exits with status 2 on a SIGTERM, SIGINT or SIGHUP
// that nobody asked for. A container stopped while it starts (a pod
// deleted at once, a CI script that starts and stops a container) sends
// exactly that. So the handler is installed by this package's init
// function, and the package imports nothing that has an initialiser of its
// own (no syscall, no x/sys/unix: system calls are made by rawSyscall6 in
// assembly), which makes it the first package of the program to be
// initialised: the window in which the runtime's handler is in place is
// the runtime's own start-up, and nothing of ours. A signal that arrives
// before the child exists is written to the pipe and forwarded by the main
// loop once the child runs. See docs/startup-signals.md for the window
// that remains, measured.
//
// # Whose signal
//
// For each signal the handler reads si_code and si_pid:
//
//   - Sent by another process (si_code SI_USER, SI_QUEUE or SI_TKILL from
//     a pid other than reaper-init's, or 0 when the sender is in an
//     ancestor PID namespace): a request to the container. It is written
//     to the pipe, or forwarded on the spot (see below), whatever its
//     number: SIGSEGV, SIGABRT, SIGTTIN or SIGPROF sent with kill are the
//     application's business (docker kill -s ABRT for a core dump). The
//     exceptions are 32 to 34, which the C library and the Go runtime
//     reserve: dropped.
//   - Sent by reaper-init itself: the runtime's preemption SIGURG (tgkill)
//     goes to the runtime's handler; anything else (the SIGPIPE the kernel
//     raises, with si_code SI_USER and our pid, for a write to a closed
//     pipe) is dropped.
//   - Raised by the kernel about reaper-init (si_code > 0): a real fault
//     (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS) goes to the
//     runtime's handler, which turns it into a crash with a stack trace, as
//     it should; the terminal driver's SIGTTIN and SIGTTOU and the resource
//     limits' SIGXCPU and SIGXFSZ are dropped; SIGCHLD, and the SIGHUP and
//     SIGCONT of a terminal hang-up, are written to the pipe.
//   - Any other si_code (timers, message queues, asynchronous I/O, none of
//     which reaper-init uses): to the runtime's handler for the signals it
//     uses itself (SIGPROF, SIGURG), dropped otherwise.
//
// SIGCHLD is written at most once until the main loop has read it: the
// reap loop answers any number of exits at once, and a storm of exits
// cannot fill the pipe.
//
// # Forwarding from the handler
//
// A signal sent from outside that the main loop would forward as it is
// (through the rewrite table, to the child's process group, at once) is
// forwarded by the handler itself: one kill(2), and nothing else. The
// handler counts it (Counted) instead of waking the loop, which adds the
// counts to its counters when it next needs them (a watch tick, the
// exit). A rule may be Loud instead: then the handler writes the byte too,
// with the high bit set, "already forwarded", so that the loop does its
// bookkeeping and nothing is sent twice. The loop tells the handler what
// it may forward in two pieces of shared state:
//
//   - the target (the child's process group, or the child with -c), 0
//     when nothing may be forwarded from the handler: no child yet, the
//     main child exited, pause mode, a drain or kill phase;
//   - for each signal, the signal to send in its place, 0 when the loop
//     decides that signal itself: a --delay, the terminating signals
//     (the loop writes the provisional termination summary before it
//     forwards one, starts the grace period, kills on the second),
//     job-control signals when reaper-init is not PID 1, a rewrite to 0,
//     SIGCHLD.
//
// When the child has left its process group (setpgid, setsid), the
// process group alone would miss it: after kill(-group) the handler asks
// getpgid(child) and, when the child is elsewhere, sends it the signal by
// PID as well. Each process gets the signal once.
//
// # Never a recycled PID
//
// The handler may run on any thread, at the same time as the main loop.
// It increments an in-flight counter before it reads the target and
// decrements it after its last kill; the main loop, before it reaps the
// main child, peeks at the exit with waitid(WNOWAIT), sets the target to
// 0 and waits for the counter to fall to 0 (DisableFast). Both sides use
// sequentially consistent atomic operations, so a handler either saw the
// target before it was cleared, and the loop waits for it to finish, or
// sees 0 and leaves the signal to the loop. Until the main child is
// reaped its PID, and so its process group ID, cannot be reused: the
// handler never signals a recycled PID. A handler running on the loop's
// own thread has finished before the loop runs again.
//
// # Architectures
//
// The handler is written for each architecture reaper-init ships for
// (handler_GOARCH.s: amd64, arm64, arm, 386, ppc64le, s390x, riscv64);
// the Go code is shared. What differs is in handler_GOARCH.go and the
// assembly: the system call numbers, the kernel's sigaction layout, the
// restorer (amd64 and 386 need one), siginfo's offsets (si_pid is at 12
// on 32-bit), the atomic instructions, and the registers the runtime's
// handler must find as the kernel set them. On arm the handler needs
// ARMv7 (GOARM=7, for DMB). docs/arm64-handler.md measures it on arm64.
// Under qemu-user, which delivers signals itself, real-time signals are
// numbered two lower than the host's, and the guest's 63 and 64 cannot be
// delivered at all.
package catch
