//go:build arm && !arm.7

package catch

// The handler needs ARMv7 (its barrier is DMB, and reaper-init ships for
// arm with GOARM=7): a build for an earlier GOARM stops here.
const _ = handlerNeedsGOARM7
