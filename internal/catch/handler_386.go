package catch

// System call numbers.
const (
	sysRead          = 3
	sysClose         = 6
	sysRtSigaction   = 174
	sysRtSigprocmask = 175
	sysSchedYield    = 158
	sysGetpid        = 20
	sysFcntl         = 221 // fcntl64
	sysPipe2         = 331
)

// sigactiont is the kernel's struct sigaction: 32-bit handler, flags and
// restorer, and a 64-bit mask.
type sigactiont struct {
	handler  uintptr
	flags    uint32
	restorer uintptr
	mask     uint64
}

// The addresses of the handler and of the restorer (handler_386.s).
var handlerPC, restorerPC uintptr

// handlerAction is the sigaction that installs the handler: on the
// thread's alternate signal stack (the Go runtime gives every thread one),
// with every signal blocked while it runs, system calls restarted, and a
// restorer of our own, as the Go runtime gives (without one the kernel
// returns through the vDSO's).
func handlerAction() sigactiont {
	const (
		saSiginfo  = 0x4
		saOnstack  = 0x08000000
		saRestart  = 0x10000000
		saRestorer = 0x04000000
	)
	return sigactiont{
		handler:  handlerPC,
		flags:    saSiginfo | saOnstack | saRestart | saRestorer,
		restorer: restorerPC,
		mask:     ^uint64(0),
	}
}

func handlerOf(a *sigactiont) uintptr { return a.handler }

func setHandlerOf(a *sigactiont, h uintptr) { a.handler = h }

// restorer returns from the handler (handler_386.s).
func restorer()
