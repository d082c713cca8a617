package spawn

import (
	"bufio"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
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

func TestStartExitCodeAndProcessGroup(t *testing.T) {
	withoutTerminal(t)
	pid, err := Start([]string{"/bin/sh", "-c", "exit 5"}, nil)
	if err != nil {
		t.Fatalf("Start: %v", err)
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
}

func TestStartEnvironment(t *testing.T) {
	withoutTerminal(t)
	t.Setenv("REAPER_SPAWN_TEST_PARENT", "1")
	pid, err := Start([]string{"/bin/sh", "-c", `test "$FOO" = "bar baz" && test -z "$REAPER_SPAWN_TEST_PARENT" && test "$0" = /bin/sh && test "$1" = one`, "/bin/sh", "one"},
		[]string{"FOO=bar baz"})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	if ws := wait4(t, pid); !ws.Exited() || ws.ExitStatus() != 0 {
		t.Errorf("child status %#x: environment or arguments not passed exactly", ws)
	}
}

func TestStartSearchesPath(t *testing.T) {
	withoutTerminal(t)
	dir := t.TempDir()
	writeFile(t, dir, "reaper-spawn-test", 0o755, "#!/bin/sh\nexit 42\n")
	t.Setenv("PATH", "/nonexistent:"+dir+":/bin")
	pid, err := Start([]string{"reaper-spawn-test"}, nil)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	if ws := wait4(t, pid); !ws.Exited() || ws.ExitStatus() != 42 {
		t.Errorf("child status %#x, want exit 42", ws)
	}

	// Without PATH, the default path is searched, as execvp does.
	t.Setenv("PATH", "")
	os.Unsetenv("PATH")
	pid, err = Start([]string{"sh", "-c", "exit 3"}, nil)
	if err != nil {
		t.Fatalf("Start without PATH: %v", err)
	}
	if ws := wait4(t, pid); !ws.Exited() || ws.ExitStatus() != 3 {
		t.Errorf("child status %#x, want exit 3", ws)
	}
}

func TestStartErrors(t *testing.T) {
	emutest.Skip(t, "qemu-user 7.2 at times never lets a forked child whose exec failed exit (its threads wait on futexes, golang/go#69259), so Start can hang")
	withoutTerminal(t)
	dir := t.TempDir()
	plain := writeFile(t, dir, "plain", 0o644, script)
	garbage := writeFile(t, dir, "garbage", 0o755, "\x00\x01\x02\x03 not a program\n")
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
		{[]string{plain}, unix.EACCES, CodeNotExecutable},
		{[]string{"plain"}, unix.EACCES, CodeNotExecutable},
		{[]string{dir}, unix.EACCES, CodeNotExecutable},
		{[]string{garbage}, unix.ENOEXEC, CodeNotExecutable},
	}
	for _, tt := range tests {
		pid, err := Start(tt.argv, nil)
		if err == nil {
			wait4(t, pid)
			t.Errorf("Start(%q) started pid %d, want %v", tt.argv, pid, tt.err)
			continue
		}
		var se *Error
		if !errors.As(err, &se) {
			t.Errorf("Start(%q) error %v is %T, want *Error", tt.argv, err, err)
			continue
		}
		name := ""
		if len(tt.argv) > 0 {
			name = tt.argv[0]
		}
		if se.Name != name || !errors.Is(err, tt.err) || se.Code() != tt.code {
			t.Errorf("Start(%q) = %q (name %q, code %d), want %v, code %d", tt.argv, err, se.Name, se.Code(), tt.err, tt.code)
		}
		if want := "exec " + name + ": "; !strings.HasPrefix(err.Error(), want) {
			t.Errorf("Start(%q) error %q, want prefix %q", tt.argv, err, want)
		}
	}
}

// sigblk returns the SigBlk mask of process pid once it runs the program
// named comm (so not the forked copy of the test before exec).
func sigblk(t *testing.T, pid int, comm string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
		if err != nil {
			t.Fatalf("child %d: %v", pid, err)
		}
		if strings.TrimSpace(string(b)) == comm {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("child %d did not exec %s within 10s", pid, comm)
		}
		time.Sleep(5 * time.Millisecond)
	}
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "SigBlk:"); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("no SigBlk line in /proc/%d/status", pid)
	return ""
}

// TestStartClearsSignalMask is the regression test for a blocked signal
// leaking into the child: the mask survives fork and exec, and a child
// that starts with SIGTSTP blocked cannot be suspended (podman#18095).
func TestStartClearsSignalMask(t *testing.T) {
	withoutTerminal(t)
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skipf("no sleep program: %v", err)
	}

	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var block, old unix.Sigset_t
	block.Val[(unix.SIGUSR1-1)/64] |= 1 << ((unix.SIGUSR1 - 1) % 64)
	if err := unix.PthreadSigmask(unix.SIG_BLOCK, &block, &old); err != nil {
		t.Fatal(err)
	}
	defer unix.PthreadSigmask(unix.SIG_SETMASK, &old, nil)
	const usr1Blocked = "0000000000000200"

	run := func(start func() (int, error)) string {
		t.Helper()
		pid, err := start()
		if err != nil {
			t.Fatalf("start: %v", err)
		}
		defer func() {
			unix.Kill(pid, unix.SIGKILL)
			wait4(t, pid)
		}()
		return sigblk(t, pid, "sleep")
	}

	// The control: a plain fork from this thread passes SIGUSR1 on, so
	// the test can see a leak.
	got := run(func() (int, error) {
		return syscall.ForkExec(sleep, []string{"sleep", "60"}, &syscall.ProcAttr{Files: []uintptr{0, 1, 2}})
	})
	if got != usr1Blocked {
		t.Fatalf("control child's SigBlk = %s, want %s: the test cannot observe the mask", got, usr1Blocked)
	}

	got = run(func() (int, error) { return Start([]string{sleep, "60"}, nil) })
	if got != "0000000000000000" {
		t.Errorf("child of Start has SigBlk %s, want no signal blocked", got)
	}

	// The caller's mask is back as it was.
	var now unix.Sigset_t
	if err := unix.PthreadSigmask(unix.SIG_BLOCK, nil, &now); err != nil {
		t.Fatal(err)
	}
	if now.Val[0]&block.Val[0] == 0 {
		t.Errorf("SIGUSR1 no longer blocked on the calling thread after Start")
	}
}

// TestReleaseInherited runs ReleaseInherited in a copy of the test binary
// (it changes the working directory and closes descriptors of the whole
// process) and checks what the copy reports.
func TestReleaseInherited(t *testing.T) {
	if os.Getenv("REAPER_SPAWN_RELEASE_CHILD") == "1" {
		releaseChild()
		return
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^TestReleaseInherited$")
	cmd.Env = append(os.Environ(), "REAPER_SPAWN_RELEASE_CHILD=1")
	cmd.ExtraFiles = []*os.File{w} // descriptor 3, without close-on-exec
	cmd.Dir = t.TempDir()
	out, err := cmd.Output()
	w.Close()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	want := "cwd=/ fd3=closed cloexec=open stdio=open\n"
	if !strings.Contains(string(out), want) {
		t.Errorf("child reported %q, want %q", out, want)
	}
}

// releaseChild is the body of TestReleaseInherited in the copy.
func releaseChild() {
	cloexec, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		os.Stdout.WriteString("open: " + err.Error() + "\n")
		os.Exit(1)
	}
	ReleaseInherited()
	state := func(fd int) string {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil {
			return "closed"
		}
		return "open"
	}
	cwd, _ := os.Getwd()
	stdio := "open"
	for fd := 0; fd <= 2; fd++ {
		if state(fd) != "open" {
			stdio = "closed"
		}
	}
	os.Stdout.WriteString("cwd=" + cwd + " fd3=" + state(3) + " cloexec=" + state(cloexec) + " stdio=" + stdio + "\n")
	os.Exit(0)
}
