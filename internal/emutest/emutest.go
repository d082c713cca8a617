// Package emutest tells a test whether its own process runs under a
// user-mode emulator: qemu-user through binfmt_misc, as `make cross` runs
// the unit tests built for arm64 and s390x on an amd64 machine. A test of
// something the emulator does not do as the kernel does skips there, with
// one line naming the limit.
package emutest

import (
	"os"
	"testing"
)

// Emulator returns the path of the emulator that runs this process, or ""
// when it runs natively. qemu-user answers for /proc/self/exe with the
// emulated program; /proc/thread-self/exe, which it does not rewrite, is
// the emulator itself.
func Emulator() string {
	self, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return ""
	}
	thread, err := os.Readlink("/proc/thread-self/exe")
	if err != nil || thread == self {
		return ""
	}
	return thread
}

// Skip skips t when this process runs under an emulator, with one line
// naming the emulator and limit, the thing it does not do as the kernel
// does.
func Skip(t testing.TB, limit string) {
	t.Helper()
	if emu := Emulator(); emu != "" {
		t.Skipf("skipping: this test runs under %s, and %s", emu, limit)
	}
}
