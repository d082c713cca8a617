//go:build !amd64 || reaper_ossignal

package signals

import (
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// siginfoHandler: os/signal hands over no siginfo, so signals the process
// sent itself cannot be told apart here.
const siginfoHandler = false

func urgForwardable() bool { return urgForwardableLinked() }

// install registers with os/signal and copies each signal into the pipe
// from a goroutine. Without the siginfo, the runtime's own SIGURG cannot
// be told apart: SIGURG is caught only when the binary was linked with
// asynchronous preemption off (see URGForwardable).
func (c *Catcher) install() error {
	ch := make(chan os.Signal, 64)
	sigs := handled()
	list := make([]os.Signal, len(sigs))
	for i, s := range sigs {
		list[i] = s
	}
	signal.Notify(ch, list...)
	go func() {
		for s := range ch {
			if n, ok := s.(syscall.Signal); ok {
				record(unix.Signal(n))
			}
		}
	}()
	return nil
}
