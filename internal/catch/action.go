package catch

// Flags of the handler's sigaction, the same on every architecture
// reaper-init ships for.
const (
	saSiginfo  = 0x4
	saRestorer = 0x04000000
	saOnstack  = 0x08000000
	saRestart  = 0x10000000
)

// handlerPC is the address of the handler (handler_GOARCH.s).
var handlerPC uintptr

// handlerAction is the sigaction that installs the handler: on the
// thread's alternate signal stack (the Go runtime gives every thread one),
// with every signal blocked while it runs, system calls restarted, and
// returning through what the architecture's setRestorer says.
func handlerAction() sigactiont {
	a := sigactiont{
		handler: handlerPC,
		flags:   saSiginfo | saOnstack | saRestart,
		mask:    ^uint64(0),
	}
	setRestorer(&a)
	return a
}
