package ending_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reaper-init/reaper-init/internal/ending"
	"golang.org/x/sys/unix"
)

// A write that cannot go ahead must say so at once: bounds for "at once",
// generous for a loaded machine; a write takes some microseconds.
const promptly = 100 * time.Millisecond

var (
	stopping = ending.Summary{Signal: unix.SIGTERM, SignalAt: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), Forwarded: unix.SIGTERM,
		Grace: 20 * time.Second, Running: ending.Procs{Count: 2, First: ending.Proc{PID: 7, Comm: "server"}}}
	stopped = func() ending.Summary {
		s := stopping
		s.Exit, s.Child = 143, ending.Child{Ended: true, Signal: unix.SIGTERM}
		return s
	}()
	provisionalLine = `reason=stopping signal=SIGTERM at=2025-01-02T03:04:05Z grace=20s running=2 first="pid=7 comm=server"`
	finalLine       = `exit=143 reason=forwarded signal=SIGTERM`
)

// newFile makes the file at path (with contents, unless contents is nil)
// and returns a writer for it.
func newFile(t *testing.T, path string, contents []byte, explicit bool) *ending.File {
	t.Helper()
	if contents != nil {
		if err := os.WriteFile(path, contents, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := ending.NewFile(path, explicit)
	if err != nil || f == nil {
		t.Fatalf("NewFile(%q, %v) = %v, %v", path, explicit, f, err)
	}
	return f
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestWriteEmptyFile(t *testing.T) {
	for _, explicit := range []bool{false, true} {
		path := filepath.Join(t.TempDir(), "termination-log")
		f := newFile(t, path, []byte{}, explicit)
		if err := f.WriteFinal(&stopped); err != nil {
			t.Fatalf("WriteFinal: %v", err)
		}
		if got := readFile(t, path); got != finalLine {
			t.Errorf("explicit=%v: file holds %q, want %q", explicit, got, finalLine)
		}
	}
}

func TestProvisionalThenFinal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "termination-log")
	f := newFile(t, path, []byte{}, false)
	var before syscall.Stat_t
	if err := syscall.Stat(path, &before); err != nil {
		t.Fatal(err)
	}
	if err := f.WriteProvisional(&stopping); err != nil {
		t.Fatalf("WriteProvisional: %v", err)
	}
	if got := readFile(t, path); got != provisionalLine {
		t.Fatalf("after WriteProvisional the file holds %q, want %q", got, provisionalLine)
	}
	if err := f.WriteFinal(&stopped); err != nil {
		t.Fatalf("WriteFinal: %v", err)
	}
	if got := readFile(t, path); got != finalLine {
		t.Errorf("after WriteFinal the file holds %q, want %q (the shorter final line, nothing of the provisional left)", got, finalLine)
	}
	var after syscall.Stat_t
	if err := syscall.Stat(path, &after); err != nil {
		t.Fatal(err)
	}
	if after.Ino != before.Ino {
		t.Errorf("the file's inode changed from %d to %d: written by rename, not in place (a bind mount would break)", before.Ino, after.Ino)
	}
	// A longer final line after a shorter provisional one, again in place.
	long := stopped
	long.Exit, long.Kill, long.Killed = 137, ending.KilledByGrace, ending.Procs{Count: 40, First: ending.Proc{PID: 12345, Comm: "a-rather-long-nm"}}
	long.Child.Signal = unix.SIGKILL
	if err := f.WriteFinal(&long); err != nil {
		t.Fatalf("second WriteFinal: %v", err)
	}
	if got, want := readFile(t, path), string(long.AppendFinal(nil)); got != want {
		t.Errorf("file holds %q, want %q", got, want)
	}
}

func TestApplicationMessageLeftAlone(t *testing.T) {
	const own = "config file /etc/app.yaml: missing key \"port\"\n"
	t.Run("before anything", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "termination-log")
		f := newFile(t, path, []byte(own), false)
		for _, write := range []func(*ending.Summary) error{f.WriteProvisional, f.WriteFinal} {
			if err := write(&stopped); !errors.Is(err, ending.ErrNotEmpty) {
				t.Errorf("write = %v, want ErrNotEmpty", err)
			}
		}
		if got := readFile(t, path); got != own {
			t.Errorf("file holds %q, want the application's %q", got, own)
		}
	})
	t.Run("after the provisional summary", func(t *testing.T) {
		for name, msg := range map[string]string{
			"longer":      own,
			"same length": strings.Repeat("x", len(provisionalLine)),
			"prefix":      provisionalLine[:10],
		} {
			path := filepath.Join(t.TempDir(), "termination-log")
			f := newFile(t, path, []byte{}, false)
			if err := f.WriteProvisional(&stopping); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(msg), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := f.WriteFinal(&stopped); !errors.Is(err, ending.ErrNotEmpty) {
				t.Errorf("%s: WriteFinal = %v, want ErrNotEmpty", name, err)
			}
			if got := readFile(t, path); got != msg {
				t.Errorf("%s: file holds %q, want the application's %q", name, got, msg)
			}
		}
	})
	t.Run("emptied after the provisional summary", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "termination-log")
		f := newFile(t, path, []byte{}, false)
		if err := f.WriteProvisional(&stopping); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(path, 0); err != nil {
			t.Fatal(err)
		}
		if err := f.WriteFinal(&stopped); err != nil {
			t.Errorf("WriteFinal = %v, want nil: the file is empty again", err)
		}
		if got := readFile(t, path); got != finalLine {
			t.Errorf("file holds %q, want %q", got, finalLine)
		}
	})
}

func TestSymlinkNotFollowed(t *testing.T) {
	for _, target := range []string{"", "the target's own contents"} {
		for _, explicit := range []bool{false, true} {
			dir := t.TempDir()
			tpath, lpath := filepath.Join(dir, "target"), filepath.Join(dir, "termination-log")
			if err := os.WriteFile(tpath, []byte(target), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(tpath, lpath); err != nil {
				t.Fatal(err)
			}
			f := newFile(t, lpath, nil, explicit)
			start := time.Now()
			err1 := f.WriteProvisional(&stopping)
			err2 := f.WriteFinal(&stopped)
			took := time.Since(start)
			for _, err := range []error{err1, err2} {
				if !errors.Is(err, ending.ErrSymlink) {
					t.Errorf("target %q, explicit %v: write = %v, want ErrSymlink", target, explicit, err)
				}
			}
			if got := readFile(t, tpath); got != target {
				t.Errorf("the symlink's target holds %q, want %q untouched", got, target)
			}
			if fi, err := os.Lstat(lpath); err != nil || fi.Mode()&os.ModeSymlink == 0 {
				t.Errorf("the symlink is gone or replaced: %v %v", fi, err)
			}
			if took > promptly {
				t.Errorf("two refused writes took %v", took)
			}
		}
	}
	// A dangling link at an explicit path: nothing is created at its
	// target.
	dir := t.TempDir()
	lpath, tpath := filepath.Join(dir, "termination-log"), filepath.Join(dir, "nowhere")
	if err := os.Symlink(tpath, lpath); err != nil {
		t.Fatal(err)
	}
	f := newFile(t, lpath, nil, true)
	if err := f.WriteFinal(&stopped); !errors.Is(err, ending.ErrSymlink) {
		t.Errorf("dangling link: WriteFinal = %v, want ErrSymlink", err)
	}
	if _, err := os.Lstat(tpath); !os.IsNotExist(err) {
		t.Errorf("the dangling link's target was created (%v)", err)
	}
}

func TestFIFONoReader(t *testing.T) {
	for _, explicit := range []bool{false, true} {
		path := filepath.Join(t.TempDir(), "termination-log")
		if err := syscall.Mkfifo(path, 0o644); err != nil {
			t.Fatal(err)
		}
		f := newFile(t, path, nil, explicit)
		done := make(chan [2]error, 1)
		start := time.Now()
		go func() { done <- [2]error{f.WriteProvisional(&stopping), f.WriteFinal(&stopped)} }()
		select {
		case errs := <-done:
			for _, err := range errs {
				if !errors.Is(err, ending.ErrNotRegular) {
					t.Errorf("write = %v, want ErrNotRegular", err)
				}
			}
			if took := time.Since(start); took > promptly {
				t.Errorf("two writes to a FIFO with no reader took %v, want under %v", took, promptly)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("writing to a FIFO with no reader blocked for 10s")
		}
	}
}

// TestFIFOReaderUntouched checks that a FIFO is never opened for real:
// a reader blocked in open on it stays blocked.
func TestFIFOReaderUntouched(t *testing.T) {
	path := filepath.Join(t.TempDir(), "termination-log")
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Fatal(err)
	}
	opened := make(chan error, 1)
	go func() {
		fd, err := syscall.Open(path, syscall.O_RDONLY, 0) // blocks until a writer opens
		if err == nil {
			syscall.Close(fd)
		}
		opened <- err
	}()
	f := newFile(t, path, nil, true)
	if err := f.WriteFinal(&stopped); !errors.Is(err, ending.ErrNotRegular) {
		t.Errorf("WriteFinal = %v, want ErrNotRegular", err)
	}
	select {
	case <-opened:
		t.Errorf("the reader's open returned: the writer opened the FIFO")
	case <-time.After(200 * time.Millisecond):
	}
	// Let the reader go.
	if fd, err := syscall.Open(path, syscall.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
		<-opened
		syscall.Close(fd)
	}
}

func TestDevFull(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skipf("skipping: no /dev/full (%v)", err)
	}
	for _, explicit := range []bool{false, true} {
		f := newFile(t, "/dev/full", nil, explicit)
		start := time.Now()
		if err := f.WriteFinal(&stopped); !errors.Is(err, ending.ErrNotRegular) {
			t.Errorf("WriteFinal(/dev/full) = %v, want ErrNotRegular", err)
		}
		if took := time.Since(start); took > promptly {
			t.Errorf("took %v", took)
		}
	}
}

func TestDirectory(t *testing.T) {
	f := newFile(t, t.TempDir(), nil, true)
	if err := f.WriteFinal(&stopped); !errors.Is(err, ending.ErrNotRegular) {
		t.Errorf("WriteFinal(a directory) = %v, want ErrNotRegular", err)
	}
}

func TestReadOnlyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "termination-log")
	if err := os.WriteFile(path, nil, 0o444); err != nil {
		t.Fatal(err)
	}
	f := newFile(t, path, nil, true)
	if err := f.WriteFinal(&stopped); !errors.Is(err, ending.ErrReadOnly) {
		t.Errorf("WriteFinal(mode 0444) = %v, want ErrReadOnly", err)
	}
	if got := readFile(t, path); got != "" {
		t.Errorf("the read-only file holds %q, want it empty", got)
	}
}

// TestReadOnlyMount bind-mounts an empty file read-only, as docker run -v
// FILE:/dev/termination-log:ro does, in a mount namespace of a child.
func TestReadOnlyMount(t *testing.T) { testMounted(t, "ro", "read-only file system") }

// TestFullDisk writes to an empty file on a full file system.
func TestFullDisk(t *testing.T) { testMounted(t, "full", "no space left on device") }

// testMounted runs the mount case kind (see mountChild) and checks that
// the write failed with the error want, promptly, leaving the file empty.
func testMounted(t *testing.T, kind, want string) {
	if os.Getenv("ENDING_MOUNT_CASE") != "" {
		mountChild(t)
		return
	}
	if out := runInMountNamespace(t, kind); !strings.Contains(out, want) {
		t.Errorf("WriteFinal: %q, want %q", out, want)
	}
}

func TestMissingDefaultPathNotCreated(t *testing.T) {
	path := filepath.Join(t.TempDir(), "termination-log")
	f := newFile(t, path, nil, false)
	if err := f.WriteProvisional(&stopping); !errors.Is(err, syscall.ENOENT) {
		t.Errorf("WriteProvisional = %v, want ENOENT", err)
	}
	if err := f.WriteFinal(&stopped); !errors.Is(err, syscall.ENOENT) {
		t.Errorf("WriteFinal = %v, want ENOENT", err)
	}
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Errorf("the default path was created (%v)", err)
	}
	if f, err := ending.NewFile("", true); err != nil || f.Path() != ending.DefaultPath {
		t.Errorf(`NewFile("", true) = %v, %v; want the default path`, f.Path(), err)
	}
}

func TestMissingExplicitPathCreated(t *testing.T) {
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	path := filepath.Join(t.TempDir(), "termination-log")
	f := newFile(t, path, nil, true)
	if err := f.WriteProvisional(&stopping); err != nil {
		t.Fatalf("WriteProvisional: %v", err)
	}
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o644 {
		t.Errorf("created %v, want a regular file with mode 0644 (umask 077)", fi.Mode())
	}
	if err := f.WriteFinal(&stopped); err != nil {
		t.Fatalf("WriteFinal: %v", err)
	}
	if got := readFile(t, path); got != finalLine {
		t.Errorf("file holds %q, want %q", got, finalLine)
	}
	// No parent directory: nothing is made.
	f = newFile(t, filepath.Join(t.TempDir(), "no", "termination-log"), nil, true)
	if err := f.WriteFinal(&stopped); !errors.Is(err, syscall.ENOENT) {
		t.Errorf("WriteFinal under a missing directory = %v, want ENOENT", err)
	}
}

func TestNewFile(t *testing.T) {
	if f, err := ending.NewFile("off", true); f != nil || err != nil {
		t.Errorf(`NewFile("off") = %v, %v; want nil, nil`, f, err)
	}
	var off *ending.File
	if err := off.WriteProvisional(&stopping); err != nil {
		t.Errorf("nil File: WriteProvisional = %v", err)
	}
	if err := off.WriteFinal(&stopped); err != nil || off.Path() != "" {
		t.Errorf("nil File: WriteFinal = %v, Path %q", err, off.Path())
	}
	if _, err := ending.NewFile("relative/path", true); err == nil {
		t.Errorf("NewFile(a relative path) succeeded")
	}
	if f, err := ending.NewFile("", false); err != nil || f.Path() != "/dev/termination-log" {
		t.Errorf(`NewFile("") = %v, %v`, f, err)
	}
}

// TestWriteTime checks that writes do not wait for the disk: the median
// of a provisional and a final write is far under a millisecond on any
// file system; the bound is generous for a loaded machine.
func TestWriteTime(t *testing.T) {
	var took []time.Duration
	for range 50 {
		path := filepath.Join(t.TempDir(), "termination-log")
		f := newFile(t, path, []byte{}, false)
		start := time.Now()
		if err := f.WriteProvisional(&stopping); err != nil {
			t.Fatal(err)
		}
		if err := f.WriteFinal(&stopped); err != nil {
			t.Fatal(err)
		}
		took = append(took, time.Since(start))
	}
	slices.Sort(took)
	t.Logf("provisional + final write: median %v, max %v", took[len(took)/2], took[len(took)-1])
	if took[len(took)/2] > 5*time.Millisecond {
		t.Errorf("median of a provisional and a final write %v, want well under 5ms", took[len(took)/2])
	}
}

func BenchmarkWriteFinal(b *testing.B) {
	path := filepath.Join(b.TempDir(), "termination-log")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		b.Fatal(err)
	}
	f, _ := ending.NewFile(path, false)
	b.ReportAllocs()
	for b.Loop() {
		if err := f.WriteFinal(&stopped); err != nil {
			b.Fatal(err)
		}
	}
}

// runInMountNamespace runs the test t again in a copy of the test binary,
// in a mount namespace of its own, where mountChild
// sets up the case (ro: an empty file bind-mounted read-only; full: an
// empty file on a full tmpfs) and writes to it. It returns the outcome,
// or skips when the namespace or the mounts cannot be made (not root).
func runInMountNamespace(t *testing.T, kind string) string {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("skipping: needs root to make a mount namespace and mounts")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$")
	cmd.Env = append(os.Environ(), "ENDING_MOUNT_CASE="+kind, "ENDING_MOUNT_DIR="+t.TempDir())
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	out, err := cmd.CombinedOutput()
	s := string(out)
	if i := strings.Index(s, "SKIP: "); i >= 0 {
		t.Skipf("skipping: %s", strings.TrimSpace(strings.SplitN(s[i+6:], "\n", 2)[0]))
	}
	i := strings.Index(s, "RESULT: ")
	if err != nil || i < 0 {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	result := strings.SplitN(s[i+8:], "\n", 2)[0]
	t.Log(result)
	if !strings.Contains(result, ` contents="" `) {
		t.Errorf("the file is not empty after a failed write: %s", result)
	}
	_, ts, _ := strings.Cut(result, " took=")
	if took, err := time.ParseDuration(ts); err != nil || took > promptly {
		t.Errorf("the failed write took %s, want under %v", ts, promptly)
	}
	return result
}

// mountChild is the test's body in the copy that runInMountNamespace
// runs.
func mountChild(t *testing.T) {
	kind, dir := os.Getenv("ENDING_MOUNT_CASE"), os.Getenv("ENDING_MOUNT_DIR")
	skip := func(format string, err error) {
		os.Stdout.WriteString("SKIP: " + format + ": " + err.Error() + "\n")
		os.Exit(0)
	}
	// Keep the mounts below private to this namespace.
	if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
		skip("make / private", err)
	}
	path := filepath.Join(dir, "termination-log")
	switch kind {
	case "ro":
		if err := os.WriteFile(path, nil, 0o666); err != nil {
			skip("create", err)
		}
		if err := syscall.Mount(path, path, "", syscall.MS_BIND, ""); err != nil {
			skip("bind mount", err)
		}
		if err := syscall.Mount("", path, "", syscall.MS_BIND|syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
			skip("remount read-only", err)
		}
	case "full":
		if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=64k"); err != nil {
			skip("mount a tmpfs", err)
		}
		if err := os.WriteFile(path, nil, 0o666); err != nil {
			skip("create", err)
		}
		fill, err := os.Create(filepath.Join(dir, "fill"))
		if err != nil {
			skip("create", err)
		}
		for {
			if _, err := fill.Write(make([]byte, 4096)); err != nil {
				break
			}
		}
		fill.Close()
	}
	f, err := ending.NewFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = f.WriteFinal(&stopped)
	took := time.Since(start)
	contents, _ := os.ReadFile(path)
	result := "nil"
	if err != nil {
		result = err.Error()
	}
	os.Stdout.WriteString("RESULT: " + result + " contents=" + strconv.Quote(string(contents)) + " took=" + took.String() + "\n")
	os.Exit(0)
}
