package main

import "syscall"

// sleeperFlags share the caller's memory with the sleeper: making one
// copies no page table, and a sleeper costs the kernel a task and its
// stack only.
const sleeperFlags = syscall.CLONE_VM | uintptr(syscall.SIGCHLD)

// cloneSleeper starts a process that sleeps in pause(2) until it is
// killed, and returns its PID, or the errno of clone(2). Every signal
// must be blocked on the calling thread. See sleeper_amd64.s.
func cloneSleeper(flags uintptr) (pid, errno uintptr)
