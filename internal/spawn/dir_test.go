package spawn

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

// leave moves the test into dir and out of it again with
// LeaveWorkingDir; the test's working directory is restored when it
// ends.
func leave(t *testing.T, dir string) *Dir {
	t.Helper()
	t.Chdir(dir)
	d, err := LeaveWorkingDir()
	if err != nil {
		t.Fatalf("LeaveWorkingDir: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	if wd, err := os.Getwd(); err != nil || wd != "/" {
		t.Fatalf("working directory after LeaveWorkingDir = %q, %v; want /", wd, err)
	}
	return d
}

// realDir returns dir with symbolic links resolved, as /proc shows it.
func realDir(t *testing.T, dir string) string {
	t.Helper()
	r, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// cwdOf returns the working directory of process pid.
func cwdOf(t *testing.T, pid int) string {
	t.Helper()
	cwd, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/cwd")
	if err != nil {
		t.Fatal(err)
	}
	return cwd
}

func TestLeaveWorkingDir(t *testing.T) {
	withoutTerminal(t)
	dir := realDir(t, t.TempDir())
	d := leave(t, dir)
	if d.fd <= 2 {
		t.Errorf("descriptor %d, want one above 2", d.fd)
	}
	if flags, err := unix.FcntlInt(uintptr(d.fd), unix.F_GETFD, 0); err != nil || flags&unix.FD_CLOEXEC == 0 {
		t.Errorf("descriptor %d: flags %#x, %v; want close-on-exec", d.fd, flags, err)
	}
	if want := "/proc/self/fd/" + strconv.Itoa(d.fd); d.path != want {
		t.Errorf("path %q, want %q", d.path, want)
	}
	eachPath(t, func(t *testing.T, path forkPath) {
		pid := sleeper(t, func(argv []string) (int, error) { return start(argv, nil, Options{Dir: d}, path) })
		if got := cwdOf(t, pid); got != dir {
			t.Errorf("child's working directory %q, want %q", got, dir)
		}
		if got := cwdOf(t, os.Getpid()); got != "/" {
			t.Errorf("the caller's working directory %q while the child runs, want /", got)
		}
	})

	// Closed, it starts nothing.
	if err := d.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := d.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	_, err := Start([]string{"/bin/sh", "-c", "exit 0"}, nil, Options{Dir: d})
	if !errors.Is(err, os.ErrClosed) {
		t.Errorf("Start with a closed Dir = %v, want os.ErrClosed", err)
	}
	// A nil Dir is the caller's directory.
	var none *Dir
	if err := none.Close(); err != nil {
		t.Errorf("nil Close: %v", err)
	}
}

// TestStartDirNil: without a Dir the child starts where the caller is.
func TestStartDirNil(t *testing.T) {
	withoutTerminal(t)
	dir := realDir(t, t.TempDir())
	t.Chdir(dir)
	eachPath(t, func(t *testing.T, path forkPath) {
		pid := sleeper(t, func(argv []string) (int, error) { return start(argv, nil, Options{}, path) })
		if got := cwdOf(t, pid); got != dir {
			t.Errorf("child's working directory %q, want %q", got, dir)
		}
	})
}

// TestStartDirDeleted leaves a directory that no longer exists: getcwd
// fails there, and no path leads to it, but the child still starts in it.
func TestStartDirDeleted(t *testing.T) {
	withoutTerminal(t)
	dir := filepath.Join(realDir(t, t.TempDir()), "gone")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := unix.Getwd(); err == nil {
		t.Fatalf("getcwd works in a deleted directory: the test shows nothing")
	}
	d, err := LeaveWorkingDir()
	if err != nil {
		t.Fatalf("LeaveWorkingDir: %v", err)
	}
	defer d.Close()
	eachPath(t, func(t *testing.T, path forkPath) {
		pid := sleeper(t, func(argv []string) (int, error) { return start(argv, nil, Options{Dir: d}, path) })
		if got, want := cwdOf(t, pid), dir+" (deleted)"; got != want {
			t.Errorf("child's working directory %q, want %q", got, want)
		}
	})
}

// TestStartDirRenamed renames the directory after the caller left it:
// the child starts in the directory, under its new name.
func TestStartDirRenamed(t *testing.T) {
	withoutTerminal(t)
	root := realDir(t, t.TempDir())
	old, renamed := filepath.Join(root, "old"), filepath.Join(root, "new")
	if err := os.Mkdir(old, 0o755); err != nil {
		t.Fatal(err)
	}
	d := leave(t, old)
	if err := os.Rename(old, renamed); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(old, 0o755); err != nil { // the old name, another directory
		t.Fatal(err)
	}
	eachPath(t, func(t *testing.T, path forkPath) {
		pid := sleeper(t, func(argv []string) (int, error) { return start(argv, nil, Options{Dir: d}, path) })
		if got := cwdOf(t, pid); got != renamed {
			t.Errorf("child's working directory %q, want %q", got, renamed)
		}
	})
}

// TestStartDirWithoutPath is the case where no path leads to the
// directory (no /proc, and getcwd fails or names another directory):
// Start takes the raw path, whose child uses fchdir.
func TestStartDirWithoutPath(t *testing.T) {
	withoutTerminal(t)
	dir := realDir(t, t.TempDir())
	d := leave(t, dir)
	d.path = ""
	for _, path := range []forkPath{pathAuto, pathRaw} {
		pid := sleeper(t, func(argv []string) (int, error) { return start(argv, nil, Options{Dir: d}, path) })
		if got := cwdOf(t, pid); got != dir {
			t.Errorf("path %d: child's working directory %q, want %q", path, got, dir)
		}
	}
}

// TestStartDirRelativeCommand: a relative command, and a PATH with
// relative directories, are found in the child's directory, not in the
// caller's "/".
func TestStartDirRelativeCommand(t *testing.T) {
	withoutTerminal(t)
	dir := realDir(t, t.TempDir())
	writeFile(t, filepath.Join(dir, "bin"), "tool", 0o755, "#!/bin/sh\nexit 7\n")
	d := leave(t, dir)
	eachPath(t, func(t *testing.T, path forkPath) {
		t.Setenv("PATH", "/nonexistent:bin")
		for _, argv0 := range []string{"tool", "./bin/tool", "bin/tool"} {
			pid, err := start([]string{argv0}, nil, Options{Dir: d}, path)
			if err != nil {
				t.Errorf("start %s: %v", argv0, err)
				continue
			}
			if ws := wait4(t, pid); !ws.Exited() || ws.ExitStatus() != 7 {
				t.Errorf("%s: status %#x, want exit 7", argv0, ws)
			}
		}
		// Nothing of the kind in the caller's directory.
		if _, err := start([]string{"tool"}, nil, Options{}, path); !errors.Is(err, unix.ENOENT) {
			t.Errorf("start tool without the Dir = %v, want ENOENT", err)
		}
	})
}

// TestLeaveWorkingDirStdinClosed: with descriptor 0 closed, the
// directory's descriptor must not take its place (the child would get it
// as stdin).
func TestLeaveWorkingDirStdinClosed(t *testing.T) {
	// t.Chdir keeps a descriptor of its own: take it before closing 0.
	t.Chdir(t.TempDir())
	saved, err := unix.FcntlInt(0, unix.F_DUPFD_CLOEXEC, 10)
	if err != nil {
		t.Skipf("skipping: descriptor 0 is not open: %v", err)
	}
	unix.Close(0)
	t.Cleanup(func() {
		unix.Dup3(saved, 0, 0)
		unix.Close(saved)
	})
	d, err := LeaveWorkingDir()
	if err != nil {
		t.Fatalf("LeaveWorkingDir: %v", err)
	}
	defer d.Close()
	if d.fd <= 2 {
		t.Errorf("descriptor %d, want one above 2", d.fd)
	}
	if _, err := unix.FcntlInt(0, unix.F_GETFD, 0); err == nil {
		l, _ := os.Readlink("/proc/self/fd/0")
		t.Errorf("descriptor 0 is open after LeaveWorkingDir: %s", l)
	}
}
