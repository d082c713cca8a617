package testenv

import (
	"bytes"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// A reaper-init built for another architecture (make cross runs the
// arm64 release binary on an amd64 machine) runs through a user-mode
// emulator, qemu-user, which binfmt_misc starts in its place. The tests
// still run the real binary, but a few things the emulator does not do
// as the kernel does: those tests skip under emulation, each with a line
// naming the limit (SkipIfEmulated).

var (
	emuOnce sync.Once
	emuDesc string // "" when the init runs natively
)

// hostMachines are the ELF machines this test process's architecture
// runs without an emulator.
var hostMachines = map[string][]elf.Machine{
	"amd64":   {elf.EM_X86_64, elf.EM_386},
	"386":     {elf.EM_386},
	"arm64":   {elf.EM_AARCH64},
	"arm":     {elf.EM_ARM},
	"ppc64le": {elf.EM_PPC64},
	"s390x":   {elf.EM_S390},
	"riscv64": {elf.EM_RISCV},
}

// qemuNames are the names Debian's qemu-user-static gives its binfmt
// handler for each ELF machine (qemu-NAME).
var qemuNames = map[elf.Machine]string{
	elf.EM_X86_64:  "x86_64",
	elf.EM_386:     "i386",
	elf.EM_AARCH64: "aarch64",
	elf.EM_ARM:     "arm",
	elf.EM_PPC64:   "ppc64le",
	elf.EM_S390:    "s390x",
	elf.EM_RISCV:   "riscv64",
}

// Emulated reports whether the reaper-init binary under test is built for
// an architecture this machine does not run natively, so that it runs
// through an emulator. It compares the binary's ELF machine with this
// test process's architecture.
func Emulated(t testing.TB) bool {
	t.Helper()
	return Emulator(t) != ""
}

// Emulator describes what runs the reaper-init under test when it is
// emulated, e.g. "an EM_AARCH64 binary run by qemu-aarch64 version 7.2.22
// through binfmt_misc", and returns "" when it runs natively.
func Emulator(t testing.TB) string {
	t.Helper()
	bin := Init(t)
	emuOnce.Do(func() { emuDesc = describeEmulator(bin) })
	return emuDesc
}

func describeEmulator(bin string) string {
	f, err := elf.Open(bin)
	if err != nil {
		return "" // not ELF: a script or the like runs natively
	}
	machine := f.Machine
	f.Close()
	for _, m := range hostMachines[runtime.GOARCH] {
		if m == machine {
			return ""
		}
	}
	desc := fmt.Sprintf("an %v binary on %s", machine, runtime.GOARCH)
	name, ok := qemuNames[machine]
	if !ok {
		return desc
	}
	handler, err := os.ReadFile("/proc/sys/fs/binfmt_misc/qemu-" + name)
	if err != nil {
		return desc
	}
	for _, line := range strings.Split(string(handler), "\n") {
		interp, ok := strings.CutPrefix(line, "interpreter ")
		if !ok {
			continue
		}
		// Debian's interpreter is a link to qemu-NAME-static, which
		// answers --version when called by its own name.
		real, err := filepath.EvalSymlinks(interp)
		if err != nil {
			real = interp
		}
		out, _ := exec.Command(real, "--version").Output()
		version, _, _ := strings.Cut(string(out), " (")
		version, _, _ = strings.Cut(version, "\n")
		if version == "" {
			version = filepath.Base(real)
		}
		return desc + ", run by " + version + " through binfmt_misc"
	}
	return desc
}

// SkipIfEmulated skips the test when the init under test is emulated,
// with one line naming the emulator and limit, the thing it does not do
// as the kernel does.
func SkipIfEmulated(t testing.TB, limit string) {
	t.Helper()
	if emu := Emulator(t); emu != "" {
		t.Skipf("skipping: the init is %s, and %s", emu, limit)
	}
}

var (
	subreaperOnce    sync.Once
	subreaperRefusal string
)

// SkipIfNoSubreaper skips the test when the init under test is emulated
// and cannot become a child subreaper: qemu-user 7.2 does not emulate
// prctl(PR_SET_CHILD_SUBREAPER) and fails it with EINVAL. It asks the
// init itself, once: `INIT -s -- true` as an ordinary process, whose
// complaint names the prctl. Natively it never skips.
func SkipIfNoSubreaper(t testing.TB) {
	t.Helper()
	if !Emulated(t) {
		return
	}
	bin := Init(t)
	subreaperOnce.Do(func() {
		var stderr bytes.Buffer
		cmd := exec.Command(bin, "-s", "--", "true")
		cmd.Stderr = &stderr
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		cmd.WaitDelay = 10 * time.Second
		_ = cmd.Run()
		if line := strings.TrimSpace(stderr.String()); strings.Contains(line, "PR_SET_CHILD_SUBREAPER") {
			subreaperRefusal = line
		}
	})
	if subreaperRefusal != "" {
		SkipIfEmulated(t, "the emulator refuses PR_SET_CHILD_SUBREAPER (qemu-user 7.2 fails it with EINVAL; reaper-init -s said: "+subreaperRefusal+")")
	}
}

// RunsInit reports whether process pid runs the reaper-init binary under
// test. Natively its /proc/PID/exe is the binary; under qemu-user it is
// the emulator, and the binary is the emulator's first argument (binfmt_misc
// passes the interpreter, the binary's path, then the original argv).
func RunsInit(t testing.TB, pid int) bool {
	t.Helper()
	bin, err := filepath.EvalSymlinks(Init(t))
	if err != nil {
		bin = Init(t)
	}
	proc := "/proc/" + strconv.Itoa(pid)
	if exe, err := os.Readlink(proc + "/exe"); err == nil && exe == bin {
		return true
	}
	if !Emulated(t) {
		return false
	}
	cmdline, err := os.ReadFile(proc + "/cmdline")
	if err != nil {
		return false
	}
	argv := strings.Split(string(cmdline), "\x00")
	return len(argv) > 1 && (argv[1] == bin || argv[1] == Init(t))
}
