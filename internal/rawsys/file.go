package rawsys

import (
	"os"

	"golang.org/x/sys/unix"
)

// SmallFile bounds the small files reaper-init reads whole (a process's
// cgroup list, a cgroup's counters, its own memory map): far more than
// they hold.
const SmallFile = 64 << 10

// ReadFile appends to b the contents of the file name, while b holds
// less than max bytes (what b held already included), and returns b:
// for the small files of /proc and of the cgroup file systems, read
// without the scheduler. An error is an *os.PathError; b then holds what
// was read before it, and is returned unchanged when the file cannot be
// opened.
func ReadFile(name string, b []byte, max int) ([]byte, error) {
	var buf [256]byte
	fd, err := Openat(unix.AT_FDCWD, append(append(buf[:0], name...), 0), unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	if err != nil {
		return b, &os.PathError{Op: "open", Path: name, Err: err}
	}
	defer Close(fd)
	for len(b) < max {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := Read(fd, b[len(b):cap(b)])
		if err != nil {
			return b, &os.PathError{Op: "read", Path: name, Err: err}
		}
		if n <= 0 {
			break
		}
		b = b[:len(b)+n]
	}
	return b, nil
}
