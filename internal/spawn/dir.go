package spawn

import (
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// Dir is a working directory the caller has left, held open for the
// child to start in. It is a descriptor of the directory (O_PATH, above
// 2, close-on-exec), not its name: the child starts in the very
// directory the caller was in even when its path has changed since, no
// longer leads to it (a rename, a mount over a parent), cannot be
// resolved at all (a deleted directory, where getcwd fails; a directory
// outside the caller's root), or crosses a directory the user cannot
// search. A nil *Dir stands for the caller's working directory.
type Dir struct {
	fd int // the descriptor; -1 once closed
	// path reaches the same directory through a name, for
	// syscall.ForkExec, which can only chdir: /proc/self/fd/N, which
	// follows the descriptor, or failing that (no /proc) the directory's
	// name from getcwd, if that still names it. Empty when neither does:
	// the child then changes to the directory with fchdir on the raw
	// path.
	path string
}

// LeaveWorkingDir moves the caller to "/", so that it keeps no mount
// busy, and returns the directory it was in, for [Options.Dir]. Call it
// before [Start]: the child must never see the init anywhere else than
// in "/". Close the Dir once the child has started.
//
// When the directory cannot be held (open fails: a directory the user
// cannot search) or "/" cannot be entered, the caller stays where it is
// and LeaveWorkingDir returns a nil *Dir, which starts the child there
// too, and the error, for a warning: the child's directory is right, the
// init keeps it busy.
func LeaveWorkingDir() (*Dir, error) {
	fd, err := openDir(".")
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: ".", Err: err}
	}
	d := &Dir{fd: fd}
	d.path = d.reachingPath()
	for {
		err = unix.Chdir("/")
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		d.Close()
		return nil, &os.PathError{Op: "chdir", Path: "/", Err: err}
	}
	return d, nil
}

// openDir opens the directory name as a descriptor above 2 that only
// names it (O_PATH), or, on kernels without O_PATH, one opened for
// reading.
func openDir(name string) (int, error) {
	var fd int
	var err error
	for _, flags := range []int{unix.O_PATH, unix.O_RDONLY} {
		for {
			fd, err = unix.Open(name, flags|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
			if err != unix.EINTR {
				break
			}
		}
		if err != unix.EINVAL {
			break
		}
	}
	if err != nil {
		return -1, err
	}
	if fd <= 2 {
		// A standard descriptor was closed: it must stay closed for the
		// child, not become its stdin.
		moved, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 3)
		unix.Close(fd)
		if err != nil {
			return -1, err
		}
		fd = moved
	}
	return fd, nil
}

// reachingPath returns a path that leads to d's directory (see
// Dir.path), or "".
func (d *Dir) reachingPath() string {
	var want unix.Stat_t
	if unix.Fstat(d.fd, &want) != nil {
		return ""
	}
	same := func(path string) bool {
		var st unix.Stat_t
		return unix.Stat(path, &st) == nil && st.Dev == want.Dev && st.Ino == want.Ino
	}
	if p := "/proc/self/fd/" + strconv.Itoa(d.fd); same(p) {
		return p
	}
	if wd, err := unix.Getwd(); err == nil && same(wd) {
		return wd
	}
	return ""
}

// usable reports whether d holds a directory (nil and a closed Dir do
// not).
func (d *Dir) usable() bool { return d != nil && d.fd >= 0 }

// Close closes the descriptor. A nil or closed Dir does nothing.
func (d *Dir) Close() error {
	if !d.usable() {
		return nil
	}
	err := unix.Close(d.fd)
	d.fd = -1
	if err != nil {
		return os.NewSyscallError("close", err)
	}
	return nil
}
