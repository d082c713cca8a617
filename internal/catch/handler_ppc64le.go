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

// setRestorer leaves the restorer out: the kernel supplies the code the
// handler returns to (the vDSO's), as it does for the Go runtime.
func setRestorer(*sigactiont) {}
