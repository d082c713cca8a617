//go:build amd64 && !reaper_ossignal

package signals

import (
	"errors"
	"unsafe"

	"golang.org/x/sys/unix"
)

// siginfoHandler: the handler here sees each signal's siginfo.
const siginfoHandler = true

// trampoline is the assembly signal handler (catcher_amd64.s). It is
// never called from Go.
func trampoline()

// State read by the handler.
var (
	trampolineABI0  uintptr          // the handler's address
	selfPID         int32            // this process, as siginfo names it
	kernelToRuntime uint64           // bit sig-1: kernel-raised sig goes to the runtime
	selfToRuntime   uint64           // bit sig-1: sig sent by this process goes to the runtime
	runtimeHandler  [Max + 1]uintptr // the runtime's handlers, for chaining
)

// sigaction is the kernel's struct sigaction on amd64.
type sigaction struct {
	handler, flags, restorer uintptr
	mask                     uint64
}

const saRestorer = 0x04000000

func rtSigaction(sig unix.Signal, act, old *sigaction) error {
	_, _, errno := unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig),
		uintptr(unsafe.Pointer(act)), uintptr(unsafe.Pointer(old)), 8, 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

// URGForwardable is always true here: the handler sees the siginfo of
// each SIGURG and passes the runtime's own preemption signals (tgkill
// from this process) to the runtime.
func urgForwardable() bool { return true }

// install points every caught signal at the trampoline. The flags, mask
// and restorer are copied from the handler the Go runtime installed for
// SIGTERM (SA_ONSTACK among them: the handler must run on the signal
// stack, not on a goroutine's).
func (c *Catcher) install() error {
	selfPID = int32(unix.Getpid())
	var tmpl sigaction
	if err := rtSigaction(unix.SIGTERM, nil, &tmpl); err != nil {
		return errors.New("rt_sigaction SIGTERM: " + err.Error())
	}
	if tmpl.handler <= 1 || tmpl.flags&saRestorer == 0 {
		return errors.New("the Go runtime has no handler for SIGTERM to model ours on")
	}
	for _, s := range []unix.Signal{unix.SIGSEGV, unix.SIGBUS, unix.SIGFPE, unix.SIGILL, unix.SIGTRAP, unix.SIGSYS} {
		kernelToRuntime |= 1 << (s - 1)
	}
	selfToRuntime = 1 << (unix.SIGURG - 1)
	act := tmpl
	act.handler = trampolineABI0
	for _, s := range handled() {
		if chained := (kernelToRuntime|selfToRuntime)&(1<<(s-1)) != 0; chained {
			var old sigaction
			if err := rtSigaction(s, nil, &old); err != nil {
				return errors.New("rt_sigaction " + Name(s) + ": " + err.Error())
			}
			if old.handler <= 1 {
				continue // nothing to chain to: leave the signal alone
			}
			runtimeHandler[s] = old.handler
		}
		if err := rtSigaction(s, &act, nil); err != nil {
			return errors.New("rt_sigaction " + Name(s) + ": " + err.Error())
		}
	}
	return nil
}
