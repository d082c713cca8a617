package catch

import "sync/atomic"

// Inflight returns the handlers between reading the target and their
// last kill.
func Inflight() int32 { return atomic.LoadInt32(&inflight) }

// GiveBack puts the runtime's handler back in place of the package's for
// sig, as if the package had never been installed: for a comparison
// with os/signal in the same test binary.
func GiveBack(sig int) uintptr { return giveBack(sig) }
