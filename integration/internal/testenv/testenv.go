// Package testenv gives the black-box tests of reaper-init what they share:
// the built binary, the static helper program, a way to run a command as
// PID 1 of a fresh PID namespace, and readers of /proc for zombie counts.
//
// Every test runs the real binary as users run it. Tests that need a
// facility the machine lacks (PID namespaces, a writable cgroup, Docker)
// skip with one line that says what was missing.
//
// # Environment
//
//   - REAPER_INIT_BIN: use this reaper-init binary instead of building one.
//   - REAPER_HELPER_BIN: use this helper binary instead of building one.
package testenv

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce  sync.Once
	buildDir   string
	initBin    string
	helperBin  string
	buildErr   error
	unshareArg []string
	unshareErr error
	probeOnce  sync.Once
)

// RepoRoot returns the root of the reaper-init repository: the nearest
// parent of the working directory whose go.mod declares the main module.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("getwd: %v", err)
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.HasPrefix(b, []byte("module github.com/reaper-init/reaper-init\n")) {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("no reaper-init go.mod above the working directory")
		}
		dir = parent
	}
}

func build(t testing.TB) {
	buildOnce.Do(func() {
		root := RepoRoot(t)
		buildDir, buildErr = os.MkdirTemp("", "reaper-init-test-")
		if buildErr != nil {
			return
		}
		initBin = os.Getenv("REAPER_INIT_BIN")
		if initBin == "" {
			initBin = filepath.Join(buildDir, "reaper-init")
			cmd := exec.Command("make", "-s", "-C", root, "build", "BIN="+initBin)
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("make build: %v\n%s", err, out)
				return
			}
		}
		helperBin = os.Getenv("REAPER_HELPER_BIN")
		if helperBin == "" {
			helperBin = filepath.Join(buildDir, "reaper-helper")
			cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", helperBin, "./internal/helper")
			cmd.Dir = filepath.Join(root, "integration")
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("build helper: %v\n%s", err, out)
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatalf("%v", buildErr)
	}
}

// Init returns the path of the reaper-init binary under test, building it
// with `make build` on first use.
func Init(t testing.TB) string {
	t.Helper()
	build(t)
	return initBin
}

// Helper returns the path of the static helper program
// (integration/internal/helper), building it on first use.
func Helper(t testing.TB) string {
	t.Helper()
	build(t)
	return helperBin
}

// probeUnshare finds the unshare arguments that work on this machine:
// a plain PID namespace as root, a user and PID namespace otherwise.
func probeUnshare() {
	candidates := [][]string{
		{"unshare", "--pid", "--fork", "--mount-proc"},
		{"unshare", "--user", "--map-root-user", "--pid", "--fork", "--mount-proc"},
	}
	if os.Geteuid() != 0 {
		candidates = candidates[1:]
	}
	var errs []string
	for _, c := range candidates {
		out, err := exec.Command(c[0], append(c[1:], "true")...).CombinedOutput()
		if err == nil {
			unshareArg = c
			return
		}
		errs = append(errs, fmt.Sprintf("%s: %v %s", strings.Join(c, " "), err, bytes.TrimSpace(out)))
	}
	unshareErr = errors.New(strings.Join(errs, "; "))
}

// RequirePIDNamespace skips the test when no PID namespace can be made.
func RequirePIDNamespace(t testing.TB) {
	t.Helper()
	probeOnce.Do(probeUnshare)
	if unshareErr != nil {
		t.Skipf("skipping: cannot create a PID namespace here (%v)", unshareErr)
	}
}

// PID1Command returns a command that runs args as PID 1 of a fresh PID
// namespace with its own /proc. The process started is unshare; the
// namespace's PID 1 is its only child (see InitPID).
func PID1Command(t testing.TB, args ...string) *exec.Cmd {
	t.Helper()
	RequirePIDNamespace(t)
	a := append(append([]string{}, unshareArg[1:]...), args...)
	cmd := exec.Command(unshareArg[0], a...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd
}

// InitCommand is PID1Command for the reaper-init binary with the given
// arguments.
func InitCommand(t testing.TB, args ...string) *exec.Cmd {
	t.Helper()
	return PID1Command(t, append([]string{Init(t)}, args...)...)
}

// Children returns the PIDs (as seen from this process) of pid's children.
func Children(pid int) []int {
	var kids []int
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, f := range tasks {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, field := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(field); err == nil {
				kids = append(kids, n)
			}
		}
	}
	return kids
}

// InitPID waits until the unshare process started by cmd has forked the
// namespace's PID 1 and returns that process's PID as seen from here.
func InitPID(t testing.TB, cmd *exec.Cmd) int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if kids := Children(cmd.Process.Pid); len(kids) > 0 {
			return kids[0]
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatalf("unshare (pid %d) started no PID 1 within 10s", cmd.Process.Pid)
	return 0
}

// Stat is the part of /proc/PID/stat the tests use.
type Stat struct {
	PID   int
	Comm  string
	State byte
	PPID  int
	PGID  int
	TPGID int // the foreground process group of its terminal, -1 without one
}

// ReadStat parses /proc/PID/stat. Comm may hold spaces and parentheses:
// it runs from the first '(' to the last ')'.
func ReadStat(pid int) (Stat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return Stat{}, err
	}
	open, closing := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || closing < open {
		return Stat{}, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	f := strings.Fields(string(b[closing+1:]))
	if len(f) < 6 {
		return Stat{}, fmt.Errorf("short /proc/%d/stat", pid)
	}
	// After the command name: state ppid pgrp session tty_nr tpgid.
	s := Stat{PID: pid, Comm: string(b[open+1 : closing]), State: f[0][0]}
	s.PPID, _ = strconv.Atoi(f[1])
	s.PGID, _ = strconv.Atoi(f[2])
	s.TPGID, _ = strconv.Atoi(f[5])
	return s, nil
}

// Descendants returns every living or zombie process below root (not
// root itself), found by walking /proc/PID/task/*/children.
func Descendants(root int) []Stat {
	var out []Stat
	queue := Children(root)
	seen := map[int]bool{}
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		if seen[pid] {
			continue
		}
		seen[pid] = true
		s, err := ReadStat(pid)
		if err != nil {
			continue
		}
		out = append(out, s)
		queue = append(queue, Children(pid)...)
	}
	return out
}

// Zombies counts the zombies among root's descendants.
func Zombies(root int) int {
	zombies, _ := Census(root)
	return zombies
}

// Census counts the zombies and the living processes among root's
// descendants (root itself not counted).
func Census(root int) (zombies, living int) {
	for _, s := range Descendants(root) {
		if s.State == 'Z' {
			zombies++
		} else {
			living++
		}
	}
	return zombies, living
}

// WaitCensus polls Census(root) until done holds or d passes, and
// returns the last counts.
func WaitCensus(root int, d time.Duration, done func(zombies, living int) bool) (zombies, living int) {
	deadline := time.Now().Add(d)
	for {
		zombies, living = Census(root)
		if done(zombies, living) || time.Now().After(deadline) {
			return zombies, living
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// HostCmdline returns the command line of process pid (as seen from
// here), its arguments joined by spaces, failing the test when it cannot
// be read.
func HostCmdline(t testing.TB, pid int) string {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		t.Fatalf("read the command line of pid %d: %v", pid, err)
	}
	return strings.TrimSuffix(strings.ReplaceAll(string(b), "\x00", " "), " ")
}

// ExitCode returns the exit status of a finished command: its code, or
// 128+N when signal N killed it. It fails the test when err is neither
// nil nor an *exec.ExitError.
func ExitCode(t testing.TB, err error) int {
	t.Helper()
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("command did not run: %v", err)
	}
	ws := ee.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

// WaitTimeout waits for cmd with a deadline, killing it (and failing the
// test) when the deadline passes. It returns cmd.Wait's error.
func WaitTimeout(t testing.TB, cmd *exec.Cmd, d time.Duration) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("%s did not exit within %v", strings.Join(cmd.Args, " "), d)
		return nil
	}
}

// WaitFile waits until path exists and is non-empty, failing the test
// after d.
func WaitFile(t testing.TB, path string, d time.Duration) []byte {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		b, err := os.ReadFile(path)
		if err == nil && len(b) > 0 {
			return b
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not appear within %v", path, d)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
