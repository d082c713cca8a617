package spawn

import (
	"os"
	"runtime"
	"syscall"
	"unsafe"

	"github.com/reaper-init/reaper-init/internal/rawsys"
	"golang.org/x/sys/unix"
)

// The raw path: a fork without the runtime's help, for the starts that
// need something done in the child between fork and exec that
// syscall.ForkExec cannot do (see the package documentation).
//
// The fork is a clone with only SIGCHLD as flags: a plain fork, which
// every architecture has (arm64 and riscv64 have no fork system call).
// The child is a copy-on-write copy of the init with one thread, and it
// runs Go code, so that code must not need the runtime: it runs on the
// copy of the forking goroutine's stack, which cannot grow (no function
// with a stack check may be called: everything is nosplit down to the
// system calls), it must not allocate, take a lock or store a pointer
// into the heap (a write barrier), and no signal handler of the init's
// may run in it. Everything it needs is prepared by the parent in a
// forkState before the fork, and it only reads that memory and writes
// integers into its own copy of it (TestRawChildCalls checks the compiled
// code for calls). Unlike vfork, a fork leaves the parent's memory and
// stack alone, so the child may return from the clone and make calls
// without corrupting frames the parent will return through, which Go's
// own vfork path needs assembly for on every architecture; the price is
// the copy of the page tables and the copy-on-write faults until the
// child has executed (BenchmarkStart measures both paths).
//
// Every signal is blocked on the forking thread from before the clone
// until the parent is back from it, so the child starts with every signal
// blocked, and the goroutine cannot be preempted or moved to another
// thread in between (no signal reaches the thread, there is no stack
// check to stop at, and raw system calls do not enter the scheduler): the
// mask the parent puts back is the one this thread had. This is done in
// one nosplit function rather than around a runtime.LockOSThread, which
// would start the runtime's template thread for good.

// sigset is the kernel's signal set; sigsetBytes of it are used.
type sigset [2]uint64

// envBuf is an environment entry that the child completes: a name and
// "=", then (written by the child) a decimal number and a NUL. 64 bytes
// hold the longest, LISTEN_PIDFDID= and 20 digits.
type envBuf [64]byte

const (
	listenPIDPrefix = "LISTEN_PID="
	listenIDPrefix  = "LISTEN_PIDFDID="
)

// What the child was doing when it failed, as it reports it.
const (
	stageExec int32 = iota
	stageSetpgid
	stageForeground
	stageChdir
	stageStdio
	stageCount
)

var stageOps = [stageCount]string{
	stageExec:       "execve",
	stageSetpgid:    "setpgid",
	stageForeground: "tcsetpgrp",
	stageChdir:      "fchdir",
	stageStdio:      "fcntl",
}

// forkState is all the memory the child of the raw path uses.
type forkState struct {
	argv0 *byte
	argv  **byte // NULL-terminated
	envp  **byte // NULL-terminated
	// envpNoID is envp without LISTEN_PIDFDID, for a child that cannot
	// find its own pidfd ID.
	envpNoID **byte

	dirFD      int     // fchdir to it when >= 0
	foreground bool    // make the child's group the foreground group of descriptor 0's terminal
	stdio      [3]bool // which of descriptors 0 to 2 are open (to clear their close-on-exec flag)

	pid      *envBuf // LISTEN_PID=, for the child's PID; nil: no rewrite
	id       *envBuf // LISTEN_PIDFDID=, for the child's pidfd ID; nil: none
	idMethod idMethod

	pipe int // the write end of the error pipe (close-on-exec)

	all, none, saved sigset
	dfl              kernelSigaction // all zero: SIG_DFL
	pgrp             int32
	report           [2]int32 // stage, errno: what a failing child writes to the pipe
	scratch          pidfdScratch
}

// startRaw starts the child on the raw path.
func (j *job) startRaw() (int, error) {
	argv0, err := syscall.BytePtrFromString(j.file)
	if err != nil {
		return 0, err
	}
	argv, err := syscall.SlicePtrFromStrings(j.argv)
	if err != nil {
		return 0, err
	}
	s := &forkState{
		argv0:      argv0,
		argv:       &argv[0],
		dirFD:      -1,
		foreground: j.foreground,
		pipe:       -1,
		all:        sigset{^uint64(0), ^uint64(0)},
	}
	for fd := range s.stdio {
		s.stdio[fd] = j.stdio[fd] != ^uintptr(0)
	}
	if j.dir.usable() {
		s.dirFD = j.dir.fd
	}

	envv, err := syscall.SlicePtrFromStrings(j.env)
	if err != nil {
		return 0, err
	}
	noID := envv
	if l := j.listen; l != nil {
		s.pid = newEnvBuf(listenPIDPrefix)
		envv[l.pidEntry] = &s.pid[0]
		if l.idEntry >= 0 {
			s.id = newEnvBuf(listenIDPrefix)
			s.idMethod = l.idMethod
			envv[l.idEntry] = &s.id[0]
			noID = make([]*byte, 0, len(envv)-1)
			noID = append(noID, envv[:l.idEntry]...)
			noID = append(noID, envv[l.idEntry+1:]...)
		}
	}
	s.envp, s.envpNoID = &envv[0], &noID[0]

	var p [2]int
	syscall.ForkLock.Lock()
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		syscall.ForkLock.Unlock()
		return 0, err
	}
	s.pipe = p[1]
	pid, errno := forkExecRaw(s)
	syscall.ForkLock.Unlock()
	unix.Close(p[1])
	// The child has its own copy of all this; the parent's may go now.
	runtime.KeepAlive(envv)
	runtime.KeepAlive(noID)
	runtime.KeepAlive(argv)
	runtime.KeepAlive(argv0)
	if errno != 0 {
		unix.Close(p[0])
		return 0, errno
	}

	var report [2]int32
	n := readFull(p[0], unsafe.Slice((*byte)(unsafe.Pointer(&report)), unsafe.Sizeof(report)))
	unix.Close(p[0])
	if n == 0 {
		return int(pid), nil // the pipe closed on exec
	}
	// The child failed and exits: reap it here, its start is undone.
	var ws unix.WaitStatus
	_, _ = rawsys.Wait4(int(pid), &ws, 0)
	stage, cause := report[0], syscall.Errno(report[1])
	switch {
	case n != len(report)*4 || cause == 0 || stage < 0 || stage >= stageCount:
		return 0, unix.EPIPE
	case stage == stageExec:
		return 0, cause
	}
	return 0, os.NewSyscallError(stageOps[stage], cause)
}

// newEnvBuf returns an envBuf that starts with prefix.
func newEnvBuf(prefix string) *envBuf {
	b := new(envBuf)
	copy(b[:], prefix)
	return b
}

// readFull reads into b from fd until b is full or the end of the file,
// and returns how much it read. The read is raw, as syscall.ForkExec's
// vfork is, and so is the wait for a child that failed: the goroutine
// keeps its thread and the scheduler stays out of it (no thread is handed
// the P and none is started) while the child executes.
func readFull(fd int, b []byte) int {
	n := 0
	for n < len(b) {
		m, err := rawsys.Read(fd, b[n:])
		if err != nil || m == 0 {
			break
		}
		n += m
	}
	return n
}

// forkExecRaw forks; the child sets itself up as s says and executes.
// It returns the child's PID, or the error of the fork itself, in the
// parent only. It calls nothing but syscall.RawSyscall6, which is nosplit
// because syscall.ForkExec's own child relies on it.
//
//go:nosplit
//go:norace
func forkExecRaw(s *forkState) (pid uintptr, err syscall.Errno) {
	_, _, err = syscall.RawSyscall6(unix.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK,
		uintptr(unsafe.Pointer(&s.all)), uintptr(unsafe.Pointer(&s.saved)), sigsetBytes, 0, 0)
	if err != 0 {
		return 0, err
	}
	if runtime.GOARCH == "s390x" {
		// On s390x, clone's first two arguments are swapped.
		pid, _, err = syscall.RawSyscall6(unix.SYS_CLONE, 0, uintptr(unix.SIGCHLD), 0, 0, 0, 0)
	} else {
		pid, _, err = syscall.RawSyscall6(unix.SYS_CLONE, uintptr(unix.SIGCHLD), 0, 0, 0, 0, 0)
	}
	if err != 0 || pid != 0 {
		syscall.RawSyscall6(unix.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK,
			uintptr(unsafe.Pointer(&s.saved)), 0, sigsetBytes, 0, 0)
		return pid, err
	}
	childExec(s)
	return 0, 0 // not reached
}

// childExec is the child of forkExecRaw. It never returns: it executes
// the program, or reports why it could not and exits.
//
//go:nosplit
//go:norace
func childExec(s *forkState) {
	var (
		err   syscall.Errno
		stage int32
		pid   uintptr
		sig   uintptr
		fd    uintptr
		pidfd uintptr
		id    uint64
		ok    bool
		envp  **byte
	)
	// Every signal is still blocked. Reset the dispositions before the
	// mask is cleared, so that a signal that arrives now finds the
	// default action, as it would after exec, and never a handler of
	// the init's (which would write into the init's signal pipe).
	for sig = 1; sig <= nsig; sig++ {
		if sig != uintptr(unix.SIGKILL) && sig != uintptr(unix.SIGSTOP) {
			syscall.RawSyscall6(unix.SYS_RT_SIGACTION, sig, uintptr(unsafe.Pointer(&s.dfl)), 0, sigsetBytes, 0, 0)
		}
	}

	stage = stageSetpgid
	if _, _, err = syscall.RawSyscall6(unix.SYS_SETPGID, 0, 0, 0, 0, 0, 0); err != 0 {
		goto fail
	}
	pid, _, _ = syscall.RawSyscall6(unix.SYS_GETPID, 0, 0, 0, 0, 0, 0)
	if s.foreground {
		// With SIGTTOU blocked, a background group may take the
		// terminal.
		stage = stageForeground
		s.pgrp = int32(pid)
		if _, _, err = syscall.RawSyscall6(unix.SYS_IOCTL, 0, uintptr(unix.TIOCSPGRP),
			uintptr(unsafe.Pointer(&s.pgrp)), 0, 0, 0); err != 0 {
			goto fail
		}
	}
	if s.dirFD >= 0 {
		stage = stageChdir
		if _, _, err = syscall.RawSyscall6(unix.SYS_FCHDIR, uintptr(s.dirFD), 0, 0, 0, 0, 0); err != 0 {
			goto fail
		}
	}
	stage = stageStdio
	for fd = 0; fd < 3; fd++ {
		if s.stdio[fd] {
			if _, _, err = syscall.RawSyscall6(unix.SYS_FCNTL, fd, unix.F_SETFD, 0, 0, 0, 0); err != 0 {
				goto fail
			}
		}
	}

	envp = s.envp
	if s.pid != nil {
		putDecimal(s.pid, len(listenPIDPrefix), uint64(pid))
	}
	if s.id != nil {
		envp = s.envpNoID
		pidfd, _, err = syscall.RawSyscall6(unix.SYS_PIDFD_OPEN, pid, 0, 0, 0, 0, 0)
		if err == 0 {
			id, ok = pidfdID(int(pidfd), s.idMethod, &s.scratch)
			syscall.RawSyscall6(unix.SYS_CLOSE, pidfd, 0, 0, 0, 0, 0)
			if ok {
				putDecimal(s.id, len(listenIDPrefix), id)
				envp = s.envp
			}
		}
	}

	// A signal pending now is delivered with its default action, as it
	// would be right after exec.
	syscall.RawSyscall6(unix.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK, uintptr(unsafe.Pointer(&s.none)), 0, sigsetBytes, 0, 0)
	stage = stageExec
	_, _, err = syscall.RawSyscall6(unix.SYS_EXECVE, uintptr(unsafe.Pointer(s.argv0)),
		uintptr(unsafe.Pointer(s.argv)), uintptr(unsafe.Pointer(envp)), 0, 0, 0)
	syscall.RawSyscall6(unix.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK, uintptr(unsafe.Pointer(&s.all)), 0, sigsetBytes, 0, 0)

fail:
	s.report[0], s.report[1] = stage, int32(err)
	syscall.RawSyscall6(unix.SYS_WRITE, uintptr(s.pipe), uintptr(unsafe.Pointer(&s.report)), unsafe.Sizeof(s.report), 0, 0, 0)
	for {
		syscall.RawSyscall6(unix.SYS_EXIT_GROUP, 253, 0, 0, 0, 0, 0)
	}
}

// pow10 are the powers of ten a uint64 can hold, largest first.
var pow10 = [20]uint64{
	1e19, 1e18, 1e17, 1e16, 1e15, 1e14, 1e13, 1e12, 1e11, 1e10,
	1e9, 1e8, 1e7, 1e6, 1e5, 1e4, 1e3, 1e2, 1e1, 1,
}

// putDecimal writes v in decimal and a NUL into b from index at. It
// subtracts rather than divides: on 32-bit systems a 64-bit division is
// a call into the runtime, which the child must not make.
//
//go:nosplit
//go:norace
func putDecimal(b *envBuf, at int, v uint64) {
	started := false
	for i := 0; i < len(pow10); i++ {
		d := byte('0')
		for v >= pow10[i] {
			v -= pow10[i]
			d++
		}
		if d != '0' || started || i == len(pow10)-1 {
			b[at&(len(b)-1)] = d
			at++
			started = true
		}
	}
	b[at&(len(b)-1)] = 0
}
