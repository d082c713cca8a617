package ending

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"

	"github.com/reaper-init/reaper-init/internal/rawsys"
	"golang.org/x/sys/unix"
)

// DefaultPath is where the kubelet mounts the termination-message file
// when the pod does not set terminationMessagePath.
const DefaultPath = "/dev/termination-log"

// Off, given as the path, turns the termination-message file off.
const Off = "off"

// createMode is the mode of a file created at an explicit path.
const createMode = 0o644

// Reasons a write leaves the file alone. They come wrapped in an
// *os.PathError naming the path.
var (
	// ErrNotEmpty: the file holds something the init did not write,
	// the application's own message: it is left as it is.
	ErrNotEmpty = errors.New("holds a message of its own: left alone")
	// ErrNotRegular: the path names a FIFO, a device, a directory or
	// a socket.
	ErrNotRegular = errors.New("not a regular file")
	// ErrSymlink: the path's last element is a symbolic link; nothing
	// is written through it.
	ErrSymlink = errors.New("a symbolic link: not followed")
	// ErrReadOnly: the file has no write permission bit set; even a
	// root init that could write it leaves it alone.
	ErrReadOnly = errors.New("has no write permission")
	// ErrChanged: the path named another file between two looks at it.
	ErrChanged = errors.New("replaced while opening it")
)

// File is the termination-message file: the file the kubelet reads when
// the container has ended and shows as its last state's message.
//
// The kubelet creates an empty file for every container and bind-mounts
// it at terminationMessagePath (by default DefaultPath). So the default
// path is used only when it already exists: it is never created (outside
// Kubernetes there is nothing to write to). An explicit path, one the
// user named, is created (mode 0644) when it is missing, for a pod that
// sets terminationMessagePath to where the image expects it; its parent
// directory must exist.
//
// A write goes in place, into the same inode (pwrite, then ftruncate to
// the length written): the kubelet's file is a bind mount and a rename
// over it would fail or, in a shared directory, leave the kubelet's file
// empty. It goes only into a file that is empty, or that holds exactly
// what this File wrote last (the provisional summary being replaced): a
// file holding anything else holds the application's own message, and is
// left alone. (A write by the application between that check and the
// init's write, a few microseconds, is the one case this cannot tell.)
//
// A write never blocks and never waits for the disk: the path is first
// opened with O_PATH|O_NOFOLLOW, which opens nothing for real (a FIFO
// with no reader cannot block it, a device's open is never run), and
// looked at with fstat; only a regular file with a write permission bit
// is then opened, O_NONBLOCK|O_NOFOLLOW, and checked to be the same file.
// There is no fsync. A full disk, a read-only file or mount, a FIFO, a
// symbolic link: the write returns an error at once and writes nothing
// through it. A symbolic link in a parent directory is followed: the
// writer never replaces content that is not its own, so a parent link
// can at most decide where an explicit path's new, empty file is made,
// and images do link /var/run to /run.
//
// The kubelet falls back to the tail of the container's log
// (terminationMessagePolicy: FallbackToLogsOnError) only when the file is
// empty: a pod that relies on that sees the summary instead when the
// application wrote nothing, unless the file is turned off.
//
// Errors are returned for the caller to log (at debug level: a missing
// file is the normal case outside Kubernetes); none of them changes how
// the init exits. The zero File is unusable; a nil *File (the file is
// off) writes nothing and returns nil. A File is not safe for concurrent
// use: the main loop owns it.
type File struct {
	path     string
	explicit bool
	buf      []byte       // the line being written, cap MaxLen
	ours     []byte       // what the file holds from our last write; nil: nothing of ours
	oursBuf  [MaxLen]byte // backing for ours
	cmp      [MaxLen]byte // the file's contents, read back to compare with ours
}

// NewFile returns the termination-message file at path. path is what the
// user gave (--termination-log PATH, REAPER_TERMINATION_LOG), and
// explicit says whether they gave it: "" means DefaultPath, not explicit,
// whatever explicit says; Off ("off") means no file, a nil *File. An
// explicit path must be absolute: the init leaves its working directory
// once the child runs.
func NewFile(path string, explicit bool) (*File, error) {
	switch {
	case path == "":
		path, explicit = DefaultPath, false
	case path == Off:
		return nil, nil
	case !strings.HasPrefix(path, "/"):
		return nil, &os.PathError{Op: "termination log", Path: path, Err: errors.New("not an absolute path")}
	}
	return &File{path: path, explicit: explicit, buf: make([]byte, 0, MaxLen)}, nil
}

// Path returns the file's path; "" for a nil File.
func (f *File) Path() string {
	if f == nil {
		return ""
	}
	return f.path
}

// WriteProvisional writes s's provisional summary (AppendProvisional):
// call it as soon as the first terminating signal has come in and been
// handled.
func (f *File) WriteProvisional(s *Summary) error {
	if f == nil {
		return nil
	}
	f.buf = s.AppendProvisional(f.buf[:0])
	return f.write(f.buf)
}

// WriteFinal writes s's final summary (AppendFinal), replacing the
// provisional one: call it last, just before the init exits.
func (f *File) WriteFinal(s *Summary) error {
	if f == nil {
		return nil
	}
	f.buf = s.AppendFinal(f.buf[:0])
	return f.write(f.buf)
}

// write puts line into the file, under the rules of File.
func (f *File) write(line []byte) error {
	if len(line) > MaxLen {
		line = line[:MaxLen]
	}
	fd, st, err := f.open()
	if err != nil {
		return f.err(err)
	}
	defer unix.Close(fd)
	if st.Size > 0 && !f.holdsOurs(fd, st.Size) {
		return f.err(ErrNotEmpty)
	}
	if n, err := pwriteAll(fd, line); err != nil {
		if n > 0 {
			// Half written: leave the file empty rather than garbled,
			// and a next write free to start afresh.
			_ = ftruncate(fd, 0)
			f.ours = nil
		}
		return f.err(err)
	}
	if err := ftruncate(fd, int64(len(line))); err != nil {
		f.ours = nil
		return f.err(err)
	}
	f.ours = append(f.oursBuf[:0], line...)
	return nil
}

func (f *File) err(err error) error {
	return &os.PathError{Op: "termination log", Path: f.path, Err: err}
}

// open opens the file for reading and writing, if it is one to write:
// see File.
func (f *File) open() (int, *unix.Stat_t, error) {
	fd, st, err := f.openExisting()
	if err == unix.ENOENT && f.explicit {
		return f.create()
	}
	return fd, st, err
}

// openExisting opens the file if it exists and is one to write.
func (f *File) openExisting() (int, *unix.Stat_t, error) {
	var st unix.Stat_t
	pfd, err := openRetry(f.path, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, nil, err
	}
	err = fstat(pfd, &st)
	if err == nil {
		err = writable(&st)
	}
	if err != nil {
		unix.Close(pfd)
		return -1, nil, err
	}
	dev, ino := st.Dev, st.Ino
	fd, err := openRetry(f.path, unix.O_RDWR|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	unix.Close(pfd)
	if err != nil {
		return -1, nil, err
	}
	if err := fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, nil, err
	}
	if st.Dev != dev || st.Ino != ino {
		unix.Close(fd)
		return -1, nil, ErrChanged
	}
	return fd, &st, nil
}

// create makes the file at an explicit path that does not exist, mode
// 0644 whatever the umask. Should another process make it first, the
// file it made is opened under the usual rules.
func (f *File) create() (int, *unix.Stat_t, error) {
	fd, err := openRetry(f.path, unix.O_RDWR|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, createMode)
	if err == unix.EEXIST {
		return f.openExisting()
	}
	if err != nil {
		return -1, nil, err
	}
	var st unix.Stat_t
	err = rawsys.Fchmod(fd, createMode)
	if err == nil {
		err = fstat(fd, &st)
	}
	if err != nil {
		unix.Close(fd)
		return -1, nil, err
	}
	return fd, &st, nil
}

// writable returns nil when st is a file to write to.
func writable(st *unix.Stat_t) error {
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
	case unix.S_IFLNK:
		return ErrSymlink
	default:
		return ErrNotRegular
	}
	if st.Mode&0o222 == 0 {
		return ErrReadOnly
	}
	return nil
}

// holdsOurs reports whether the file, size bytes long, holds exactly what
// the last write put there.
func (f *File) holdsOurs(fd int, size int64) bool {
	if f.ours == nil || size != int64(len(f.ours)) {
		return false
	}
	got := f.cmp[:size]
	for off := 0; off < len(got); {
		n, err := unix.Pread(fd, got[off:], int64(off))
		if err == unix.EINTR {
			continue
		}
		if err != nil || n <= 0 {
			return false
		}
		off += n
	}
	return bytes.Equal(got, f.ours)
}

// pwriteAll writes b at offset 0 of fd and returns how many bytes it
// wrote.
func pwriteAll(fd int, b []byte) (int, error) {
	off := 0
	for off < len(b) {
		n, err := unix.Pwrite(fd, b[off:], int64(off))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return off, err
		}
		if n <= 0 {
			return off, io.ErrShortWrite
		}
		off += n
	}
	return off, nil
}

func openRetry(path string, flags int, mode uint32) (int, error) {
	for {
		fd, err := unix.Open(path, flags, mode)
		if err != unix.EINTR {
			return fd, err
		}
	}
}

func fstat(fd int, st *unix.Stat_t) error {
	for {
		err := unix.Fstat(fd, st)
		if err != unix.EINTR {
			return err
		}
	}
}

func ftruncate(fd int, size int64) error {
	for {
		err := unix.Ftruncate(fd, size)
		if err != unix.EINTR {
			return err
		}
	}
}
