package procfs

import (
	"errors"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// Proc is one process as read from /proc/PID/stat.
type Proc struct {
	PID   int
	PPID  int
	PGID  int    // the process group
	State byte   // 'R', 'S', 'D', 'Z' (zombie), 'T', 'X' (dead), ...
	Comm  string // the command name, at most 15 bytes for user processes
	// StartTime is when the process started, in clock ticks after boot
	// (field 22). With PID it identifies a process across PID reuse.
	StartTime uint64
	// Threads is the number of threads (field 20): the PIDs the process
	// holds in its namespace and its pids cgroup. A zombie holds one.
	Threads int
}

// Zombie reports whether p has exited and waits for its parent to reap it.
func (p *Proc) Zombie() bool { return p.State == 'Z' }

// Living reports whether p is neither a zombie nor dead.
func (p *Proc) Living() bool { return p.State != 'Z' && p.State != 'X' && p.State != 'x' }

// errMalformed is returned for a stat line that cannot be parsed.
var errMalformed = errors.New("malformed stat line")

// ReadStat reads and parses procRoot/PID/stat.
func ReadStat(procRoot string, pid int) (Proc, error) {
	path := procRoot + "/" + strconv.Itoa(pid) + "/stat"
	b, err := os.ReadFile(path)
	if err != nil {
		return Proc{}, err
	}
	var p Proc
	if !parseStat(b, &p, nil) {
		return Proc{}, &os.PathError{Op: "parse", Path: path, Err: errMalformed}
	}
	return p, nil
}

// Comm returns the command name of process pid from procRoot/PID/comm,
// without the trailing newline, or "" when the process is gone. It works
// on zombies, whose comm stays readable until they are reaped. It
// allocates only the result.
func Comm(procRoot string, pid int) string {
	var pathBuf [96]byte
	path := append(append(append(pathBuf[:0], procRoot...), '/'), 0)
	path = strconv.AppendInt(path[:len(path)-1], int64(pid), 10)
	path = append(path, "/comm\x00"...)
	// TASK_COMM_LEN is 16; kernel threads may show up to 64 bytes.
	var buf [80]byte
	b := buf[:]
	got, ok := readFileAt(unix.AT_FDCWD, path, &b)
	if !ok {
		return ""
	}
	if len(got) > 0 && got[len(got)-1] == '\n' {
		got = got[:len(got)-1]
	}
	return string(got)
}

// parseStat parses one /proc/PID/stat line into p. The command name runs
// from the first '(' to the last ')', so names holding spaces or
// parentheses parse correctly. It reports false when the line is cut
// short or malformed. intern, when not nil, supplies the Comm string so
// that a scan does not allocate one per process.
func parseStat(b []byte, p *Proc, intern func([]byte) string) bool {
	open := -1
	for i, c := range b {
		if c == '(' {
			open = i
			break
		}
	}
	closing := -1
	for i := len(b) - 1; i > open; i-- {
		if b[i] == ')' {
			closing = i
			break
		}
	}
	if open < 1 || closing < 0 {
		return false
	}
	pid, ok := atoi(trimSpace(b[:open]))
	if !ok {
		return false
	}
	// Fields after the command name, numbered as in proc(5): 3 is the
	// state, 4 the parent, 5 the process group, 20 the thread count, 22
	// the start time.
	rest := b[closing+1:]
	var (
		state   byte
		ppid    int
		pgid    int
		threads int
		start   uint64
	)
	field := 2
	for field < 22 {
		for len(rest) > 0 && rest[0] == ' ' {
			rest = rest[1:]
		}
		end := 0
		for end < len(rest) && rest[end] != ' ' && rest[end] != '\n' {
			end++
		}
		if end == 0 {
			return false
		}
		f := rest[:end]
		rest = rest[end:]
		field++
		switch field {
		case 3:
			if len(f) != 1 {
				return false
			}
			state = f[0]
		case 4:
			if ppid, ok = atoi(f); !ok {
				return false
			}
		case 5:
			if pgid, ok = atoi(f); !ok {
				return false
			}
		case 20:
			if threads, ok = atoi(f); !ok {
				return false
			}
		case 22:
			if start, ok = atou64(f); !ok {
				return false
			}
		}
	}
	name := b[open+1 : closing]
	p.PID, p.PPID, p.PGID, p.State, p.StartTime, p.Threads = pid, ppid, pgid, state, start, threads
	if intern != nil {
		p.Comm = intern(name)
	} else {
		p.Comm = string(name)
	}
	return true
}

// atoi parses a non-negative decimal int without allocating.
func atoi(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// atou64 parses a decimal uint64 without allocating, rejecting overflow.
func atou64(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if n > (^uint64(0)-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && b[0] == ' ' {
		b = b[1:]
	}
	for len(b) > 0 && b[len(b)-1] == ' ' {
		b = b[:len(b)-1]
	}
	return b
}
