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

// restorerPC is the address of the restorer (handler_amd64.s).
var restorerPC uintptr

// setRestorer gives the handler a restorer of our own, which the x86-64 kernel requires.
func setRestorer(a *sigactiont) {
	a.flags |= saRestorer
	a.restorer = restorerPC
}

// restorer returns from the handler (handler_amd64.s).
func restorer()
