package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

func init() {
	commands["core-orphans"] = coreOrphans
}

// coreOrphans makes orphans for the reaper to adopt.
//
// Usage: core-orphans [-n N] [-linger D] [-hold] [-exit CODE] [-after FILE] DIR
//
// Once FILE exists (at once without -after), it double-forks N orphans (each middle process exits at once and is
// reaped here, so every orphan is re-parented away from this process),
// then writes DIR/orphaned. Each orphan sleeps -linger and exits; with
// -hold it first waits until this process releases it, which happens
// when DIR/release appears, or when this process exits, so all of them
// exit at the same moment.
//
// With -exit CODE the process exits with CODE right after writing
// DIR/orphaned (releasing held orphans as it goes). Otherwise it waits
// until every orphan has exited (its copy of a pipe closed), writes
// DIR/done, then waits for DIR/stop and exits with the code written in
// it.
func coreOrphans(args []string) int {
	fs := flag.NewFlagSet("core-orphans", flag.ContinueOnError)
	n := fs.Int("n", 1, "number of orphans")
	linger := fs.Duration("linger", 0, "how long each orphan lives")
	hold := fs.Bool("hold", false, "orphans wait for the release")
	exitCode := fs.Int("exit", -1, "exit with this code once the orphans exist")
	after := fs.String("after", "", "wait for this file before starting")
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: core-orphans [-n N] [-linger D] [-hold] [-exit CODE] [-after FILE] DIR")
		return 2
	}
	dir := fs.Arg(0)
	if *after != "" {
		if err := coreWaitExists(*after); err != nil {
			return coreFail("core-orphans", err)
		}
	}

	// Every orphan holds the write end of done until it exits.
	var done [2]int
	if err := syscall.Pipe2(done[:], syscall.O_CLOEXEC); err != nil {
		return coreFail("core-orphans", fmt.Errorf("pipe: %w", err))
	}
	spec := coreOrphanSpec{closeFD: -1, waitFD: -1, linger: syscall.NsecToTimespec(linger.Nanoseconds())}
	var release [2]int
	if *hold {
		if err := syscall.Pipe2(release[:], syscall.O_CLOEXEC); err != nil {
			return coreFail("core-orphans", fmt.Errorf("pipe: %w", err))
		}
		spec.closeFD, spec.waitFD = release[1], release[0]
	}

	for i := 0; i < *n; i++ {
		pid, err := coreForkOrphan(&spec)
		if err != nil {
			return coreFail("core-orphans", fmt.Errorf("orphan %d: %w", i, err))
		}
		var ws syscall.WaitStatus
		for {
			_, err = syscall.Wait4(pid, &ws, 0, nil)
			if !errors.Is(err, syscall.EINTR) {
				break
			}
		}
		if err != nil {
			return coreFail("core-orphans", fmt.Errorf("wait for middle process %d: %w", pid, err))
		}
		if !ws.Exited() || ws.ExitStatus() != 0 {
			return coreFail("core-orphans", fmt.Errorf("middle process %d could not fork orphan %d (status %#x)", pid, i, ws))
		}
	}
	syscall.Close(done[1])
	if *hold {
		syscall.Close(release[0])
	}
	if err := coreWriteFile(filepath.Join(dir, "orphaned"), strconv.Itoa(*n)+"\n"); err != nil {
		return coreFail("core-orphans", err)
	}
	if *exitCode >= 0 {
		return *exitCode
	}

	if *hold {
		if err := coreWaitExists(filepath.Join(dir, "release")); err != nil {
			return coreFail("core-orphans", err)
		}
		syscall.Close(release[1])
	}
	var b [64]byte
	for {
		n, err := syscall.Read(done[0], b[:])
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			return coreFail("core-orphans", fmt.Errorf("read: %w", err))
		}
		if n == 0 {
			break
		}
	}
	if err := coreWriteFile(filepath.Join(dir, "done"), "done\n"); err != nil {
		return coreFail("core-orphans", err)
	}
	code, err := coreWaitStop(filepath.Join(dir, "stop"))
	if err != nil {
		return coreFail("core-orphans", err)
	}
	return code
}
