package catch_test

import (
	"testing"

	"github.com/reaper-init/reaper-init/internal/emutest"
)

// emulator returns the path of the emulator the test binary runs under
// (qemu-user through binfmt_misc, for GOARCH=arm64 and the like), or ""
// when it runs natively.
var emulator = emutest.Emulator

// Under qemu-user (7.2, Debian 12) the program's real-time signals are
// the host's shifted by two: guest signal n (32 to 62) is host signal
// n+2, because the emulator starts them at the C library's SIGRTMIN (34)
// and the guest's at 32. Guest signals 63 and 64 have no host signal at
// all: the emulator accepts their sigaction and never delivers them.
// Host 32 and 33 are the emulator's C library's own.
const (
	qemuRTShift = 2
	qemuRTLast  = 62
)

// hostSignal returns the signal a native process sends for the test
// process to receive sig, 0 when it cannot.
func hostSignal(sig int) int {
	if sig < 32 || emulator() == "" {
		return sig
	}
	if sig > qemuRTLast {
		return 0
	}
	return sig + qemuRTShift
}

// deliverable returns the signals of sigs that another process can send
// the test process, and logs the others.
func deliverable(t *testing.T, sigs []int) []int {
	t.Helper()
	var ok []int
	for _, s := range sigs {
		if hostSignal(s) == 0 {
			t.Logf("not sending signal %d: %s delivers no real-time signal above %d", s, emulator(), qemuRTLast)
			continue
		}
		ok = append(ok, s)
	}
	return ok
}
