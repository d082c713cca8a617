package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The subcommands the PID-pressure watch tests run:
//
//	watch_zombieparent N [COMM]  name itself COMM (default "zombie (farm)"),
//	                             start N children that exit at once, never
//	                             wait for them; print "ready pid=P
//	                             pid_max=M" once all are zombies (M: the
//	                             namespace's kernel.pid_max, -1 when it
//	                             cannot be read); on SIGUSR1 reap them all and
//	                             print "reaped N"; run until killed.
//	watch_hold FILE TARGET       start `sleep` processes until the number in
//	                             FILE (a pids.current) reaches TARGET; print
//	                             "ready pid=P held=N current=C"; run until
//	                             killed.
//	watch_orphans                make two orphans by way of a middle process
//	                             that exits: "orphan-exit7", which exits 7,
//	                             and "orphan (sig)", which SIGKILLs itself,
//	                             each once re-parented; print
//	                             "orphan pid=P comm=NAME" for each; run
//	                             until killed.
func init() {
	commands["watch_zombieparent"] = watchZombieParent
	commands["watch_hold"] = watchHold
	commands["watch_orphans"] = watchOrphans
	commands["watch_orphans_mid"] = watchOrphansMid
	commands["watch_orphan"] = watchOrphan
}

// watchSetComm renames the process: /proc/self/comm is the thread group
// leader's name, the one /proc/PID/stat shows.
func watchSetComm(name string) error {
	return os.WriteFile("/proc/self/comm", []byte(name), 0)
}

func watchFail(format string, args ...any) int {
	fmt.Fprintf(os.Stderr, "reaper-helper: "+format+"\n", args...)
	return 1
}

// watchSpawn starts the helper itself with args, without a pidfd or anything
// else that would make Go wait for the child, and returns its PID.
func watchSpawn(args ...string) (int, error) {
	self, err := os.Executable()
	if err != nil {
		return 0, err
	}
	return syscall.ForkExec(self, append([]string{"reaper-helper"}, args...), &syscall.ProcAttr{
		Files: []uintptr{0, 1, 2},
	})
}

func watchZombieParent(args []string) int {
	if len(args) < 1 || len(args) > 2 {
		return watchFail("usage: watch_zombieparent N [COMM]")
	}
	n, err := strconv.Atoi(args[0])
	if err != nil || n < 0 {
		return watchFail("bad count %q", args[0])
	}
	comm := "zombie (farm)"
	if len(args) == 2 {
		comm = args[1]
	}
	if err := watchSetComm(comm); err != nil {
		return watchFail("set comm: %v", err)
	}
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	pids := make([]int, 0, n)
	// Each child is a Go process with a few threads until it exits, and
	// in a container whose pids limit the zombies bring near, the ones
	// still starting can take the last PIDs for a moment: EAGAIN is
	// retried while the earlier children finish exiting.
	deadline := time.Now().Add(60 * time.Second)
	for len(pids) < n {
		pid, err := watchSpawn("exit", "0")
		if err == syscall.EAGAIN && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
			continue
		}
		if err != nil {
			return watchFail("start child %d: %v", len(pids), err)
		}
		pids = append(pids, pid)
	}
	for _, pid := range pids {
		for watchState(pid) != 'Z' {
			if time.Now().After(deadline) {
				return watchFail("child %d is not a zombie after 60s", pid)
			}
			time.Sleep(time.Millisecond)
		}
	}
	// kernel.pid_max is per PID namespace on recent kernels: read here,
	// it is the value the namespace's PID 1 sees.
	pidMax, err := watchReadNumber("/proc/sys/kernel/pid_max")
	if err != nil {
		pidMax = -1
	}
	fmt.Printf("ready pid=%d pid_max=%d\n", os.Getpid(), pidMax)
	for range usr1 {
		reaped := 0
		for {
			pid, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil)
			if err == syscall.EINTR {
				continue
			}
			if err != nil || pid <= 0 {
				break
			}
			reaped++
		}
		fmt.Printf("reaped %d\n", reaped)
	}
	return 0
}

// watchState returns the state letter of process pid, or 0 when it is gone.
func watchState(pid int) byte {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 || i+2 >= len(b) {
		return 0
	}
	return b[i+2]
}

func watchReadNumber(file string) (int, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

func watchHold(args []string) int {
	if len(args) != 2 {
		return watchFail("usage: watch_hold FILE TARGET")
	}
	target, err := strconv.Atoi(args[1])
	if err != nil {
		return watchFail("bad target %q", args[1])
	}
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		return watchFail("%v", err)
	}
	held := 0
	for {
		cur, err := watchReadNumber(args[0])
		if err != nil {
			return watchFail("%v", err)
		}
		if cur >= target {
			fmt.Printf("ready pid=%d held=%d current=%d\n", os.Getpid(), held, cur)
			break
		}
		if _, err := syscall.ForkExec(sleep, []string{"sleep", "3600"}, &syscall.ProcAttr{}); err != nil {
			return watchFail("start sleep %d at %s=%d: %v", held, args[0], cur, err)
		}
		held++
	}
	watchForever()
	return 0
}

// watchForever blocks until the process is killed. (An empty select
// would be taken for a deadlock by the runtime.)
func watchForever() {
	for {
		time.Sleep(time.Hour)
	}
}

// watchOrphans is the main child of the -w test: it starts the middle process
// and reaps it, so that only the grandchildren are orphans.
func watchOrphans(args []string) int {
	pid, err := watchSpawn("watch_orphans_mid")
	if err != nil {
		return watchFail("start middle process: %v", err)
	}
	var ws syscall.WaitStatus
	for {
		_, err = syscall.Wait4(pid, &ws, 0, nil)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil || ws.ExitStatus() != 0 {
		return watchFail("middle process: %v, status %v", err, ws)
	}
	watchForever()
	return 0
}

func watchOrphansMid(args []string) int {
	for _, a := range [][]string{{"exit", "7", "orphan-exit7"}, {"signal", "9", "orphan (sig)"}} {
		args := append(append([]string{"watch_orphan"}, a...), strconv.Itoa(os.Getpid()))
		if _, err := watchSpawn(args...); err != nil {
			return watchFail("start orphan: %v", err)
		}
	}
	return 0
}

// watchOrphan names itself, waits to be re-parented, says so, and exits with
// the code, or kills itself with the signal, it was given.
func watchOrphan(args []string) int {
	if len(args) != 4 {
		return watchFail("usage: watch_orphan exit|signal N COMM PARENT")
	}
	n, err := strconv.Atoi(args[1])
	if err != nil {
		return watchFail("bad number %q", args[1])
	}
	parent, err := strconv.Atoi(args[3])
	if err != nil {
		return watchFail("bad parent %q", args[3])
	}
	if err := watchSetComm(args[2]); err != nil {
		return watchFail("set comm: %v", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for os.Getppid() == parent {
		if time.Now().After(deadline) {
			return watchFail("not re-parented after 30s")
		}
		time.Sleep(time.Millisecond)
	}
	w := bufio.NewWriter(os.Stdout)
	fmt.Fprintf(w, "orphan pid=%d comm=%s\n", os.Getpid(), args[2])
	w.Flush()
	if args[0] == "signal" {
		syscall.Kill(os.Getpid(), syscall.Signal(n))
		time.Sleep(10 * time.Second)
		return watchFail("signal %d did not kill", n)
	}
	return n
}
