package catch

// System call numbers (EABI).
const (
	sysRead          = 3
	sysClose         = 6
	sysRtSigaction   = 174
	sysRtSigprocmask = 175
	sysSchedYield    = 158
	sysGetpid        = 20
	sysFcntl         = 221 // fcntl64
	sysPipe2         = 359
)

// sigactiont is the kernel's struct sigaction: 32-bit handler, flags and
// restorer, and a 64-bit mask.
type sigactiont struct {
	handler  uintptr
	flags    uint32
	restorer uintptr
	mask     uint64
}

// setRestorer leaves the restorer out: the kernel supplies the code the
// handler returns to (the vDSO's or its signal page's), as it does for the Go runtime.
func setRestorer(*sigactiont) {}
