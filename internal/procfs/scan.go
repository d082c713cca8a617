package procfs

import (
	"os"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

const (
	direntBufSize = 32 << 10 // about a thousand /proc entries per getdents
	statBufSize   = 1 << 10  // a stat line is about 300 bytes
	statBufMax    = 64 << 10 // give up on a stat line longer than this
	maxInterned   = 4096     // distinct command names remembered between scans
)

// scanner holds the buffers one scan reuses. Scanners are pooled, so a
// watcher that scans every few seconds allocates nothing in steady state.
type scanner struct {
	dirents []byte
	path    []byte
	stat    []byte
	names   map[string]string // interned command names
	intern  func([]byte) string
	proc    Proc
}

var scanners = sync.Pool{New: func() any {
	s := &scanner{
		dirents: make([]byte, direntBufSize),
		path:    make([]byte, 0, 32),
		stat:    make([]byte, statBufSize),
		names:   make(map[string]string),
	}
	s.intern = s.internName
	return s
}}

// Scan calls fn for every process of procRoot: each directory whose name
// is a decimal number. It reads the directory in batches with getdents and
// each stat file through one openat relative to it, reusing its buffers,
// so its cost is a few system calls per process and no allocation in
// steady state (command names are interned).
//
// The *Proc passed to fn is reused for the next process: copy the struct
// to keep it. Processes that vanish during the scan, or whose stat file
// cannot be read or parsed, are skipped silently. Scan returns an error
// only when procRoot itself cannot be read.
func Scan(procRoot string, fn func(*Proc)) error {
	dfd, err := openRetry(procRoot, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC)
	if err != nil {
		return &os.PathError{Op: "open", Path: procRoot, Err: err}
	}
	defer unix.Close(dfd)
	s := scanners.Get().(*scanner)
	defer scanners.Put(s)
	for {
		n, err := unix.Getdents(dfd, s.dirents)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return &os.PathError{Op: "getdents", Path: procRoot, Err: err}
		}
		if n <= 0 {
			return nil
		}
		s.entries(dfd, s.dirents[:n], fn)
	}
}

// entries walks one getdents batch of struct linux_dirent64: d_ino (8
// bytes), d_off (8), d_reclen (2), d_type (1), then the NUL-terminated
// name, padded to d_reclen.
func (s *scanner) entries(dfd int, buf []byte, fn func(*Proc)) {
	const nameOff = 19
	for len(buf) >= nameOff {
		reclen := int(*(*uint16)(unsafe.Pointer(&buf[16])))
		if reclen < nameOff || reclen > len(buf) {
			return
		}
		typ, name := buf[18], buf[nameOff:reclen]
		buf = buf[reclen:]
		for i, c := range name {
			if c == 0 {
				name = name[:i]
				break
			}
		}
		if typ != unix.DT_DIR && typ != unix.DT_UNKNOWN {
			continue
		}
		if pid, ok := atoi(name); !ok || pid <= 0 {
			continue
		}
		if s.read(dfd, name) {
			fn(&s.proc)
		}
	}
}

// read reads and parses dir/stat relative to the directory dfd into
// s.proc. It reports false when the process is gone or its stat file is
// unreadable or malformed.
func (s *scanner) read(dfd int, dir []byte) bool {
	s.path = append(append(s.path[:0], dir...), "/stat\x00"...)
	fd, err := openat(dfd, s.path)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	n := 0
	for {
		if n == len(s.stat) {
			if len(s.stat) >= statBufMax {
				return false
			}
			s.stat = append(s.stat, make([]byte, len(s.stat))...)
		}
		m, err := unix.Read(fd, s.stat[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil || m < 0 {
			return false
		}
		n += m
		// procfs returns the whole line, newline included, in one read;
		// anything else is read to the end before it is parsed.
		if m == 0 || s.stat[n-1] == '\n' {
			return n > 0 && parseStat(s.stat[:n], &s.proc, s.intern)
		}
	}
}

// internName returns b as a string, reusing the string of an earlier
// process with the same name.
func (s *scanner) internName(b []byte) string {
	if v, ok := s.names[string(b)]; ok {
		return v
	}
	if len(s.names) >= maxInterned {
		clear(s.names)
	}
	v := string(b)
	s.names[v] = v
	return v
}

// openat opens the NUL-terminated path relative to dirfd for reading.
// unix.Openat would allocate a copy of the path on every call.
func openat(dirfd int, path []byte) (int, error) {
	for {
		fd, _, errno := unix.Syscall6(unix.SYS_OPENAT, uintptr(dirfd),
			uintptr(unsafe.Pointer(&path[0])), uintptr(unix.O_RDONLY|unix.O_CLOEXEC), 0, 0, 0)
		switch errno {
		case 0:
			return int(fd), nil
		case unix.EINTR:
			continue
		}
		return -1, errno
	}
}
