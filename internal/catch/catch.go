package catch

import (
	"sync/atomic"
	"unsafe"
)

// Max is the highest signal number on Linux.
const Max = 64

// Forwarded marks a byte in the pipe whose signal the handler has already
// forwarded: the low seven bits are the signal number.
const Forwarded = 0x80

// Values shared by every architecture reaper-init ships for.
const (
	oNonblock     = 0x800
	oCloexec      = 0x80000
	fDupfdCloexec = 1030
	sigSetmask    = 2
	eintr         = 4
)

// Signal numbers the handler treats specially (the same on every
// architecture reaper-init ships for).
const (
	sigILL  = 4
	sigTRAP = 5
	sigBUS  = 7
	sigFPE  = 8
	sigKILL = 9
	sigSEGV = 11
	sigPIPE = 13
	sigSTOP = 19
	sigTTIN = 21
	sigTTOU = 22
	sigURG  = 23
	sigXCPU = 24
	sigXFSZ = 25
	sigPROF = 27
	sigSYS  = 31
)

// State shared with the handler. The handler reads it with plain or
// atomic loads; Go code writes it with atomic stores once the handler is
// installed.
var (
	pipeR, pipeW int32  // the pipe; -1 until made
	selfPID      int32  // this process, as si_pid names it
	childPending uint32 // a SIGCHLD byte is in the pipe, not yet read
	inflight     int32  // handlers between reading the target and their last kill

	fastTarget int32            // kill(2) target for forwarding from the handler; 0: none
	fastChild  int32            // the child, to signal by PID when it left the group; 0: never
	fastTo     [Max + 1]uint32  // for each signal: the signal to send, | Loud; 0: the loop decides
	fwdCount   [Max + 1]uint32  // signals the handler forwarded quietly, by the signal sent
	chainTo    [Max + 1]uintptr // the runtime's handler of each signal, for chaining
	masks      [nMasks]uint64   // bit sig-1 of each class, see below
)

// The classes of masks, by index.
const (
	kernelToRuntime = iota // raised by the kernel about us (si_code > 0): the runtime's (faults)
	kernelDrop             // raised by the kernel about us: dropped
	selfToRuntime          // sent by this process: the runtime's (its preemption SIGURG)
	otherToRuntime         // other si_codes (timers...): the runtime's
	reserved               // sent from outside, dropped: 32 to 34
	nMasks
)

func bit(sig int) uint64 { return 1 << (sig - 1) }

// Install errors, reported by Err. The handler is best effort per signal:
// a signal whose sigaction the system refuses (an emulator keeping some
// real-time signals to itself) is left as it was, and Missed says which.
var (
	errCall  string
	errErrno uintptr
	missed   uint64
)

func init() { install() }

// install makes the pipe and points every catchable signal at the
// handler. It runs before any other package's initialiser: it may use
// nothing that needs one.
func install() {
	pipeR, pipeW = -1, -1
	selfPID = int32(sys0(sysGetpid))

	masks[kernelToRuntime] = bit(sigSEGV) | bit(sigBUS) | bit(sigFPE) | bit(sigILL) | bit(sigTRAP) | bit(sigSYS)
	masks[kernelToRuntime] |= bit(sigPROF) // a profiling timer: the runtime's, should it ever run one
	masks[kernelDrop] = bit(sigTTIN) | bit(sigTTOU) | bit(sigXCPU) | bit(sigXFSZ) | bit(sigPIPE)
	masks[selfToRuntime] = bit(sigURG)
	masks[otherToRuntime] = bit(sigURG) | bit(sigPROF)
	masks[reserved] = bit(32) | bit(33) | bit(34)

	var p [2]int32
	if _, e := rawSyscall6(sysPipe2, uintptr(unsafe.Pointer(&p[0])), oNonblock|oCloexec, 0, 0, 0, 0); e != 0 {
		errCall, errErrno = "pipe2", e
		return
	}
	pipeR, pipeW = aboveStdio(p[0]), aboveStdio(p[1])

	act := handlerAction()
	chains := masks[kernelToRuntime] | masks[selfToRuntime] | masks[otherToRuntime]
	for sig := 1; sig <= Max; sig++ {
		if sig == sigKILL || sig == sigSTOP {
			continue
		}
		// Only the signals the handler may pass on need the runtime's
		// handler: reading the others would cost a system call each.
		var old sigactiont
		if chains&bit(sig) != 0 {
			if _, e := rtSigaction(sig, nil, &old); e != 0 {
				missed |= bit(sig)
				continue
			}
			if h := old.handler; h > 1 {
				chainTo[sig] = h // the runtime's; 0 and 1 are SIG_DFL and SIG_IGN
			}
		}
		if _, e := rtSigaction(sig, &act, nil); e != 0 {
			missed |= bit(sig)
			if errCall == "" {
				errCall, errErrno = "rt_sigaction", e
			}
		}
	}
	// An inherited mask with signals blocked would keep them from ever
	// reaching the handler (the runtime unblocks only the ones it needs
	// on each thread). This thread is the main one; the kernel prefers it
	// for signals sent to the process.
	var none uint64
	rawSyscall6(sysRtSigprocmask, sigSetmask, uintptr(unsafe.Pointer(&none)), 0, 8, 0, 0)
}

// aboveStdio moves fd above 2 when it is one of the standard descriptors
// (the init was started with some of them closed): they are the child's,
// and a log line written to a closed stderr must not land in the pipe.
func aboveStdio(fd int32) int32 {
	if fd > 2 {
		return fd
	}
	moved, e := rawSyscall6(sysFcntl, uintptr(fd), fDupfdCloexec, 3, 0, 0, 0)
	if e != 0 {
		return fd
	}
	rawSyscall6(sysClose, uintptr(fd), 0, 0, 0, 0, 0)
	return int32(moved)
}

func rtSigaction(sig int, act, old *sigactiont) (uintptr, uintptr) {
	return rawSyscall6(sysRtSigaction, uintptr(sig), uintptr(unsafe.Pointer(act)), uintptr(unsafe.Pointer(old)), 8, 0, 0)
}

func sys0(trap uintptr) uintptr {
	r, _ := rawSyscall6(trap, 0, 0, 0, 0, 0, 0)
	return r
}

// rawSyscall6 makes a system call without telling the Go scheduler
// (handler_GOARCH.s). It returns the result and the error number, 0 on
// success.
func rawSyscall6(trap, a1, a2, a3, a4, a5, a6 uintptr) (r1, errno uintptr)

// handler is the signal handler (handler_GOARCH.s). It is never called
// from Go.
func handler()

// Err reports the first system call that failed while the handler was
// installed, and its error number; "" when none did. Without the pipe
// (pipe2 failed) nothing is caught.
func Err() (call string, errno uintptr) { return errCall, errErrno }

// Missed returns the signals, as a bit set (bit sig-1), whose handler
// could not be installed.
func Missed() uint64 { return missed }

// FD returns the descriptor of the pipe's read end, readable when signals
// have arrived, or -1.
func FD() int { return int(pipeR) }

// SelfPID returns the process ID the handler compares si_pid with.
func SelfPID() int { return int(selfPID) }

// Read reads what the handler wrote, without blocking: one byte per
// signal, Forwarded set when the handler forwarded it. It returns the
// count, or 0 when nothing is there.
func Read(b []byte) int {
	if len(b) == 0 || pipeR < 0 {
		return 0
	}
	for {
		n, e := rawSyscall6(sysRead, uintptr(pipeR), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), 0, 0, 0)
		if e == eintr {
			continue
		}
		if e != 0 {
			return 0
		}
		return int(n)
	}
}

// ChildSeen tells the handler that the SIGCHLD byte it wrote has been
// read: the next SIGCHLD writes a new one. Call it before reaping, so
// that no exit goes unnoticed.
func ChildSeen() { atomic.StoreUint32(&childPending, 0) }

// SetTarget sets where the handler forwards: target is the argument of
// kill(2) (the negative process group ID, or the child's PID with -c), and
// child the main child's PID, which is also sent the signal when it is no
// longer in that group (0 with -c). SetTarget(0, 0) is DisableFast.
func SetTarget(target, child int) {
	if target == 0 {
		DisableFast()
		return
	}
	atomic.StoreInt32(&fastChild, int32(child))
	atomic.StoreInt32(&fastTarget, int32(target))
}

// DisableFast stops the handler from forwarding and returns once no
// handler that could still forward is running. Call it before reaping the
// main child.
func DisableFast() {
	atomic.StoreInt32(&fastTarget, 0)
	for atomic.LoadInt32(&inflight) != 0 {
		sys0(sysSchedYield)
	}
}

// Loud, in a forwarding rule, has the handler tell the main loop about
// a signal it forwarded (a byte with Forwarded set): for the signals the
// loop has more to do about than counting (a terminating signal starts
// the grace period). A quiet rule only counts, in Counted: the loop is
// not even woken.
const Loud = 0x100

// SetForward sets the signal the handler sends in place of sig, with
// loud set when the loop must be told (see Loud); to = 0 leaves sig to the
// main loop.
func SetForward(sig, to int, loud bool) {
	if sig < 1 || sig > Max || to < 0 || to > Max {
		return
	}
	rule := uint32(to)
	if loud && to != 0 {
		rule |= Loud
	}
	atomic.StoreUint32(&fastTo[sig], rule)
}

// Counted calls fn with each signal the handler forwarded quietly since
// the last call, and how many times, and clears the counts.
func Counted(fn func(sig, n int)) {
	for sig := 1; sig <= Max; sig++ {
		if n := atomic.SwapUint32(&fwdCount[sig], 0); n != 0 {
			fn(sig, int(n))
		}
	}
}

// Handled returns the signals, as a bit set (bit sig-1), that have the
// handler: none of them is ignored, whatever the init inherited.
func Handled() uint64 {
	all := ^uint64(0) &^ (bit(sigKILL) | bit(sigSTOP))
	if pipeR < 0 {
		return 0
	}
	return all &^ missed
}

// Uninstall gives the signals the Go runtime uses (the faults, SIGURG,
// SIGPROF) back to its handler and every other signal to its default
// action, and closes the pipe: for a mode of reaper-init that is not an
// init (the health probe), where a SIGTERM must simply end the process.
func Uninstall() {
	for sig := 1; sig <= Max; sig++ {
		if sig == sigKILL || sig == sigSTOP || missed&bit(sig) != 0 {
			continue
		}
		giveBack(sig)
	}
	if pipeR >= 0 {
		rawSyscall6(sysClose, uintptr(pipeR), 0, 0, 0, 0, 0)
		rawSyscall6(sysClose, uintptr(pipeW), 0, 0, 0, 0, 0)
		pipeR, pipeW = -1, -1
	}
}

// giveBack puts back, in place of the package's handler for sig, the
// runtime's (or SIG_DFL, 0, where the runtime had none), as if the
// package had never been installed.
func giveBack(sig int) (errno uintptr) {
	act := handlerAction()
	act.handler = chainTo[sig]
	_, e := rtSigaction(sig, &act, nil)
	return e
}
