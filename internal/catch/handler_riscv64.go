package catch

// System call numbers.
const (
	sysRead          = 63
	sysClose         = 57
	sysRtSigaction   = 134
	sysRtSigprocmask = 135
	sysSchedYield    = 124
	sysGetpid        = 172
	sysFcntl         = 25
	sysPipe2         = 59
)

// sigactiont is the kernel's struct sigaction: riscv64 has no
// sa_restorer.
type sigactiont struct {
	handler uintptr
	flags   uint64
	mask    uint64
}

// setRestorer leaves the restorer out: the kernel supplies the code the
// handler returns to (the vDSO's), as it does for the Go runtime.
func setRestorer(*sigactiont) {}
