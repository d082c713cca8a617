//go:build !(mips || mipsle || mips64 || mips64le)

package spawn

// The kernel's signal set: 64 signals.
const (
	nsig        = 64
	sigsetBytes = 8
)

// handlerOffset is where sa_handler is in the kernel's struct sigaction:
// first.
const handlerOffset = 0
