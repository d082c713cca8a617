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

// restorerPC is the address of the restorer (handler_386.s).
var restorerPC uintptr

// setRestorer gives the handler a restorer of our own, as the Go runtime
// gives (without one the kernel returns through the vDSO's).
func setRestorer(a *sigactiont) {
	a.flags |= saRestorer
	a.restorer = restorerPC
}

// restorer returns from the handler (handler_386.s).
func restorer()
