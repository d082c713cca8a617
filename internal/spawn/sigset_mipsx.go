//go:build mips || mipsle || mips64 || mips64le

package spawn

import "unsafe"

// The kernel's signal set on MIPS: 128 signals.
const (
	nsig        = 128
	sigsetBytes = 16
)

// handlerOffset is where sa_handler is in the kernel's struct sigaction:
// after the unsigned int sa_flags, aligned for a pointer.
const handlerOffset = unsafe.Sizeof(uintptr(0))
