package procfs

import (
	"os"
	"sync"
	"unsafe"

	"github.com/reaper-init/reaper-init/internal/rawsys"
	"golang.org/x/sys/unix"
)

const (
	direntBufSize = 8 << 10 // about 250 /proc entries per getdents: a bounded step
	statBufSize   = 1 << 10 // a stat line is about 300 bytes
	statBufMax    = 64 << 10
	maxInterned   = 4096 // distinct command names remembered between scans
)

// A Scanner reads every process of a proc file system a bounded number
// at a time, so that a caller with other work (the init's main loop) can
// scan 30,000 processes without stopping for the tenth of a second a full
// scan takes. It reuses its buffers from one scan to the next: after the
// first scan of a namespace it allocates nothing (command names are
// interned). A Scanner is not safe for concurrent use.
type Scanner struct {
	dfd     int    // the directory being scanned, -1 between scans
	root    string // its path, for errors
	dirents []byte
	off     int // next dirent in dirents[:end]
	end     int
	path    []byte
	stat    []byte
	names   map[string]string
	intern  func([]byte) string
	proc    Proc
}

// NewScanner returns a Scanner with no scan in progress.
func NewScanner() *Scanner {
	s := &Scanner{
		dfd:     -1,
		dirents: make([]byte, direntBufSize),
		path:    make([]byte, 0, 64),
		stat:    make([]byte, statBufSize),
		names:   make(map[string]string),
	}
	s.intern = s.internName
	return s
}

// Start begins a scan of procRoot, ending any scan in progress. It fails
// only when procRoot cannot be opened.
func (s *Scanner) Start(procRoot string) error {
	s.Stop()
	s.path = append(append(s.path[:0], procRoot...), 0)
	fd, err := rawsys.Openat(unix.AT_FDCWD, s.path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: procRoot, Err: err}
	}
	s.dfd, s.root, s.off, s.end = fd, procRoot, 0, 0
	return nil
}

// Stop ends the scan in progress, if any.
func (s *Scanner) Stop() {
	if s.dfd >= 0 {
		_ = rawsys.Close(s.dfd)
		s.dfd = -1
	}
}

// Step reads at most max processes of the scan in progress (and at most
// one more batch of directory entries), calling fn for each, and reports
// whether the scan is complete. The *Proc passed to fn is reused: copy
// the struct to keep it. Processes that vanish during the scan, or whose
// stat file cannot be read or parsed, are skipped. An error reading the
// directory ends the scan and is returned.
func (s *Scanner) Step(max int, fn func(*Proc)) (done bool, err error) {
	if s.dfd < 0 {
		return true, nil
	}
	read, batches := 0, 0
	for read < max {
		if s.off >= s.end {
			if batches > 0 {
				return false, nil // one getdents per step
			}
			n, err := rawsys.Getdents(s.dfd, s.dirents)
			batches++
			if err != nil {
				s.Stop()
				return true, &os.PathError{Op: "getdents", Path: s.root, Err: err}
			}
			if n <= 0 {
				s.Stop()
				return true, nil
			}
			s.off, s.end = 0, n
		}
		if s.next(fn) {
			read++
		}
	}
	return false, nil
}

// nextDirent reads the first struct linux_dirent64 of buf, as getdents
// fills it: d_ino (8 bytes), d_off (8), d_reclen (2), d_type (1), then the
// NUL-terminated name. It returns the entry's type and name, and the
// length of its record: 0 when buf holds no whole record.
func nextDirent(buf []byte) (typ byte, name []byte, reclen int) {
	const nameOff = 19
	if len(buf) < nameOff {
		return 0, nil, 0
	}
	reclen = int(*(*uint16)(unsafe.Pointer(&buf[16])))
	if reclen < nameOff || reclen > len(buf) {
		return 0, nil, 0
	}
	name = buf[nameOff:reclen]
	for i, c := range name {
		if c == 0 {
			name = name[:i]
			break
		}
	}
	return buf[18], name, reclen
}

// next handles the dirent at s.off. It reports whether it read a
// process.
func (s *Scanner) next(fn func(*Proc)) bool {
	typ, name, reclen := nextDirent(s.dirents[s.off:s.end])
	if reclen == 0 {
		s.off = s.end
		return false
	}
	s.off += reclen
	if typ != unix.DT_DIR && typ != unix.DT_UNKNOWN {
		return false
	}
	if pid, ok := atoi(name); !ok || pid <= 0 {
		return false
	}
	if s.readStat(s.dfd, name) {
		fn(&s.proc)
	}
	return true
}

// readStat reads and parses dir/stat relative to the directory dfd into
// s.proc. It reports false when the process is gone or its stat file is
// unreadable or malformed.
func (s *Scanner) readStat(dfd int, dir []byte) bool {
	s.path = append(append(s.path[:0], dir...), "/stat\x00"...)
	b, ok := readFileAt(dfd, s.path, &s.stat)
	return ok && parseStat(b, &s.proc, s.intern)
}

// readFileAt reads the file at the NUL-terminated path relative to dfd
// into *buf, growing it up to statBufMax, and returns what it read.
func readFileAt(dfd int, path []byte, buf *[]byte) ([]byte, bool) {
	fd, err := rawsys.Openat(dfd, path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, false
	}
	defer rawsys.Close(fd)
	b := *buf
	n := 0
	for {
		if n == len(b) {
			if len(b) >= statBufMax {
				return nil, false
			}
			b = append(b, make([]byte, len(b))...)
			*buf = b
		}
		m, err := rawsys.Read(fd, b[n:])
		if err != nil || m < 0 {
			return nil, false
		}
		if m == 0 {
			return b[:n], n > 0
		}
		n += m
		// procfs returns a stat line, newline included, in one read.
		if b[n-1] == '\n' {
			return b[:n], true
		}
	}
}

// internName returns b as a string, reusing the string of an earlier
// process with the same name.
func (s *Scanner) internName(b []byte) string {
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

var scanners = sync.Pool{New: func() any { return NewScanner() }}

// Scan calls fn for every process of procRoot, in one go: Start and Step
// until done. The *Proc passed to fn is reused: copy the struct to keep
// it. Scan returns an error only when procRoot itself cannot be read.
func Scan(procRoot string, fn func(*Proc)) error {
	s := scanners.Get().(*Scanner)
	defer scanners.Put(s)
	if err := s.Start(procRoot); err != nil {
		return err
	}
	for {
		done, err := s.Step(1<<30, fn)
		if done {
			return err
		}
	}
}
