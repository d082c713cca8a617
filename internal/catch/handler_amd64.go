package catch

// System call numbers.
const (
	sysRead          = 0
	sysClose         = 3
	sysRtSigaction   = 13
	sysRtSigprocmask = 14
	sysSchedYield    = 24
	sysGetpid        = 39
	sysFcntl         = 72
	sysPipe2         = 293
)

// sigactiont is the kernel's struct sigaction.
type sigactiont struct {
	handler  uintptr
	flags    uint64
	restorer uintptr
	mask     uint64
}

// The addresses of the handler and of the restorer (handler_amd64.s).
var handlerPC, restorerPC uintptr

// handlerAction is the sigaction that installs the handler: on the
// thread's alternate signal stack (the Go runtime gives every thread one),
// with every signal blocked while it runs, system calls restarted, and a
// restorer of our own, which the x86-64 kernel requires.
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

// restorer returns from the handler (handler_amd64.s).
func restorer()
