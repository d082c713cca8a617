package spawn

import (
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The test binary doubles as a helper program for the tests that must
// change the state of a whole process (its descriptors, its controlling
// terminal, its inherited signal state): with REAPER_SPAWN_HELPER set, it
// runs that helper instead of the tests.
func TestMain(m *testing.M) {
	if mode := os.Getenv("REAPER_SPAWN_HELPER"); mode != "" {
		os.Exit(runHelper(mode, os.Args[1:]))
	}
	os.Exit(m.Run())
}

// helperCommand returns a command that runs this test binary as the
// helper mode with args.
func helperCommand(t *testing.T, mode string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "REAPER_SPAWN_HELPER="+mode)
	return cmd
}

func runHelper(mode string, args []string) int {
	switch mode {
	case "release":
		return helperRelease()
	case "start":
		return helperStart(args)
	}
	os.Stderr.WriteString("unknown helper mode " + mode + "\n")
	return 2
}

// helperRelease calls ReleaseInherited and reports the working directory
// and which descriptors are still open.
func helperRelease() int {
	cloexec, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		os.Stdout.WriteString("open: " + err.Error() + "\n")
		return 1
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
	return 0
}

// helperStart starts "sleep 60" and reports the child's state:
//
//	start [-default] [-ignore=SIG,...] [-block=SIG,...] PATH
//
// First it sets every signal it inherited ignored back to the default
// (-default), sets the -ignore signals to SIG_IGN (as if inherited so:
// the Go runtime leaves 32 alone) and blocks the -block ones on its
// thread;
// then it starts the child on PATH (auto, forkexec or raw) and prints
// one line,
//
//	pid=P pgrp=G tpgid=F sigblk=HEX sigign=HEX
//
// with the child's process group, the foreground group of its terminal
// (-1 without one) and its masks, read from /proc once it runs sleep.
func helperStart(args []string) int {
	fail := func(what string, err error) int {
		os.Stdout.WriteString("error: " + what + ": " + err.Error() + "\n")
		return 1
	}
	runtime.LockOSThread()
	var path forkPath
	for _, a := range args {
		switch {
		case strings.HasPrefix(a, "-ignore="):
			for _, s := range signalList(a[len("-ignore="):]) {
				act := kernelSigaction{}
				*(*uintptr)(unsafe.Add(unsafe.Pointer(&act), handlerOffset)) = sigIGN
				if _, _, e := unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(s), uintptr(unsafe.Pointer(&act)), 0, sigsetBytes, 0, 0); e != 0 {
					return fail("ignore "+strconv.Itoa(s), e)
				}
			}
		case a == "-default":
			// Undo what this process inherited: every ignored signal
			// back to the default.
			for sig := firstIgnored(0); sig != 0; sig = firstIgnored(0) {
				act := kernelSigaction{}
				if _, _, e := unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&act)), 0, sigsetBytes, 0, 0); e != 0 {
					return fail("default "+strconv.Itoa(sig), e)
				}
			}
		case strings.HasPrefix(a, "-block="):
			var set unix.Sigset_t
			for _, s := range signalList(a[len("-block="):]) {
				set.Val[(s-1)/64] |= 1 << ((s - 1) % 64)
			}
			if err := unix.PthreadSigmask(unix.SIG_BLOCK, &set, nil); err != nil {
				return fail("block", err)
			}
		case a == "auto":
			path = pathAuto
		case a == "forkexec":
			path = pathForkExec
		case a == "raw":
			path = pathRaw
		default:
			return fail("usage", unix.EINVAL)
		}
	}
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		return fail("sleep", err)
	}
	pid, err := start([]string{sleep, "60"}, nil, Options{}, path)
	if err != nil {
		return fail("start", err)
	}
	defer func() {
		unix.Kill(pid, unix.SIGKILL)
		var ws unix.WaitStatus
		unix.Wait4(pid, &ws, 0, nil)
	}()
	if err := waitExec(pid, "sleep"); err != nil {
		return fail("wait", err)
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return fail("stat", err)
	}
	// After the command name: state ppid pgrp session tty_nr tpgid.
	f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	blk, err1 := statusField(pid, "SigBlk")
	ign, err2 := statusField(pid, "SigIgn")
	if len(f) < 6 || err1 != nil || err2 != nil {
		return fail("status", unix.EIO)
	}
	os.Stdout.WriteString("pid=" + strconv.Itoa(pid) + " pgrp=" + f[2] + " tpgid=" + f[5] + " sigblk=" + blk + " sigign=" + ign + "\n")
	return 0
}

// signalList parses a comma-separated list of signal numbers.
func signalList(s string) []int {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if n, err := strconv.Atoi(f); err == nil {
			out = append(out, n)
		}
	}
	return out
}

// helperReport is helperStart's line, parsed.
type helperReport struct {
	pid, pgrp, tpgid int
	sigblk, sigign   uint64
}

func parseHelperReport(t *testing.T, out []byte) helperReport {
	t.Helper()
	var r helperReport
	fields := strings.Fields(string(out))
	if len(fields) != 5 {
		t.Fatalf("helper reported %q", out)
	}
	for _, f := range fields {
		k, v, _ := strings.Cut(f, "=")
		var err error
		switch k {
		case "pid":
			r.pid, err = strconv.Atoi(v)
		case "pgrp":
			r.pgrp, err = strconv.Atoi(v)
		case "tpgid":
			r.tpgid, err = strconv.Atoi(v)
		case "sigblk":
			r.sigblk, err = strconv.ParseUint(v, 16, 64)
		case "sigign":
			r.sigign, err = strconv.ParseUint(v, 16, 64)
		default:
			t.Fatalf("helper reported %q", out)
		}
		if err != nil {
			t.Fatalf("helper reported %q: %v", out, err)
		}
	}
	return r
}
