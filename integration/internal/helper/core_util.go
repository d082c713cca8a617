package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// coreMaxLife bounds how long any core-* subcommand waits for the test
// that drives it, so a failed test never leaves processes behind.
const coreMaxLife = 3 * time.Minute

// coreWriteFile writes data to path through a rename, so a reader
// polling for path never sees it half written.
func coreWriteFile(path, data string) error {
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err := os.WriteFile(tmp, []byte(data), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// coreStopCode returns the exit code written in the stop file at path and
// whether the file exists. An empty or unreadable code means 0.
func coreStopCode(path string) (int, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n, true
}

// coreWaitStop polls for the stop file at path and returns the code written
// in it. After coreMaxLife it gives up and returns an error.
func coreWaitStop(path string) (int, error) {
	deadline := time.Now().Add(coreMaxLife)
	for time.Now().Before(deadline) {
		if code, ok := coreStopCode(path); ok {
			return code, nil
		}
		time.Sleep(5 * time.Millisecond)
	}
	return 0, fmt.Errorf("%s did not appear within %v", path, coreMaxLife)
}

// fail prints a one-line error for subcommand name and returns the exit
// code that the tests read as "the helper itself failed".
func coreFail(name string, err error) int {
	fmt.Fprintf(os.Stderr, "reaper-helper %s: %v\n", name, err)
	return 99
}

// coreWaitExists polls until path exists, for at most coreMaxLife.
func coreWaitExists(path string) error {
	deadline := time.Now().Add(coreMaxLife)
	for {
		if _, err := os.Stat(path); err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not appear within %v", path, coreMaxLife)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
