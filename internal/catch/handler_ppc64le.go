package catch

// System call numbers.
const (
	sysRead          = 3
	sysClose         = 6
	sysRtSigaction   = 173
	sysRtSigprocmask = 174
	sysSchedYield    = 158
	sysGetpid        = 20
	sysFcntl         = 55
	sysPipe2         = 317
)

// sigactiont is the kernel's struct sigaction.
type sigactiont struct {
	handler  uintptr
	flags    uint64
	restorer uintptr
	mask     uint64
}

// The address of the handler (handler_ppc64le.s).
var handlerPC uintptr

// handlerAction is the sigaction that installs the handler: on the
// thread's alternate signal stack (the Go runtime gives every thread one),
// with every signal blocked while it runs and system calls restarted. The
// kernel supplies the code the handler returns to (the vDSO's): no
// restorer, as the Go runtime does.
func handlerAction() sigactiont {
	const (
		saSiginfo = 0x4
		saOnstack = 0x08000000
		saRestart = 0x10000000
	)
	return sigactiont{
		handler: handlerPC,
		flags:   saSiginfo | saOnstack | saRestart,
		mask:    ^uint64(0),
	}
}

func handlerOf(a *sigactiont) uintptr { return a.handler }

func setHandlerOf(a *sigactiont, h uintptr) { a.handler = h }
