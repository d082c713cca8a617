// Package spawn starts the init's one child: the container's real
// entrypoint, in a process group of its own, in the foreground of the
// terminal when there is one, with a clean signal state.
//
// # A clean start
//
// The child's signal handlers are reset by exec for every signal the init
// catches, and the init catches all it can (package signals), so no
// SIG_IGN leaks into the child. The signal mask survives exec, and the
// init may have inherited a mask with signals blocked (catatonit's
// podman#18095 was a blocked SIGTSTP passed on to every container). A
// forked child gets the mask of the thread that forked it, so [Start]
// clears the mask on a locked thread around the fork when it is not empty.
//
// # The terminal
//
// When stdin is the init's controlling terminal (docker run -t), the
// child's process group is made the terminal's foreground group, so that
// the shell can read it and Ctrl-C goes to the shell's group. The child
// does this itself between fork and exec (tcsetpgrp, with signals still
// blocked, so that the background-group SIGTTOU cannot stop it), as tini
// does. Without a terminal nothing is attempted.
package spawn

import (
	"os"
	"runtime"
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
	Err  error  // the cause, usually a unix.Errno
}

func (e *Error) Error() string { return "exec " + e.Name + ": " + e.Err.Error() }

func (e *Error) Unwrap() error { return e.Err }

// Code is the exit code the init reports for e: 127 for a command that
// does not exist, 126 for one that cannot be executed, 1 otherwise (the
// fork itself failed).
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
		if err := unix.Stat(file, &st); err != nil {
			if err == unix.EACCES {
				denied = true
			}
			continue
		}
		if st.Mode&unix.S_IFMT != unix.S_IFREG {
			denied = true
			continue
		}
		if unix.Access(file, unix.X_OK) != nil {
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

// Options are the choices of StartWith.
type Options struct {
	// Dir is the child's working directory; "" is the caller's.
	Dir string
}

// Start starts argv[0] with arguments argv and environment env in a new
// process group, in the caller's working directory, with the caller's
// descriptors. It returns the child's PID, which is also its process
// group ID. The child is not waited for: the caller's reap loop does that.
func Start(argv, env []string) (int, error) { return StartWith(argv, env, Options{}) }

// StartWith is Start with options.
func StartWith(argv, env []string, opt Options) (int, error) {
	if len(argv) == 0 {
		return 0, &Error{Name: "", Err: unix.ENOENT}
	}
	pathEnv, ok := os.LookupEnv("PATH")
	if !ok {
		pathEnv = DefaultPath
	}
	file, err := LookPath(argv[0], pathEnv)
	if err != nil {
		return 0, &Error{Name: argv[0], Err: err}
	}
	attr := &syscall.ProcAttr{
		Env:   env,
		Files: stdFiles(),
		Sys:   &syscall.SysProcAttr{Setpgid: true},
		Dir:   opt.Dir,
	}
	if IsControllingTerminal(0) {
		attr.Sys.Foreground = true
		attr.Sys.Ctty = 0
	}

	var mask unix.Sigset_t
	if err := unix.PthreadSigmask(unix.SIG_BLOCK, nil, &mask); err != nil || mask != (unix.Sigset_t{}) {
		// The child inherits this thread's mask: clear it for the fork,
		// on a thread that stays ours until the mask is back.
		runtime.LockOSThread()
		empty := unix.Sigset_t{}
		_ = unix.PthreadSigmask(unix.SIG_SETMASK, &empty, &mask)
		defer func() {
			_ = unix.PthreadSigmask(unix.SIG_SETMASK, &mask, nil)
			runtime.UnlockOSThread()
		}()
	}
	// Dispositions nobody in the init handles (the signals the C library
	// and the Go runtime reserve, 32 to 34) keep an inherited SIG_IGN
	// across fork and exec: set them to the default for the fork only.
	ignored := defaultIgnored()
	pid, err := syscall.ForkExec(file, argv, attr)
	restoreIgnored(ignored)
	if err != nil {
		return 0, &Error{Name: argv[0], Err: err}
	}
	return pid, nil
}

// sigaction is the kernel's struct sigaction on Linux.
type sigaction struct {
	handler, flags, restorer uintptr
	mask                     uint64
}

const (
	sigDFL = 0
	sigIGN = 1
)

func rtSigaction(sig int, act, old *sigaction) bool {
	_, _, errno := unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig),
		uintptr(unsafe.Pointer(act)), uintptr(unsafe.Pointer(old)), 8, 0, 0)
	return errno == 0
}

// defaultIgnored sets the disposition of each of the reserved signals 32
// to 34 to the default when it is SIG_IGN, and returns a bit set of the
// signals it changed. (Every other signal has a handler of the init's or
// the runtime's, which exec resets.)
func defaultIgnored() (changed uint64) {
	for sig := 32; sig <= 34; sig++ {
		var old sigaction
		if !rtSigaction(sig, nil, &old) || old.handler != sigIGN {
			continue
		}
		if rtSigaction(sig, &sigaction{handler: sigDFL}, nil) {
			changed |= 1 << (sig - 1)
		}
	}
	return changed
}

// restoreIgnored undoes defaultIgnored.
func restoreIgnored(changed uint64) {
	for sig := 1; changed != 0; sig++ {
		if changed&1 != 0 {
			rtSigaction(sig, &sigaction{handler: sigIGN}, nil)
		}
		changed >>= 1
	}
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
// terminal: TIOCGPGRP fails with ENOTTY for any other descriptor.
func IsControllingTerminal(fd int) bool {
	_, err := unix.IoctlGetInt(fd, unix.TIOCGPGRP)
	return err == nil
}

// ReleaseInherited is what the init does once the child runs: it closes
// every descriptor above 2 that it inherited without close-on-exec. Those belong to the child now
// (a pipe's write end kept open by the init would keep the reader from
// ever seeing end-of-file). The Go runtime's own descriptors are
// close-on-exec and stay open.
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

// LeaveCwd moves the caller to "/", so that it holds no mount busy, and
// returns the directory it left, for the child to start in. It moves
// before the child starts: the child may look at the init's directory at
// once. When the directory cannot be named (it was deleted) it stays
// where it is and returns "".
func LeaveCwd() string {
	dir, err := os.Getwd()
	if err != nil || dir == "/" {
		return ""
	}
	if unix.Chdir("/") != nil {
		return ""
	}
	return dir
}
