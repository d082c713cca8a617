//go:build !amd64

package main

import "syscall"

// sleeperFlags make a plain fork: only the amd64 sleeper can share the
// caller's memory (it needs no stack).
const sleeperFlags = uintptr(syscall.SIGCHLD)

// cloneSleeper starts a process that sleeps until it is killed, and
// returns its PID, or the errno of clone(2). Every signal must be blocked
// on the calling thread. The child, a copy of this process with one
// thread, makes nothing but raw system calls, in a function that cannot
// grow its stack; ppoll with no descriptors and no timeout sleeps as
// pause(2) does.
//
//go:nosplit
func cloneSleeper(flags uintptr) (pid, errno uintptr) {
	p, _, e := syscall.RawSyscall6(syscall.SYS_CLONE, flags, 0, 0, 0, 0, 0)
	if e == 0 && p == 0 {
		for {
			syscall.RawSyscall6(syscall.SYS_PPOLL, 0, 0, 0, 0, 0, 0)
		}
	}
	return p, uintptr(e)
}
