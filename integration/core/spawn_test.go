package core

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/reaper-init/reaper-init/integration/internal/testenv"
)

// TestChildNeverSeesInitInCwd is the regression test for a child that
// could see reaper-init still in the caller's directory: the init moved
// to / only after the fork, and the fork returns once the child has
// executed, so a child that looked at once (here: at PID 1's working
// directory) saw the caller's directory in about one run of four.
// reaper-init now moves before the fork. 200 runs, always /, and the
// child itself always in the caller's directory.
func TestChildNeverSeesInitInCwd(t *testing.T) {
	t.Parallel()
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	const runs, workers = 200, 8
	want := "/\n" + dir + "\n"
	jobs := make(chan int)
	var mu sync.Mutex
	var bad []string
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range jobs {
				cmd := testenv.InitCommand(t, "-q", "--", "sh", "-c", `readlink /proc/$PPID/cwd; readlink /proc/self/cwd`)
				cmd.Dir = dir
				out, err := cmd.CombinedOutput()
				if err != nil || string(out) != want {
					mu.Lock()
					bad = append(bad, fmt.Sprintf("%q (%v)", out, err))
					mu.Unlock()
				}
			}
		}()
	}
	for i := 0; i < runs; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if len(bad) > 0 {
		t.Errorf("%d of %d runs did not print %q; the first: %s", len(bad), runs, want, bad[0])
	}
}

// TestChildCwdDeleted starts reaper-init in a directory that no longer
// exists (getcwd fails there): the child still starts in it, and the init
// leaves it.
func TestChildCwdDeleted(t *testing.T) {
	t.Parallel()
	root, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "gone")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := startNS(t, "sh", "-c", `cd "$1" && rmdir "$1" && exec "$2" -q -- sh -c 'readlink /proc/$PPID/cwd; readlink /proc/self/cwd'`,
		"sh", dir, testenv.Init(t))
	p.wantExit(0)
	if got, want := p.stdout.String(), "/\n"+dir+" (deleted)\n"; got != want {
		t.Errorf("reaper-init and the child report working directories %q, want %q\nstderr:\n%s", got, want, p.stderr)
	}
}

var listenReport = regexp.MustCompile(`listen pid=(\S+) listen_pid=(\S+) listen_pidfdid=(\S+) own_pidfdid=(\S+) fds=(\S+) socket=(\S+)`)

// listener makes a listening Unix socket for a socket-activated child and
// returns it as a file to pass as descriptor 3, and its address.
func listener(t *testing.T) (*os.File, string) {
	t.Helper()
	addr := filepath.Join(t.TempDir(), "sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: addr, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	f, err := l.File()
	l.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, addr
}

// hello connects to the socket at addr and returns what the service
// there says.
func hello(t *testing.T, addr string) string {
	t.Helper()
	c, err := net.DialTimeout("unix", addr, readyTimeout)
	if err != nil {
		t.Fatalf("connect to the service: %v", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(readyTimeout))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("read from the service: %v", err)
	}
	return strings.TrimSpace(line)
}

// TestSocketActivation runs reaper-init as PID 1 the way podman
// --preserve-fds or a socket unit starts a container's process: a
// listening socket on descriptor 3, LISTEN_FDS=1, and LISTEN_PID=1,
// naming the init. The child must find its own PID there, or
// sd_listen_fds ignores the socket, and must be able to serve on it. A
// LISTEN_PID for another process is left alone (and the child then
// refuses the socket).
func TestSocketActivation(t *testing.T) {
	t.Parallel()
	t.Run("names the init", func(t *testing.T) {
		t.Parallel()
		sock, addr := listener(t)
		cmd := testenv.InitCommand(t, cmdline([]string{"-q"}, helper(t, "spawn-listen"))...)
		cmd.Env = append(os.Environ(), "LISTEN_PID=1", "LISTEN_FDS=1", "LISTEN_FDNAMES=web")
		cmd.ExtraFiles = []*os.File{sock}
		p := start(t, cmd, true)
		sock.Close()
		if got := hello(t, addr); !strings.HasPrefix(got, "hello from ") {
			t.Errorf("the service said %q", got)
		}
		p.wantExit(0)
		m := listenReport.FindStringSubmatch(p.stdout.String())
		if m == nil {
			t.Fatalf("no report from the child:\n%s%s", p.stdout, p.stderr)
		}
		if m[1] == "1" || m[2] != m[1] || m[5] != "1" || m[6] != "yes" {
			t.Errorf("child report %q: want LISTEN_PID = its own PID (not 1), LISTEN_FDS=1 and a socket on 3", m[0])
		}
	})
	t.Run("names another process", func(t *testing.T) {
		t.Parallel()
		sock, _ := listener(t)
		cmd := testenv.InitCommand(t, cmdline([]string{"-q"}, helper(t, "spawn-listen"))...)
		cmd.Env = append(os.Environ(), "LISTEN_PID=7", "LISTEN_FDS=1")
		cmd.ExtraFiles = []*os.File{sock}
		p := start(t, cmd, true)
		sock.Close()
		p.wantExit(1)
		m := listenReport.FindStringSubmatch(p.stdout.String())
		if m == nil || m[2] != "7" {
			t.Errorf("child report %q, want LISTEN_PID=7 as it was\n%s", p.stdout, p.stderr)
		}
	})
}

// TestSocketActivationPIDFDID is socket activation by systemd 256 and
// later, which also names its target by pidfd ID (LISTEN_PIDFDID):
// spawn-listen-exec sets both variables to name itself, as PID 1, and
// executes reaper-init, which keeps its PID and its pidfd ID. The child
// must find its own PID and its own pidfd ID.
func TestSocketActivationPIDFDID(t *testing.T) {
	t.Parallel()
	if !pidfdIDs() {
		t.Skip("skipping: the kernel has no pidfd IDs (pidfs, Linux 6.9)")
	}
	sock, addr := listener(t)
	cmd := testenv.PID1Command(t, append(helper(t, "spawn-listen-exec", testenv.Init(t), "-q", "--"), helper(t, "spawn-listen")...)...)
	cmd.Env = append(os.Environ(), "LISTEN_FDS=1")
	cmd.ExtraFiles = []*os.File{sock}
	p := start(t, cmd, true)
	sock.Close()
	said := hello(t, addr)
	p.wantExit(0)
	m := listenReport.FindStringSubmatch(p.stdout.String())
	if m == nil {
		t.Fatalf("no report from the child:\n%s%s", p.stdout, p.stderr)
	}
	if m[2] != m[1] || m[3] != m[4] || m[3] == "none" {
		t.Errorf("child report %q: want LISTEN_PID and LISTEN_PIDFDID naming the child", m[0])
	}
	if want := "hello from " + m[1]; said != want {
		t.Errorf("the service said %q, want %q", said, want)
	}
}

// pidfdIDs reports whether pidfds have IDs here (they live on pidfs, as
// from Linux 6.9, on a 64-bit system).
func pidfdIDs() bool {
	const pidfsMagic = 0x50494446
	fd, _, e := syscall.Syscall(sysPidfdOpen, uintptr(os.Getpid()), 0, 0)
	if e != 0 {
		return false
	}
	defer syscall.Close(int(fd))
	var fs syscall.Statfs_t
	return strconv.IntSize == 64 && syscall.Fstatfs(int(fd), &fs) == nil && uint64(fs.Type) == pidfsMagic
}

// TestTerminalRawPath is TestTerminal for a start on the raw fork path
// (taken here because LISTEN_PID names the init): the child takes the
// terminal itself between fork and exec, so it is in the foreground and
// can read from it.
func TestTerminalRawPath(t *testing.T) {
	t.Parallel()
	checkTerminal(t, []string{"LISTEN_PID=1"}, "hello raw")
}

// TestExecErrorsRawPath: the exit codes for a command that cannot be
// started are the same on the raw fork path (LISTEN_PID names the init).
func TestExecErrorsRawPath(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		cmd  string
		code int
	}{
		{"/nonexistent/prog", 127},
		{"no-such-command-anywhere", 127},
		{"/etc/passwd", 126},
		{"/", 126},
	} {
		cmd := testenv.InitCommand(t, "-q", "--", tt.cmd)
		cmd.Env = append(os.Environ(), "LISTEN_PID=1")
		p := start(t, cmd, true)
		st := p.wantExit(tt.code)
		if !strings.Contains(st.output, "reaper-init: exec "+tt.cmd+": ") {
			t.Errorf("%s: output %q, want one line naming the command", tt.cmd, st.output)
		}
	}
}
