package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
)

func init() {
	commands["core-leave-group"] = coreLeaveGroup
}

// coreLeaveGroup is a main child that leaves its process group after
// starting another process in it.
//
// Usage: core-leave-group COMMAND [ARGS...] -- GRANDCHILD [ARGS...]
//
// It starts GRANDCHILD in its own (the original) process group, starts a
// sleeping process in a group of its own and joins that group (the same
// session), and execs COMMAND, which keeps the main child's PID.
func coreLeaveGroup(args []string) int {
	split := -1
	for i, a := range args {
		if a == "--" {
			split = i
			break
		}
	}
	if split < 1 || split == len(args)-1 {
		fmt.Fprintln(os.Stderr, "usage: core-leave-group COMMAND [ARGS...] -- GRANDCHILD [ARGS...]")
		return 2
	}
	command, grandchild := args[:split], args[split+1:]
	gc := exec.Command(grandchild[0], grandchild[1:]...)
	gc.Stdin, gc.Stdout, gc.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := gc.Start(); err != nil {
		return coreFail("core-leave-group", err)
	}
	other := exec.Command("sleep", "600")
	other.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := other.Start(); err != nil {
		return coreFail("core-leave-group", err)
	}
	if err := syscall.Setpgid(0, other.Process.Pid); err != nil {
		return coreFail("core-leave-group", fmt.Errorf("setpgid(0, %d): %w", other.Process.Pid, err))
	}
	path, err := exec.LookPath(command[0])
	if err != nil {
		return coreFail("core-leave-group", err)
	}
	err = syscall.Exec(path, command, os.Environ())
	return coreFail("core-leave-group", errors.Join(errors.New("exec"), err))
}
