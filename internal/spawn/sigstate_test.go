package spawn

import (
	"bytes"
	"os"
	"strconv"
	"syscall"
	"testing"

	"github.com/reaper-init/reaper-init/internal/emutest"
	"golang.org/x/sys/unix"
)

func bit(sig syscall.Signal) uint64 { return 1 << (uint(sig) - 1) }

// emulatorKept returns the signals an emulated child cannot reset:
// qemu-user keeps the host's first two real-time signals, 32 and 33, for
// its own C library and maps no signal of the program it runs to them, so
// one this test inherited ignored (GNU make's children inherit both) stays
// ignored in every child, whatever the child does. Natively it is 0.
func emulatorKept(t *testing.T) uint64 {
	t.Helper()
	if emutest.Emulator() == "" {
		return 0
	}
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatalf("read own status: %v", err)
	}
	for _, line := range bytes.Split(status, []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte("SigIgn:")); ok {
			ign, err := strconv.ParseUint(string(bytes.TrimSpace(v)), 16, 64)
			if err != nil {
				t.Fatalf("own SigIgn %q: %v", v, err)
			}
			kept := ign & (bit(32) | bit(33))
			if kept != 0 {
				t.Logf("under %s, which cannot reset host signals %016x this test inherited ignored", emutest.Emulator(), kept)
			}
			return kept
		}
	}
	t.Fatalf("no SigIgn in own status")
	return 0
}

// ignoringCommand runs the helper mode start with args in a process that
// inherits SIGHUP, SIGINT and signal 34 ignored from a shell, the way a
// background job or nohup starts a program.
func ignoringCommand(t *testing.T, args ...string) []byte {
	t.Helper()
	sh := helperCommand(t, "start")
	sh.Path = "/bin/sh"
	sh.Args = append([]string{"sh", "-c", `trap "" HUP INT 34; exec "$@"`, "sh", os.Args[0]}, args...)
	out, err := sh.Output()
	if err != nil {
		t.Fatalf("helper %q: %v\n%s", args, err, out)
	}
	return out
}

// TestStartDispositions starts children from a process that inherited
// SIGHUP, SIGINT and 34 ignored and ignores 32 too (which the Go runtime
// never handles): the ForkExec path passes them on (the control, which
// shows the test can see it), so Start takes the raw path, whose child
// resets every disposition.
func TestStartDispositions(t *testing.T) {
	leaked := bit(syscall.SIGHUP) | bit(syscall.SIGINT) | bit(32)
	r := parseHelperReport(t, ignoringCommand(t, "-ignore=32", "forkexec"))
	if r.sigign&leaked != leaked {
		// Seen under qemu-user, which keeps the signal state of the
		// program it runs to itself: the children below still have to
		// be clean, but the test shows less.
		t.Logf("control: the ForkExec child has SigIgn %016x, not at least %016x: this system does not pass ignored signals on as Linux does", r.sigign, leaked)
	}
	for _, path := range []string{"auto", "raw"} {
		t.Run(path, func(t *testing.T) {
			r := parseHelperReport(t, ignoringCommand(t, "-ignore=32", path))
			if r.sigign&^emulatorKept(t) != 0 || r.sigblk != 0 {
				t.Errorf("child has SigIgn %016x SigBlk %016x, want both 0", r.sigign, r.sigblk)
			}
		})
	}
}

// TestStartSignalStateForkExec checks the ForkExec path on its own
// terms: from a process with nothing ignored and nothing blocked (what
// Start requires of it), the child starts with nothing ignored and
// nothing blocked, whatever handlers the parent had.
func TestStartSignalStateForkExec(t *testing.T) {
	for _, path := range []string{"forkexec", "auto"} {
		t.Run(path, func(t *testing.T) {
			r := parseHelperReport(t, ignoringCommand(t, "-default", path))
			if r.sigign&^emulatorKept(t) != 0 || r.sigblk != 0 {
				t.Errorf("child has SigIgn %016x SigBlk %016x, want both 0", r.sigign, r.sigblk)
			}
		})
	}
}

// TestStartBlockedAndIgnored combines both: a parent with SIGTSTP and
// SIGUSR1 blocked and signals ignored (catatonit's podman#18095 state).
func TestStartBlockedAndIgnored(t *testing.T) {
	block := strconv.Itoa(int(unix.SIGTSTP)) + "," + strconv.Itoa(int(unix.SIGUSR1))
	r := parseHelperReport(t, ignoringCommand(t, "-ignore=32", "-block="+block, "auto"))
	if r.sigign&^emulatorKept(t) != 0 || r.sigblk != 0 {
		t.Errorf("child has SigIgn %016x SigBlk %016x, want both 0", r.sigign, r.sigblk)
	}
}

// openPTY opens a pseudo-terminal pair the way posix_openpt, grantpt,
// unlockpt and ptsname do.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Skipf("skipping: no pseudo-terminals: %v", err)
	}
	master = os.NewFile(uintptr(m), "/dev/ptmx")
	t.Cleanup(func() { master.Close() })
	if err := unix.IoctlSetPointerInt(m, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetUint32(m, unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("ptsname: %v", err)
	}
	name := "/dev/pts/" + strconv.Itoa(int(n))
	s, err := unix.Open(name, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("open %s: %v", name, err)
	}
	slave = os.NewFile(uintptr(s), name)
	t.Cleanup(func() { slave.Close() })
	return master, slave
}

// TestStartForeground runs the helper in a session of its own whose
// controlling terminal is a pseudo-terminal on stdin: the child must be
// in a group of its own, and that group the terminal's foreground group,
// on both paths. On the raw path the child takes the terminal itself
// with every signal blocked.
func TestStartForeground(t *testing.T) {
	for _, path := range []string{"forkexec", "raw", "auto"} {
		t.Run(path, func(t *testing.T) {
			_, slave := openPTY(t)
			cmd := helperCommand(t, "start", path)
			cmd.Stdin = slave
			cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("helper: %v\n%s", err, out)
			}
			r := parseHelperReport(t, out)
			if r.pgrp != r.pid {
				t.Errorf("child %d is in process group %d, want its own", r.pid, r.pgrp)
			}
			if r.tpgid != r.pgrp {
				t.Errorf("the terminal's foreground group is %d, want the child's %d", r.tpgid, r.pgrp)
			}
		})
	}
}
