// Package footprint gives back what reaper-init's start-up touched and
// its main loop does not use.
//
// A Go program's start-up reads much of its own binary: the runtime's
// initialisation, the type and function tables, the command line and the
// child's start, and the kernel maps the file 64 KiB around each page it
// faults in. In a 1.9 MB static binary that is most of the file, 1.7 MiB
// of resident memory per container for code that never runs again. Once
// the child runs, [Trim] unmaps those pages of the binary's read-only
// mappings (madvise MADV_DONTNEED: the pages stay in the page cache,
// shared with every other container started from the same file) and asks
// the kernel to fault in only the page needed from then on
// (MADV_RANDOM), so that the resident set is what the loop uses. Writable
// mappings are never touched: MADV_DONTNEED would throw their contents
// away.
package footprint

import (
	"bytes"
	"strconv"

	"github.com/reaper-init/reaper-init/internal/rawsys"
	"golang.org/x/sys/unix"
)

// Trim unmaps the resident pages of the read-only mappings of the
// process's own executable, and reports how many bytes of mappings it
// advised. It is best effort: it does nothing where /proc is missing.
func Trim() int {
	var exe unix.Stat_t
	if unix.Stat("/proc/self/exe", &exe) != nil {
		return 0
	}
	// With raw system calls: Trim runs on the main loop.
	maps, err := rawsys.ReadFile("/proc/self/maps", make([]byte, 0, 4096), rawsys.SmallFile)
	if err != nil {
		return 0
	}
	trimmed := 0
	for len(maps) > 0 {
		// The kernel ends every line with a newline: a line without one
		// is the end of what the read's bound (rawsys.SmallFile) let in, cut short.
		i := bytes.IndexByte(maps, '\n')
		if i < 0 {
			break
		}
		line := maps[:i]
		maps = maps[i+1:]
		start, end, perms, dev, ino, ok := parseMapsLine(line)
		if !ok || perms[1] == 'w' || perms[3] != 'p' || ino != exe.Ino || dev != exe.Dev {
			continue
		}
		size := end - start
		madvise(start, size, unix.MADV_RANDOM)
		if madvise(start, size, unix.MADV_DONTNEED) == 0 {
			trimmed += int(size)
		}
	}
	return trimmed
}

// parseMapsLine reads "start-end perms offset major:minor inode path".
func parseMapsLine(line []byte) (start, end uintptr, perms []byte, dev, ino uint64, ok bool) {
	var f [5][]byte
	for i := range f {
		f[i], line = nextField(line)
	}
	if len(f[4]) == 0 || len(f[1]) < 4 {
		return 0, 0, nil, 0, 0, false
	}
	lo, hi, found := cutByte(f[0], '-')
	if !found {
		return 0, 0, nil, 0, 0, false
	}
	s, err1 := strconv.ParseUint(string(lo), 16, 64)
	e, err2 := strconv.ParseUint(string(hi), 16, 64)
	maj, min, found := cutByte(f[3], ':')
	ma, err3 := strconv.ParseUint(string(maj), 16, 32)
	mi, err4 := strconv.ParseUint(string(min), 16, 32)
	in, err5 := strconv.ParseUint(string(f[4]), 10, 64)
	if !found || err1 != nil || err2 != nil || err3 != nil || err4 != nil || err5 != nil || e <= s {
		return 0, 0, nil, 0, 0, false
	}
	return uintptr(s), uintptr(e), f[1], unix.Mkdev(uint32(ma), uint32(mi)), in, true
}

// nextField returns the first field of b, after any spaces, and what
// follows the space that ends it. The field is empty when b has none.
func nextField(b []byte) (field, rest []byte) {
	for len(b) > 0 && b[0] == ' ' {
		b = b[1:]
	}
	if i := bytes.IndexByte(b, ' '); i >= 0 {
		return b[:i], b[i+1:]
	}
	return b, nil
}

// cutByte is bytes.Cut for a one-byte separator (bytes.Cut would link
// bytes.Index into the binary).
func cutByte(b []byte, sep byte) (before, after []byte, found bool) {
	if i := bytes.IndexByte(b, sep); i >= 0 {
		return b[:i], b[i+1:], true
	}
	return b, nil, false
}

// madvise is madvise(2) on an address range the process does not hold as
// Go memory.
func madvise(addr, size uintptr, advice int) unix.Errno {
	_, _, e := unix.RawSyscall(unix.SYS_MADVISE, addr, size, uintptr(advice))
	return e
}
