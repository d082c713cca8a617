package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The runtime-* subcommands serve the tests of reaper-init in the init
// slots that container runtimes fill (docker run --init, podman --init,
// pod infra containers) and on platforms that refuse a subreaper:
//
//	runtime-listenpid         print "pid=P LISTEN_PID=V LISTEN_FDS=F" (V and
//	                          F "unset" when the variable is not set) and
//	                          exit 0
//	runtime-env NAME...       print "NAME=VALUE" or "NAME unset" for each
//	                          NAME, one a line, and exit 0
//	runtime-nosubreaper CMD [ARGS...]
//	                          install a seccomp filter under which
//	                          prctl(PR_SET_CHILD_SUBREAPER) fails with
//	                          EPERM (as on AWS Lambda), check that it does,
//	                          and exec CMD with it in force
func init() {
	commands["runtime-listenpid"] = runtimeListenPID
	commands["runtime-env"] = runtimeEnv
	commands["runtime-nosubreaper"] = runtimeNoSubreaper
}

// runtimeLookup returns the value of the environment variable name, or
// "unset".
func runtimeLookup(name string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return "unset"
}

func runtimeListenPID(args []string) int {
	if len(args) != 0 {
		fmt.Fprintln(os.Stderr, "usage: runtime-listenpid")
		return 2
	}
	fmt.Printf("pid=%d LISTEN_PID=%s LISTEN_FDS=%s\n", os.Getpid(), runtimeLookup("LISTEN_PID"), runtimeLookup("LISTEN_FDS"))
	return 0
}

func runtimeEnv(args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: runtime-env NAME...")
		return 2
	}
	for _, name := range args {
		if v, ok := os.LookupEnv(name); ok {
			fmt.Printf("%s=%s\n", name, v)
		} else {
			fmt.Printf("%s unset\n", name)
		}
	}
	return 0
}

// runtimeAuditArch is the AUDIT_ARCH value of the architecture this
// program was built for: a seccomp filter must check it before it trusts
// a system call number.
func runtimeAuditArch() (uint32, error) {
	switch runtime.GOARCH {
	case "amd64":
		return unix.AUDIT_ARCH_X86_64, nil
	case "arm64":
		return unix.AUDIT_ARCH_AARCH64, nil
	case "386":
		return unix.AUDIT_ARCH_I386, nil
	case "arm":
		return unix.AUDIT_ARCH_ARM, nil
	case "ppc64le":
		return unix.AUDIT_ARCH_PPC64LE, nil
	case "s390x":
		return unix.AUDIT_ARCH_S390X, nil
	case "riscv64":
		return unix.AUDIT_ARCH_RISCV64, nil
	}
	return 0, fmt.Errorf("no seccomp architecture known for %s", runtime.GOARCH)
}

// runtimeDenySubreaper installs a seccomp filter that fails
// prctl(PR_SET_CHILD_SUBREAPER, ...) with EPERM and allows everything
// else. The filter is inherited by every child and survives execve.
func runtimeDenySubreaper() error {
	arch, err := runtimeAuditArch()
	if err != nil {
		return err
	}
	// struct seccomp_data: int nr; __u32 arch; __u64 instruction_pointer;
	// __u64 args[6]. The low half of args[0] is at offset 16 on
	// little-endian machines and 20 on big-endian ones.
	arg0 := uint32(16)
	if runtime.GOARCH == "s390x" {
		arg0 = 20
	}
	const (
		ldAbs = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
		jeq   = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
		ret   = unix.BPF_RET | unix.BPF_K
	)
	prog := []unix.SockFilter{
		{Code: ldAbs, K: 4},                          // A = arch
		{Code: jeq, Jt: 1, Jf: 0, K: arch},           // other arch: allow
		{Code: ret, K: unix.SECCOMP_RET_ALLOW},       //
		{Code: ldAbs, K: 0},                          // A = nr
		{Code: jeq, Jt: 0, Jf: 3, K: unix.SYS_PRCTL}, // not prctl: allow
		{Code: ldAbs, K: arg0},                       // A = option
		{Code: jeq, Jt: 0, Jf: 1, K: unix.PR_SET_CHILD_SUBREAPER},
		{Code: ret, K: unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)},
		{Code: ret, K: unix.SECCOMP_RET_ALLOW},
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	// Without CAP_SYS_ADMIN a filter needs no_new_privs; with it, setting
	// the flag costs nothing here.
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl(PR_SET_NO_NEW_PRIVS): %w", err)
	}
	// The filter must cover every thread: the Go runtime runs on several,
	// and execve may be called from any of them.
	if _, _, e := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&fprog))); e != 0 {
		return fmt.Errorf("seccomp(SECCOMP_SET_MODE_FILTER): %w", e)
	}
	runtime.KeepAlive(prog)
	// Check that it bites: a filter that let the call through would make
	// the tests pass for the wrong reason.
	err = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
	if !errors.Is(err, unix.EPERM) {
		return fmt.Errorf("prctl(PR_SET_CHILD_SUBREAPER) under the filter: got %v, want EPERM", err)
	}
	return nil
}

func runtimeNoSubreaper(args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: runtime-nosubreaper CMD [ARGS...]")
		return 2
	}
	path, err := exec.LookPath(args[0])
	if err != nil {
		return coreFail("runtime-nosubreaper", err)
	}
	// One thread must do both: the filter is synchronised to all threads,
	// but keeping to one makes the order of the two calls certain.
	runtime.LockOSThread()
	if err := runtimeDenySubreaper(); err != nil {
		return coreFail("runtime-nosubreaper", err)
	}
	err = syscall.Exec(path, args, os.Environ())
	return coreFail("runtime-nosubreaper", fmt.Errorf("exec %s: %w", path, err))
}
