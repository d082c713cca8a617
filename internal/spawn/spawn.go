// Package spawn starts the init's one child: the container's real
// entrypoint, in a process group of its own, in the foreground of the
// terminal when there is one, in the caller's working directory, with a
// clean signal state.
//
// # Two ways to start
//
// [Start] forks in one of two ways. The usual one is syscall.ForkExec
// (vfork-like: the child borrows the init's memory until it has
// executed). ForkExec has no hook between fork and exec, and some starts
// need one; those take the raw path instead: a fork (a copy-on-write
// copy of the init) made and driven by one small function of raw system
// calls that does, in the child, exactly what the start needs and
// nothing else. It is taken when, and only when:
//
//   - the child is to see its own PID in LISTEN_PID (see below);
//   - the calling thread's signal mask is not empty;
//   - some signal's disposition is SIG_IGN;
//   - the working directory can be reached by no path (see [Dir]).
//
// Start checks them before every fork (some 65 cheap system calls, about
// 10µs); the raw path then costs a fork's copy of the init's page tables
// more than ForkExec (BenchmarkStart).
//
// # A clean start
//
// The child starts with no signal blocked and every disposition at
// SIG_DFL. exec resets a handled signal to the default, but a blocked
// signal and an ignored one stay as they are (catatonit's podman#18095
// was a blocked SIGTSTP passed on to every container). On the ForkExec
// path the child gets the forking thread's mask and the dispositions the
// runtime does not reset; that path is taken only when both are already
// clean. Otherwise the raw path blocks every signal on the forking
// thread, forks, and in the child sets every disposition to SIG_DFL
// before it clears the mask, right before exec: no handler of the init
// ever runs in the child, and the init itself never changes a
// disposition, not even for a moment.
//
// # The terminal
//
// When stdin is the init's controlling terminal (docker run -t), the
// child's process group is made the terminal's foreground group, so that
// the shell can read it and Ctrl-C goes to the shell's group. The child
// does this itself between fork and exec (tcsetpgrp, with signals still
// blocked, so that the background-group SIGTTOU cannot stop it), as tini
// does. Without a terminal nothing is attempted.
//
// # The working directory
//
// The init must not keep the caller's directory (a mount) busy, and the
// child must start in it. The init moves to "/" with [LeaveWorkingDir]
// before the fork, keeping a descriptor of the old directory, and the
// child starts there ([Options.Dir]), even if the directory has been
// renamed or deleted since. Moving after the fork would leave a window in
// which the child (or anything it starts) sees the init still in the old
// directory: ForkExec returns only once the child has executed.
//
// # Socket activation
//
// With [Options.RewriteListenPID], a LISTEN_PID in the environment that
// names the init (systemd socket activation, podman's --preserve-fds,
// where it is 1) is rewritten in the child to name the child, as
// catatonit does: sd_listen_fds ignores descriptors passed to another
// PID. The child's PID is known only in the child, so it writes it
// there, into a buffer made for it before the fork. LISTEN_PIDFDID
// (systemd 256 and later) also names the target by its pidfd inode ID,
// which unlike a PID is never reused. When it is set:
//
//   - if it names another process than the init, the descriptors were
//     not meant for the init, and nothing is rewritten (the child ignores
//     them, as the init would have);
//   - if it names the init, the child replaces it with its own ID, found
//     the way systemd finds it (a pidfs file handle of a pidfd of itself,
//     or on 64-bit systems its inode number); should that fail in the
//     child, the variable is dropped, and the child's check falls back
//     to LISTEN_PID alone, as before systemd 256;
//   - if the init cannot tell (no pidfs before Linux 6.9, pidfd_open
//     refused), it is left as it is: the child cannot tell either, and
//     sd_listen_fds then skips the check.
//
// Without LISTEN_PID naming the init, the environment is passed as it is.
package spawn

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Exit codes for a command that cannot be started, as a shell reports them.
const (
	CodeNotFound      = 127
	CodeNotExecutable = 126
	CodeFailed        = 1
)

// Error is a failure to start the child.
type Error struct {
	Name string // the command as given
	Err  error  // the cause: a unix.Errno from exec or the fork, or an *os.SyscallError from the child's set-up
}

func (e *Error) Error() string { return "exec " + e.Name + ": " + e.Err.Error() }

func (e *Error) Unwrap() error { return e.Err }

// Code is the exit code the init reports for e: 127 for a command that
// does not exist, 126 for one that cannot be executed, 1 otherwise (the
// fork itself failed, or the child could not be set up to execute it).
func (e *Error) Code() int {
	switch e.Err {
	case unix.ENOENT, unix.ENOTDIR, unix.ENAMETOOLONG, unix.ELOOP:
		return CodeNotFound
	case unix.EACCES, unix.EPERM, unix.ENOEXEC, unix.EISDIR, unix.ETXTBSY:
		return CodeNotExecutable
	}
	return CodeFailed
}

// DefaultPath is searched when PATH is unset, as execvp does.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// LookPath finds the executable for name the way execvp does: a name with
// a slash is used as it is; otherwise each directory of path is tried in
// turn (an empty entry means the working directory). A file found without
// execute permission is reported only if nothing better turns up.
func LookPath(name, path string) (string, error) {
	return lookPathAt(unix.AT_FDCWD, name, path)
}

// lookPathAt is LookPath with relative directories of path taken from
// dirfd, the directory the child will start in.
func lookPathAt(dirfd int, name, path string) (string, error) {
	if name == "" {
		return "", unix.ENOENT
	}
	if strings.Contains(name, "/") {
		return name, nil
	}
	denied := false
	for _, dir := range strings.Split(path, ":") {
		if dir == "" {
			dir = "."
		}
		file := dir + "/" + name
		var st unix.Stat_t
		if err := unix.Fstatat(dirfd, file, &st, 0); err != nil {
			if err == unix.EACCES {
				denied = true
			}
			continue
		}
		if st.Mode&unix.S_IFMT != unix.S_IFREG {
			denied = true
			continue
		}
		if unix.Faccessat(dirfd, file, unix.X_OK, 0) != nil {
			denied = true
			continue
		}
		return file, nil
	}
	if denied {
		return "", unix.EACCES
	}
	return "", unix.ENOENT
}

// Options says how the child starts. The zero value starts it in the
// caller's working directory with the environment exactly as given.
type Options struct {
	// Dir is the directory the child starts in, from LeaveWorkingDir; nil
	// means the caller's working directory.
	Dir *Dir
	// RewriteListenPID makes a LISTEN_PID of env that names the caller
	// name the child instead (see the package documentation).
	RewriteListenPID bool
	// Handled is the signals (bit sig-1) the caller knows to have a
	// handler of its own, which exec resets: Start need not ask the
	// kernel whether they are ignored (a system call each).
	Handled uint64
}

// forkPath is how Start forks.
type forkPath int

const (
	pathAuto     forkPath = iota // whichever the start needs
	pathForkExec                 // syscall.ForkExec
	pathRaw                      // forkExecRaw
)

// Start starts argv[0] with arguments argv and environment env in a new
// process group, in opt.Dir (the caller's working directory without
// one), with the caller's descriptors. It returns the child's PID, which
// is also its process group ID, once the child has executed the program.
// The child is not waited for: the caller's reap loop does that. On
// failure no child is left behind, and the error is an *Error.
func Start(argv, env []string, opt Options) (int, error) {
	return start(argv, env, opt, pathAuto)
}

func start(argv, env []string, opt Options, path forkPath) (int, error) {
	if len(argv) == 0 {
		return 0, &Error{Name: "", Err: unix.ENOENT}
	}
	pathEnv, ok := os.LookupEnv("PATH")
	if !ok {
		pathEnv = DefaultPath
	}
	if opt.Dir != nil && !opt.Dir.usable() {
		return 0, &Error{Name: argv[0], Err: os.ErrClosed}
	}
	dirfd := unix.AT_FDCWD
	if opt.Dir.usable() {
		dirfd = opt.Dir.fd
	}
	file, err := lookPathAt(dirfd, argv[0], pathEnv)
	if err != nil {
		return 0, &Error{Name: argv[0], Err: err}
	}
	var listen *listenPlan
	if opt.RewriteListenPID {
		listen = planListen(env, os.Getpid(), ownPidfdID)
	}
	if path == pathAuto {
		path = pathForkExec
		if listen != nil || (opt.Dir.usable() && opt.Dir.path == "") || !cleanSignalState(opt.Handled) {
			path = pathRaw
		}
	}

	job := &job{
		file:       file,
		argv:       argv,
		env:        env,
		stdio:      stdFiles(),
		foreground: IsControllingTerminal(0),
		dir:        opt.Dir,
		listen:     listen,
	}
	var pid int
	if path == pathRaw {
		pid, err = job.startRaw()
	} else {
		pid, err = job.startForkExec()
	}
	if err != nil {
		return 0, &Error{Name: argv[0], Err: err}
	}
	return pid, nil
}

// job is one start, as both paths need it.
type job struct {
	file       string   // the program, as execve takes it
	argv, env  []string // as given
	stdio      []uintptr
	foreground bool // the child takes the terminal on descriptor 0
	dir        *Dir
	listen     *listenPlan // nil: the environment goes as it is
}

// startForkExec starts the child with syscall.ForkExec. The caller has
// made sure that the signal state is clean, that there is nothing to
// rewrite and that the directory has a path.
func (j *job) startForkExec() (int, error) {
	attr := &syscall.ProcAttr{
		Env:   j.env,
		Files: j.stdio,
		Sys:   &syscall.SysProcAttr{Setpgid: true},
	}
	if j.dir.usable() {
		attr.Dir = j.dir.path
	}
	if j.foreground {
		attr.Sys.Foreground = true
		attr.Sys.Ctty = 0
	}
	pid, err := syscall.ForkExec(j.file, j.argv, attr)
	if err != nil {
		return 0, err
	}
	return pid, nil
}

// cleanSignalState reports whether a child forked by syscall.ForkExec
// from this thread would start with a clean signal state: no signal
// blocked on the thread (the child would inherit its mask) and none
// ignored (ForkExec resets the runtime's handlers, and exec every
// handler, but an ignored signal stays ignored). With the signals package
// catching everything it can, only the signals 32 to 34 that the C
// library and the Go runtime reserve can be ignored, when the init
// inherited them so.
//
// The mask read is the calling thread's, and nothing keeps the caller on
// that thread until ForkExec forks: the init locks no goroutine to its
// thread (see fork.go). What makes it matter little is that the threads
// agree. The code that blocks signals for a moment (forkExecRaw,
// rawsys.TcsetpgrpMasked, package logx's writes to stderr) puts the mask
// back within one nosplit function, which cannot be preempted or moved
// in between; a mask is set for good only by the runtime, which starts
// every thread with the mask the process started with, and by package
// catch, which clears the mask of the thread its initialiser runs on,
// the main thread, and of no other. With nothing blocked at start, every
// thread's mask is empty and a move changes nothing. With signals blocked
// at start, a read on any other thread sees them and the raw path is
// taken; only a read on the main thread followed by a move to another
// thread before the fork would give the child the inherited mask.
func cleanSignalState(handled uint64) bool {
	var mask sigset
	if _, _, e := unix.RawSyscall6(unix.SYS_RT_SIGPROCMASK, unix.SIG_BLOCK, 0,
		uintptr(unsafe.Pointer(&mask)), sigsetBytes, 0, 0); e != 0 || mask != (sigset{}) {
		return false
	}
	return firstIgnored(handled) == 0
}

// firstIgnored returns the first signal whose disposition is SIG_IGN, or
// 0 when there is none. The signals in handled are known not to be.
func firstIgnored(handled uint64) int {
	var old kernelSigaction
	for sig := 1; sig <= nsig; sig++ {
		if sig == int(unix.SIGKILL) || sig == int(unix.SIGSTOP) || handled&(1<<(sig-1)) != 0 {
			continue
		}
		_, _, e := unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig), 0,
			uintptr(unsafe.Pointer(&old)), sigsetBytes, 0, 0)
		if e == 0 && old.handler() == sigIGN {
			return sig
		}
	}
	return 0
}

const sigIGN = 1

// kernelSigaction holds the kernel's struct sigaction, whatever its
// layout: room enough on every architecture. All zero, it is SIG_DFL
// with no flags and an empty mask.
type kernelSigaction [8]uint64

// handler returns sa_handler.
func (a *kernelSigaction) handler() uintptr {
	return *(*uintptr)(unsafe.Add(unsafe.Pointer(a), handlerOffset))
}

// stdFiles passes descriptors 0, 1 and 2 to the child as they are, and
// leaves closed any that the init did not have open. Inherited descriptors
// above 2 without close-on-exec reach the child too, as with execvp.
func stdFiles() []uintptr {
	files := []uintptr{0, 1, 2}
	for fd := range files {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil {
			files[fd] = ^uintptr(0)
		}
	}
	return files
}

// IsControllingTerminal reports whether fd is the caller's controlling
// terminal (TIOCGPGRP fails with ENOTTY for any other descriptor): Start
// then makes the child's group its foreground group.
func IsControllingTerminal(fd int) bool {
	_, err := unix.IoctlGetInt(fd, unix.TIOCGPGRP)
	return err == nil
}

// ReleaseInherited is what the init does once the child runs: it closes
// every descriptor above 2 that it inherited without close-on-exec.
// Those belong to the child now (a pipe's write end kept open by the init
// would keep the reader from ever seeing end-of-file). The Go runtime's
// own descriptors are close-on-exec and stay open, and so does a [Dir].
// (The init has left its working directory before the fork, with
// [LeaveWorkingDir].)
func ReleaseInherited() {
	for _, fd := range openDescriptors() {
		if fd <= 2 {
			continue
		}
		flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		if err == nil && flags&unix.FD_CLOEXEC == 0 {
			_ = unix.Close(fd)
		}
	}
}

// openDescriptors lists the caller's open descriptors from /proc/self/fd,
// or, without /proc, all numbers below a fixed bound. It reads the
// directory with getdents directly: an os.File would start the runtime's
// network poller for nothing.
func openDescriptors() []int {
	dir, err := unix.Open("/proc/self/fd", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		fds := make([]int, 0, 1024)
		for fd := 0; fd < 1024; fd++ {
			fds = append(fds, fd)
		}
		return fds
	}
	defer unix.Close(dir)
	var fds []int
	var buf [4096]byte
	for {
		n, err := unix.Getdents(dir, buf[:])
		if err == unix.EINTR {
			continue
		}
		if err != nil || n <= 0 {
			return fds
		}
		_, _, names := unix.ParseDirent(buf[:n], -1, nil)
		for _, name := range names {
			if fd, err := strconv.Atoi(name); err == nil && fd != dir {
				fds = append(fds, fd)
			}
		}
	}
}
