package core

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reaper-init/reaper-init/integration/internal/testenv"
)

// sigMasks returns the SigBlk and SigIgn masks of a /proc/PID/status
// text.
func sigMasks(t *testing.T, status string) (blk, ign uint64) {
	t.Helper()
	found := 0
	sc := bufio.NewScanner(strings.NewReader(status))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || (k != "SigBlk" && k != "SigIgn") {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		if err != nil {
			t.Fatalf("bad %s line %q: %v", k, sc.Text(), err)
		}
		if k == "SigBlk" {
			blk = n
		} else {
			ign = n
		}
		found++
	}
	if found != 2 {
		t.Fatalf("no SigBlk and SigIgn in status output:\n%s", status)
	}
	return blk, ign
}

func sigBit(s syscall.Signal) uint64 { return 1 << (uint(s) - 1) }

// TestChildSignalState starts reaper-init from a parent that blocks
// SIGTSTP and SIGUSR1 and ignores SIGINT and SIGQUIT (the state that
// leaked into containers through catatonit, podman#18095). The child must
// start with nothing blocked and nothing ignored. The control run shows
// the parent really passes that state on.
func TestChildSignalState(t *testing.T) {
	t.Parallel()
	wantBlk := sigBit(syscall.SIGTSTP) | sigBit(syscall.SIGUSR1)
	wantIgn := sigBit(syscall.SIGINT) | sigBit(syscall.SIGQUIT)

	t.Run("control", func(t *testing.T) {
		t.Parallel()
		p := startNS(t, helper(t, "core-blockexec", "cat", "/proc/self/status")...)
		p.wantExit(0)
		blk, ign := sigMasks(t, p.stdout.String())
		if blk&wantBlk != wantBlk || ign&wantIgn != wantIgn {
			t.Fatalf("core-blockexec passed SigBlk %016x SigIgn %016x, want at least %016x and %016x", blk, ign, wantBlk, wantIgn)
		}
	})

	t.Run("reaper-init", func(t *testing.T) {
		t.Parallel()
		p := startNS(t, helper(t, "core-blockexec", testenv.Init(t), "--", "cat", "/proc/self/status")...)
		p.wantExit(0)
		blk, ign := sigMasks(t, p.stdout.String())
		if blk != 0 {
			t.Errorf("the child starts with SigBlk %016x, want 0", blk)
		}
		// Under qemu-user the guest's signal N is the host's N+2: the
		// host's 32 and 33 belong to the emulator's C library, and the
		// emulated init has no number for them.
		hostOnly := sigBit(32) | sigBit(33)
		if ign&^hostOnly != 0 || (ign != 0 && !testenv.Emulated(t)) {
			t.Errorf("the child starts with SigIgn %016x, want 0", ign)
		} else if ign != 0 {
			testenv.SkipIfEmulated(t, fmt.Sprintf("qemu-user at times leaves the host's signals 32 and 33, "+
				"which the emulated init cannot name, ignored in its child (SigIgn %016x)", ign))
		}
	})
}

// report is what core-report wrote.
func readReport(t *testing.T, dir string) map[string]string {
	t.Helper()
	b := testenv.WaitFile(t, filepath.Join(dir, "report"), readyTimeout)
	m := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		k, v, _ := strings.Cut(line, "=")
		m[k] = v
	}
	return m
}

// TestChildCwd checks that the child starts in the caller's working
// directory while reaper-init itself moves to / (so it pins no mount).
func TestChildCwd(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	want, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	cmd := testenv.InitCommand(t, cmdline(nil, helper(t, "core-report", dir))...)
	cmd.Dir = dir
	p := start(t, cmd, true)
	if got := readReport(t, dir)["cwd"]; got != want {
		t.Errorf("the child's working directory is %q, want the caller's %q", got, want)
	}
	var cwd string
	deadline := time.Now().Add(readyTimeout)
	for {
		cwd, err = os.Readlink(fmt.Sprintf("/proc/%d/cwd", p.pid))
		if err != nil {
			t.Fatalf("reaper-init's working directory: %v", err)
		}
		if cwd == "/" || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if cwd != "/" {
		t.Errorf("reaper-init's working directory is %q once the child runs, want /", cwd)
	}
	writeFile(t, filepath.Join(dir, "stop"), "0")
	p.wantExit(0)
}

// TestInheritedFD gives reaper-init, as PID 1, an inherited descriptor 3:
// the write end of a FIFO. The child must inherit it, reaper-init must
// not keep its own copy, so the reader sees end of file as soon as the
// child closes it, while reaper-init and the child still run.
func TestInheritedFD(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("skipping: cannot make a FIFO: %v", err)
	}
	// Non-blocking, so opening does not wait for a writer; reads still
	// block in the runtime's poller.
	r, err := os.OpenFile(fifo, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	fifoInfo, err := os.Stat(fifo)
	if err != nil {
		t.Fatal(err)
	}

	p := startNS(t, helper(t, "core-openexec", "3", fifo, testenv.Init(t), "--", testenv.Helper(t), "core-report", dir)...)
	if got := readReport(t, dir)["fd3"]; got != fifo {
		t.Fatalf("the child's fd 3 is %q, want the inherited %q", got, fifo)
	}
	testenv.WaitFile(t, filepath.Join(dir, "closed"), readyTimeout)

	// Every descriptor of reaper-init, followed to what it opens.
	holding := func() []string {
		var fds []string
		entries, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", p.pid))
		for _, e := range entries {
			fi, err := os.Stat(fmt.Sprintf("/proc/%d/fd/%s", p.pid, e.Name()))
			if err == nil && os.SameFile(fi, fifoInfo) {
				fds = append(fds, e.Name())
			}
		}
		return fds
	}
	deadline := time.Now().Add(readyTimeout)
	for fds := holding(); len(fds) > 0; fds = holding() {
		if time.Now().After(deadline) {
			t.Fatalf("reaper-init keeps the inherited FIFO open as fd %v", fds)
		}
		time.Sleep(5 * time.Millisecond)
	}

	if err := r.SetReadDeadline(time.Now().Add(readyTimeout)); err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(r)
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		t.Errorf("no end of file on the FIFO %v after the child closed it: someone still holds the write end", readyTimeout)
	case err != nil:
		t.Errorf("read the FIFO: %v", err)
	case string(b) != "hello\n":
		t.Errorf("read %q from the FIFO, want the child's \"hello\\n\"", b)
	}
	if !p.alive() {
		t.Errorf("reaper-init exited before the child was told to")
	}
	writeFile(t, filepath.Join(dir, "stop"), "0")
	p.wantExit(0)
}
