package spawn

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reaper-init/reaper-init/internal/emutest"
	"golang.org/x/sys/unix"
)

// writeFile creates dir/name with the given mode and contents, making dir
// as needed, and returns its path.
func writeFile(t *testing.T, dir, name string, mode os.FileMode, data string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
	// WriteFile's mode is filtered through the umask.
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

const script = "#!/bin/sh\nexit 0\n"

func TestLookPathWithSlash(t *testing.T) {
	for _, name := range []string{"/bin/sh", "./tool", "a/b", "/nonexistent/tool", "tool/", "/"} {
		got, err := LookPath(name, "/nonexistent")
		if err != nil || got != name {
			t.Errorf("LookPath(%q) = %q, %v; want it unchanged", name, got, err)
		}
	}
}

func TestLookPathEmptyName(t *testing.T) {
	if got, err := LookPath("", "/bin:/usr/bin"); err != unix.ENOENT {
		t.Errorf("LookPath(\"\") = %q, %v; want ENOENT", got, err)
	}
}

func TestLookPath(t *testing.T) {
	root := t.TempDir()
	a, b, c := filepath.Join(root, "a"), filepath.Join(root, "b"), filepath.Join(root, "c")
	missing := filepath.Join(root, "missing")

	execA := writeFile(t, a, "both", 0o755, script)
	writeFile(t, b, "both", 0o755, script)
	writeFile(t, a, "plain", 0o644, script)
	execB := writeFile(t, b, "plain", 0o755, script)
	writeFile(t, a, "onlyplain", 0o644, script)
	writeFile(t, c, "onlyplain", 0o600, script)
	if err := os.MkdirAll(filepath.Join(a, "isdir"), 0o755); err != nil {
		t.Fatal(err)
	}
	dirB := writeFile(t, b, "isdir", 0o755, script)
	if err := os.MkdirAll(filepath.Join(a, "onlydir"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(execB, filepath.Join(c, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(root, "nowhere"), filepath.Join(a, "dangling")); err != nil {
		t.Fatal(err)
	}
	execC := writeFile(t, c, "dangling", 0o755, script)
	writeFile(t, c, "xonly", 0o111, script)

	tests := []struct {
		name, path string
		want       string
		err        error
	}{
		// The first directory that has it wins.
		{"both", a + ":" + b, execA, nil},
		{"both", b + ":" + a, filepath.Join(b, "both"), nil},
		{"both", missing + ":" + b + ":" + a, filepath.Join(b, "both"), nil},
		// A file without execute permission is passed over...
		{"plain", a + ":" + b, execB, nil},
		// ... and reported only when nothing better turns up.
		{"onlyplain", a + ":" + c, "", unix.EACCES},
		{"onlyplain", a + ":" + missing, "", unix.EACCES},
		// A directory is passed over too; alone it cannot be executed.
		{"isdir", a + ":" + b, dirB, nil},
		{"onlydir", a, "", unix.EACCES},
		// Symbolic links are followed; a dangling one is not there.
		{"link", c, filepath.Join(c, "link"), nil},
		{"dangling", a + ":" + c, execC, nil},
		{"dangling", a, "", unix.ENOENT},
		// Execute permission alone is enough for the kernel.
		{"xonly", c, filepath.Join(c, "xonly"), nil},
		// Not anywhere.
		{"nothere", a + ":" + b + ":" + c, "", unix.ENOENT},
		{"nothere", missing, "", unix.ENOENT},
	}
	for _, tt := range tests {
		got, err := LookPath(tt.name, tt.path)
		if got != tt.want || err != tt.err {
			t.Errorf("LookPath(%q, %q) = %q, %v; want %q, %v", tt.name, tt.path, got, err, tt.want, tt.err)
		}
	}
}

func TestLookPathEmptyEntryIsWorkingDirectory(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "tool", 0o755, script)
	t.Chdir(dir)
	for _, path := range []string{"", ":", ":/nonexistent", "/nonexistent:", "/nonexistent::/nonexistent2"} {
		got, err := LookPath("tool", path)
		if err != nil || got != "./tool" {
			t.Errorf("LookPath(tool, %q) = %q, %v; want ./tool", path, got, err)
		}
	}
	// Without an empty entry the working directory is not searched.
	if got, err := LookPath("tool", "/nonexistent"); err != unix.ENOENT {
		t.Errorf("LookPath(tool, /nonexistent) = %q, %v; want ENOENT", got, err)
	}
}

func TestErrorCode(t *testing.T) {
	tests := []struct {
		err  error
		code int
	}{
		{unix.ENOENT, CodeNotFound},
		{unix.ENOTDIR, CodeNotFound},
		{unix.ENAMETOOLONG, CodeNotFound},
		{unix.ELOOP, CodeNotFound},
		{unix.EACCES, CodeNotExecutable},
		{unix.EPERM, CodeNotExecutable},
		{unix.ENOEXEC, CodeNotExecutable},
		{unix.EISDIR, CodeNotExecutable},
		{unix.ETXTBSY, CodeNotExecutable},
		{unix.EAGAIN, CodeFailed},
		{unix.ENOMEM, CodeFailed},
		{unix.E2BIG, CodeFailed},
		{errors.New("something else"), CodeFailed},
	}
	if CodeNotFound != 127 || CodeNotExecutable != 126 || CodeFailed != 1 {
		t.Fatalf("codes = %d, %d, %d; want 127, 126, 1", CodeNotFound, CodeNotExecutable, CodeFailed)
	}
	for _, tt := range tests {
		e := &Error{Name: "prog", Err: tt.err}
		if got := e.Code(); got != tt.code {
			t.Errorf("Error{%v}.Code() = %d, want %d", tt.err, got, tt.code)
		}
	}
}

func TestErrorText(t *testing.T) {
	err := error(&Error{Name: "my-app", Err: unix.ENOENT})
	if got, want := err.Error(), "exec my-app: no such file or directory"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(err, unix.ENOENT) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("errors.Is(%v, ENOENT / fs.ErrNotExist) = false through Unwrap", err)
	}
	if errors.Is(err, unix.EACCES) {
		t.Errorf("errors.Is(%v, EACCES) = true", err)
	}
	err = &Error{Name: "/app/run", Err: unix.EACCES}
	if got, want := err.Error(), "exec /app/run: permission denied"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(err, fs.ErrPermission) {
		t.Errorf("errors.Is(%v, fs.ErrPermission) = false", err)
	}
}

// withoutTerminal points descriptor 0 at /dev/null for the duration of
// the test, so that Start never hands the terminal the tests run in (if
// any) to a child.
func withoutTerminal(t *testing.T) {
	t.Helper()
	null, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(null)
	saved, err := unix.FcntlInt(0, unix.F_DUPFD_CLOEXEC, 10)
	if err != nil {
		saved = -1 // descriptor 0 was not open
	}
	if err := unix.Dup3(null, 0, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if saved < 0 {
			unix.Close(0)
			return
		}
		unix.Dup3(saved, 0, 0)
		unix.Close(saved)
	})
}

// wait4 waits for pid and returns its status.
func wait4(t *testing.T, pid int) unix.WaitStatus {
	t.Helper()
	var ws unix.WaitStatus
	for {
		got, err := unix.Wait4(pid, &ws, 0, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil || got != pid {
			t.Fatalf("wait4(%d) = %d, %v", pid, got, err)
		}
		return ws
	}
}

// paths are the two ways Start forks; tests that hold for both run on
// each.
var paths = []struct {
	name string
	path forkPath
}{
	{"forkexec", pathForkExec},
	{"raw", pathRaw},
}

// eachPath runs f as a subtest for each fork path.
func eachPath(t *testing.T, f func(t *testing.T, path forkPath)) {
	t.Helper()
	for _, p := range paths {
		t.Run(p.name, func(t *testing.T) { f(t, p.path) })
	}
}

// waitExec waits until process pid runs the program named comm (so it is
// no longer the forked copy of its parent) and sleeps, so that exec has
// finished: the kernel renames the process before it has set up the new
// program's stack and environment.
func waitExec(pid int, comm string) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			return err
		}
		open, closing := strings.IndexByte(string(b), '('), strings.LastIndexByte(string(b), ')')
		if open >= 0 && closing > open && string(b[open+1:closing]) == comm && strings.HasPrefix(string(b[closing+1:]), " S") {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New("process " + strconv.Itoa(pid) + " did not execute " + comm + " and sleep within 10s")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// statusField returns the value of a line of /proc/PID/status.
func statusField(pid int, key string) (string, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, key+":"); ok {
			return strings.TrimSpace(v), nil
		}
	}
	return "", errors.New("no " + key + " in /proc/" + strconv.Itoa(pid) + "/status")
}

// sleeper starts "sleep 60" with start and returns its PID once it runs
// sleep; the test kills and reaps it when it ends.
func sleeper(t *testing.T, start func(argv []string) (int, error)) int {
	t.Helper()
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skipf("skipping: no sleep program: %v", err)
	}
	pid, err := start([]string{sleep, "60"})
	if err != nil {
		t.Fatalf("start sleep: %v", err)
	}
	t.Cleanup(func() {
		unix.Kill(pid, unix.SIGKILL)
		wait4(t, pid)
	})
	if err := waitExec(pid, "sleep"); err != nil {
		t.Fatal(err)
	}
	return pid
}

func TestStartExitCodeAndProcessGroup(t *testing.T) {
	withoutTerminal(t)
	eachPath(t, func(t *testing.T, path forkPath) {
		pid, err := start([]string{"/bin/sh", "-c", "exit 5"}, nil, Options{}, path)
		if err != nil {
			t.Fatalf("start: %v", err)
		}
		// Until it is reaped, the child (alive or a zombie) has its group.
		pgid, err := unix.Getpgid(pid)
		if err != nil {
			t.Errorf("getpgid(%d): %v", pid, err)
		} else if pgid != pid {
			t.Errorf("child %d is in process group %d, want its own", pid, pgid)
		}
		if pgid == unix.Getpgrp() {
			t.Errorf("child shares the test's process group %d", pgid)
		}
		ws := wait4(t, pid)
		if !ws.Exited() || ws.ExitStatus() != 5 {
			t.Errorf("child status %#x, want exit 5", ws)
		}
	})
}

func TestStartEnvironment(t *testing.T) {
	withoutTerminal(t)
	t.Setenv("REAPER_SPAWN_TEST_PARENT", "1")
	eachPath(t, func(t *testing.T, path forkPath) {
		pid, err := start([]string{"/bin/sh", "-c", `test "$FOO" = "bar baz" && test -z "$REAPER_SPAWN_TEST_PARENT" && test "$0" = /bin/sh && test "$1" = one`, "/bin/sh", "one"},
			[]string{"FOO=bar baz"}, Options{}, path)
		if err != nil {
			t.Fatalf("start: %v", err)
		}
		if ws := wait4(t, pid); !ws.Exited() || ws.ExitStatus() != 0 {
			t.Errorf("child status %#x: environment or arguments not passed exactly", ws)
		}
	})
}

// TestStartEnvironmentExact reads the environment of the running child
// from /proc: every entry, in order, byte for byte, also when the raw
// path fills in LISTEN_PID.
func TestStartEnvironmentExact(t *testing.T) {
	withoutTerminal(t)
	env := []string{"A=1", "EMPTY=", "=odd", "SPACES= x y ", "UTF8=é", "A=2", "NOEQUALS"}
	eachPath(t, func(t *testing.T, path forkPath) {
		pid := sleeper(t, func(argv []string) (int, error) { return start(argv, env, Options{}, path) })
		if got := environ(t, pid); !slices.Equal(got, env) {
			t.Errorf("child environment %q, want %q", got, env)
		}
	})
}

// environ returns the environment of process pid.
func environ(t *testing.T, pid int) []string {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		t.Fatal(err)
	}
	if len(b) == 0 {
		return nil
	}
	return strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
}

func TestStartSearchesPath(t *testing.T) {
	withoutTerminal(t)
	dir := t.TempDir()
	writeFile(t, dir, "reaper-spawn-test", 0o755, "#!/bin/sh\nexit 42\n")
	eachPath(t, func(t *testing.T, path forkPath) {
		t.Setenv("PATH", "/nonexistent:"+dir+":/bin")
		pid, err := start([]string{"reaper-spawn-test"}, nil, Options{}, path)
		if err != nil {
			t.Fatalf("start: %v", err)
		}
		if ws := wait4(t, pid); !ws.Exited() || ws.ExitStatus() != 42 {
			t.Errorf("child status %#x, want exit 42", ws)
		}

		// Without PATH, the default path is searched, as execvp does.
		os.Unsetenv("PATH")
		pid, err = start([]string{"sh", "-c", "exit 3"}, nil, Options{}, path)
		if err != nil {
			t.Fatalf("start without PATH: %v", err)
		}
		if ws := wait4(t, pid); !ws.Exited() || ws.ExitStatus() != 3 {
			t.Errorf("child status %#x, want exit 3", ws)
		}
	})
}

// TestStartErrors covers the errors found before the fork (by LookPath)
// and those the child reports from execve, on both paths: the exit codes
// 127 and 126 depend on them.
func TestStartErrors(t *testing.T) {
	emutest.Skip(t, "qemu-user 7.2 at times never lets a forked child whose exec failed exit (its threads wait on futexes, golang/go#69259), so Start can hang")
	withoutTerminal(t)
	dir := t.TempDir()
	plain := writeFile(t, dir, "plain", 0o644, script)
	garbage := writeFile(t, dir, "garbage", 0o755, "\x00\x01\x02\x03 not a program\n")
	noInterp := writeFile(t, dir, "nointerp", 0o755, "#!/nonexistent/interpreter\n")
	t.Setenv("PATH", dir)

	tests := []struct {
		argv []string
		err  error
		code int
	}{
		{nil, unix.ENOENT, CodeNotFound},
		{[]string{"/nonexistent/prog"}, unix.ENOENT, CodeNotFound},
		{[]string{"no-such-command"}, unix.ENOENT, CodeNotFound},
		{[]string{plain + "/x"}, unix.ENOTDIR, CodeNotFound},
		{[]string{noInterp}, unix.ENOENT, CodeNotFound},
		{[]string{plain}, unix.EACCES, CodeNotExecutable},
		{[]string{"plain"}, unix.EACCES, CodeNotExecutable},
		{[]string{dir}, unix.EACCES, CodeNotExecutable},
		{[]string{garbage}, unix.ENOEXEC, CodeNotExecutable},
		{[]string{"/bin/sh\x00"}, unix.EINVAL, CodeFailed},
	}
	eachPath(t, func(t *testing.T, path forkPath) {
		for _, tt := range tests {
			pid, err := start(tt.argv, nil, Options{}, path)
			if err == nil {
				wait4(t, pid)
				t.Errorf("start(%q) started pid %d, want %v", tt.argv, pid, tt.err)
				continue
			}
			var se *Error
			if !errors.As(err, &se) {
				t.Errorf("start(%q) error %v is %T, want *Error", tt.argv, err, err)
				continue
			}
			name := ""
			if len(tt.argv) > 0 {
				name = tt.argv[0]
			}
			if se.Name != name || !errors.Is(err, tt.err) || se.Code() != tt.code {
				t.Errorf("start(%q) = %q (name %q, code %d), want %v, code %d", tt.argv, err, se.Name, se.Code(), tt.err, tt.code)
			}
			if want := "exec " + name + ": "; !strings.HasPrefix(err.Error(), want) {
				t.Errorf("start(%q) error %q, want prefix %q", tt.argv, err, want)
			}
		}
		// A failed start leaves no child behind: the child that could
		// not execute has been reaped.
		if pid, err := unix.Wait4(-1, nil, unix.WNOHANG, nil); err != unix.ECHILD {
			t.Errorf("wait4(-1) after the failed starts = %d, %v; want ECHILD", pid, err)
		}
	})
}

// TestRawSetupErrors makes the child of the raw path fail before execve:
// the error names the step, wraps the errno, and maps to code 1 (the
// program itself was fine).
func TestRawSetupErrors(t *testing.T) {
	withoutTerminal(t)
	dir := t.TempDir()
	file := writeFile(t, dir, "file", 0o644, "")
	fd, err := unix.Open(file, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	notDir := &Dir{fd: fd} // not a directory: fchdir fails with ENOTDIR
	_, err = start([]string{"/bin/sh", "-c", "exit 0"}, nil, Options{Dir: notDir}, pathRaw)
	var se *Error
	var sce *os.SyscallError
	if !errors.As(err, &se) || !errors.As(err, &sce) || sce.Syscall != "fchdir" || !errors.Is(err, unix.ENOTDIR) {
		t.Fatalf("start in a file = %v, want an *Error wrapping fchdir: ENOTDIR", err)
	}
	if se.Code() != CodeFailed {
		t.Errorf("Code() = %d, want %d: ENOTDIR from fchdir is not a missing program", se.Code(), CodeFailed)
	}
	if got, want := err.Error(), "exec /bin/sh: fchdir: not a directory"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

// TestStartClearsSignalMask is the regression test for a blocked signal
// leaking into the child: the mask survives fork and exec, and a child
// that starts with SIGTSTP blocked cannot be suspended (podman#18095).
// With a signal blocked on the calling thread, Start takes the raw path.
func TestStartClearsSignalMask(t *testing.T) {
	withoutTerminal(t)
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skipf("skipping: no sleep program: %v", err)
	}

	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var block, old unix.Sigset_t
	block.Val[(unix.SIGUSR1-1)/64] |= 1 << ((unix.SIGUSR1 - 1) % 64)
	if err := unix.PthreadSigmask(unix.SIG_BLOCK, &block, &old); err != nil {
		t.Fatal(err)
	}
	defer unix.PthreadSigmask(unix.SIG_SETMASK, &old, nil)
	var blocked unix.Sigset_t
	unix.PthreadSigmask(unix.SIG_BLOCK, nil, &blocked)
	const usr1Blocked = "0000000000000200"

	run := func(t *testing.T, start func() (int, error)) string {
		t.Helper()
		pid, err := start()
		if err != nil {
			t.Fatalf("start: %v", err)
		}
		defer func() {
			unix.Kill(pid, unix.SIGKILL)
			wait4(t, pid)
		}()
		if err := waitExec(pid, "sleep"); err != nil {
			t.Fatal(err)
		}
		v, err := statusField(pid, "SigBlk")
		if err != nil {
			t.Fatal(err)
		}
		return v
	}

	// The control: a plain fork from this thread passes SIGUSR1 on, so
	// the test can see a leak.
	got := run(t, func() (int, error) {
		return syscall.ForkExec(sleep, []string{"sleep", "60"}, &syscall.ProcAttr{Files: []uintptr{0, 1, 2}})
	})
	if got != usr1Blocked {
		t.Fatalf("control child's SigBlk = %s, want %s: the test cannot observe the mask", got, usr1Blocked)
	}
	if cleanSignalState(0) {
		t.Errorf("cleanSignalState(0) = true with SIGUSR1 blocked")
	}

	// Not in subtests: those run on goroutines of their own, not on
	// this locked thread.
	for _, tt := range []struct {
		name string
		path forkPath
	}{{"auto", pathAuto}, {"raw", pathRaw}} {
		got := run(t, func() (int, error) { return start([]string{sleep, "60"}, nil, Options{}, tt.path) })
		if got != "0000000000000000" {
			t.Errorf("%s: child of start has SigBlk %s, want no signal blocked", tt.name, got)
		}
		// The caller's mask is back as it was, exactly.
		var now unix.Sigset_t
		if err := unix.PthreadSigmask(unix.SIG_BLOCK, nil, &now); err != nil {
			t.Fatal(err)
		}
		if now != blocked {
			t.Errorf("%s: the calling thread's mask is %x after start, want %x as before", tt.name, now.Val[0], blocked.Val[0])
		}
	}
}

// TestRawRestoresEmptyMask checks that the raw path leaves an empty mask
// empty: the parent unblocks what it blocked for the fork.
func TestRawRestoresEmptyMask(t *testing.T) {
	withoutTerminal(t)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var before, after unix.Sigset_t
	unix.PthreadSigmask(unix.SIG_BLOCK, nil, &before)
	pid, err := start([]string{"/bin/sh", "-c", "exit 0"}, nil, Options{}, pathRaw)
	if err != nil {
		t.Fatal(err)
	}
	wait4(t, pid)
	unix.PthreadSigmask(unix.SIG_BLOCK, nil, &after)
	if after != before {
		t.Errorf("mask after the raw start %x, want %x", after.Val[0], before.Val[0])
	}
}

// TestReleaseInherited runs ReleaseInherited in a copy of the test binary
// (it closes descriptors of the whole process) and checks what the copy
// reports.
func TestReleaseInherited(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	dir := t.TempDir()
	want, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	cmd := helperCommand(t, "release")
	cmd.ExtraFiles = []*os.File{w} // descriptor 3, without close-on-exec
	cmd.Dir = dir
	out, err := cmd.Output()
	w.Close()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	// ReleaseInherited leaves the working directory alone: leaving it is
	// LeaveWorkingDir's job, before the fork.
	if got, want := string(out), "cwd="+want+" fd3=closed cloexec=open stdio=open\n"; got != want {
		t.Errorf("child reported %q, want %q", got, want)
	}
}

// TestStartStdio: descriptors 0 to 2 reach the child as the caller has
// them, even close-on-exec ones, and one the caller has closed stays
// closed (rather than being taken by a descriptor of the start), on both
// paths.
func TestStartStdio(t *testing.T) {
	// With a Dir and LISTEN_PID to fill in, the start has descriptors of
	// its own that could land on 0. (And t.Chdir keeps a descriptor: take
	// it before closing 0.)
	d := leave(t, t.TempDir())
	saved, err := unix.FcntlInt(0, unix.F_DUPFD_CLOEXEC, 10)
	if err != nil {
		t.Skipf("skipping: descriptor 0 is not open: %v", err)
	}
	unix.Close(0)
	t.Cleanup(func() {
		unix.Dup3(saved, 0, 0)
		unix.Close(saved)
	})
	flags, err := unix.FcntlInt(2, unix.F_GETFD, 0)
	if err != nil {
		t.Skipf("skipping: descriptor 2 is not open: %v", err)
	}
	unix.FcntlInt(2, unix.F_SETFD, flags|unix.FD_CLOEXEC)
	t.Cleanup(func() { unix.FcntlInt(2, unix.F_SETFD, flags) })
	want, err := os.Readlink("/proc/self/fd/2")
	if err != nil {
		t.Fatal(err)
	}
	eachPath(t, func(t *testing.T, path forkPath) {
		env := []string{"LISTEN_PID=" + strconv.Itoa(os.Getpid())}
		pid := sleeper(t, func(argv []string) (int, error) {
			return start(argv, env, Options{Dir: d, RewriteListenPID: path == pathRaw}, path)
		})
		fd := "/proc/" + strconv.Itoa(pid) + "/fd/"
		if l, err := os.Readlink(fd + "0"); err == nil {
			t.Errorf("the child has a descriptor 0 (%s), want it closed as in the caller", l)
		}
		if l, err := os.Readlink(fd + "2"); err != nil || l != want {
			t.Errorf("the child's descriptor 2 is %q, %v; want the caller's %q", l, err, want)
		}
	})
}
