package procfs

import (
	"os"
	"strconv"

	"github.com/reaper-init/reaper-init/internal/rawsys"
	"golang.org/x/sys/unix"
)

// A Walker visits the descendants of a process a bounded number at a
// time, breadth first, by reading procRoot/PID/task/*/children, so that
// a caller with other work (the init's main loop) can walk a large tree
// in steps. Its buffers are reused from one walk to the next and grow
// once to the size of the largest tree walked. A Walker is not safe for
// concurrent use.
type Walker struct {
	root    []byte  // procRoot, without NUL
	queue   []int32 // PIDs to visit
	head    int
	seen    map[int32]struct{}
	path    []byte
	stat    []byte
	kids    []byte
	dirents []byte
	proc    Proc
	active  bool
}

// NewWalker returns a Walker with no walk in progress.
func NewWalker() *Walker {
	return &Walker{
		seen:    make(map[int32]struct{}),
		path:    make([]byte, 0, 96),
		stat:    make([]byte, statBufSize),
		kids:    make([]byte, 256),
		dirents: make([]byte, 4<<10),
	}
}

// Start begins a walk of the descendants of the calling process, as
// procRoot numbers it (procRoot/self), ending any walk in progress.
func (w *Walker) Start(procRoot string) error {
	self, err := os.Readlink(procRoot + "/self")
	if err != nil {
		return err
	}
	pid, err := strconv.Atoi(self)
	if err != nil {
		return &os.PathError{Op: "readlink", Path: procRoot + "/self", Err: err}
	}
	w.StartAt(procRoot, pid)
	return nil
}

// StartAt begins a walk of the descendants of pid, as procRoot numbers
// it.
func (w *Walker) StartAt(procRoot string, pid int) {
	w.root = append(w.root[:0], procRoot...)
	w.queue, w.head = w.queue[:0], 0
	clear(w.seen)
	w.active = true
	w.children(pid)
}

// Visited reports whether the walk in progress has visited pid.
func (w *Walker) Visited(pid int) bool {
	_, ok := w.seen[int32(pid)]
	return ok
}

// Claim marks pid as visited and reports whether the walk had not
// visited it yet. A process that exits and is reaped before its visit
// drops out of the walk unseen; its reaper claims it, to count it.
func (w *Walker) Claim(pid int) bool {
	if _, ok := w.seen[int32(pid)]; ok {
		return false
	}
	w.seen[int32(pid)] = struct{}{}
	return true
}

// Step visits at most max descendants, calling fn for each; a false
// from fn ends the walk. It reports whether the walk is over. The *Proc
// passed to fn is reused. Processes that vanish during the walk are
// skipped.
func (w *Walker) Step(max int, fn func(*Proc) bool) (done bool) {
	for n := 0; w.active && n < max; {
		if w.head >= len(w.queue) {
			w.active = false
			break
		}
		pid := w.queue[w.head]
		w.head++
		if _, dup := w.seen[pid]; dup {
			continue
		}
		w.seen[pid] = struct{}{}
		n++
		if !w.readStat(int(pid)) {
			continue
		}
		if !fn(&w.proc) {
			w.active = false
			break
		}
		w.children(int(pid))
	}
	return !w.active
}

// pidPath sets w.path to root/PID followed by rest and a NUL.
func (w *Walker) pidPath(pid int, rest string) []byte {
	w.path = append(append(w.path[:0], w.root...), '/')
	w.path = strconv.AppendInt(w.path, int64(pid), 10)
	w.path = append(append(w.path, rest...), 0)
	return w.path
}

func (w *Walker) readStat(pid int) bool {
	b, ok := readFileAt(unix.AT_FDCWD, w.pidPath(pid, "/stat"), &w.stat)
	return ok && parseStat(b, &w.proc, nil)
}

// children queues the PIDs in every thread's children file of pid.
func (w *Walker) children(pid int) {
	dfd, err := rawsys.Openat(unix.AT_FDCWD, w.pidPath(pid, "/task"), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	defer rawsys.Close(dfd)
	for {
		n, err := rawsys.Getdents(dfd, w.dirents)
		if err != nil || n <= 0 {
			return
		}
		for buf := w.dirents[:n]; ; {
			_, name, reclen := nextDirent(buf)
			if reclen == 0 {
				break
			}
			buf = buf[reclen:]
			if _, ok := atoi(name); !ok {
				continue
			}
			w.path = append(append(w.path[:0], name...), "/children\x00"...)
			b, ok := readFileAt(dfd, w.path, &w.kids)
			if !ok {
				continue
			}
			w.queueList(b)
		}
	}
}

// queueList queues the space-separated PIDs of b.
func (w *Walker) queueList(b []byte) {
	n, in := 0, false
	for _, c := range b {
		if c >= '0' && c <= '9' {
			n, in = n*10+int(c-'0'), true
			continue
		}
		if in {
			w.queue = append(w.queue, int32(n))
		}
		n, in = 0, false
	}
	if in {
		w.queue = append(w.queue, int32(n))
	}
}

// Descendants calls fn for every descendant of the calling process, as
// procRoot numbers them (procRoot/self), in one go. It stops early when
// fn returns false.
func Descendants(procRoot string, fn func(*Proc) bool) error {
	w := NewWalker()
	if err := w.Start(procRoot); err != nil {
		return err
	}
	for !w.Step(1<<30, fn) {
	}
	return nil
}
