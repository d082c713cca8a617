package watch

import (
	"bytes"
	"path"
	"strconv"

	"github.com/reaper-init/reaper-init/internal/procfs"
	"github.com/reaper-init/reaper-init/internal/rawsys"
	"golang.org/x/sys/unix"
)

// cgroupDir is one cgroup directory that may hold a pids limit.
type cgroupDir struct {
	maxPath, currentPath string
}

// cgroupResolver finds the pids cgroups that apply to the init: its own
// and their ancestors, from /proc/self/cgroup (and, when also is set, from
// that cgroup file as well). It re-resolves only when they change.
type cgroupResolver struct {
	procRoot, cgroupRoot string
	also                 string // another process's cgroup file, or ""
	raw                  []byte // the cgroup files as last resolved
	read                 []byte // read buffer
	dirs                 []cgroupDir
	resolved             bool
}

// readLimits appends to ls the limits that apply now: the namespace's
// kernel.pid_max against the tasks of the last scan, and the cgroup level
// whose pids.max is nearest to being reached, against its pids.current.
// A limit that cannot be read, or reads "max", is left out.
func (w *Watcher) readLimits(ls []Limit) []Limit {
	pidMaxPath := w.cfg.ProcRoot + "/sys/kernel/pid_max"
	if n, ok := readInt(pidMaxPath); ok && n > 0 {
		ls = append(ls, Limit{Kind: "pid_max", Path: pidMaxPath, Used: int64(w.nTasks), Max: n})
	}
	var best Limit
	for _, d := range w.cg.candidates() {
		max, ok := readInt(d.maxPath)
		if !ok || max <= 0 {
			continue // no file, or "max": no limit at this level
		}
		cur, ok := readInt(d.currentPath)
		if !ok {
			continue
		}
		if best.Max == 0 || cur*best.Max > best.Used*max {
			best = Limit{Kind: "cgroup", Path: d.maxPath, Used: cur, Max: max}
		}
	}
	if best.Max > 0 {
		ls = append(ls, best)
	}
	return ls
}

// candidates returns the cgroup directories to look at, nearest first:
// for the cgroup v2 line ("0::/path") CgroupRoot/path and its ancestors,
// for the cgroup v1 line of the pids controller CgroupRoot/pids/path and
// its ancestors, and at least CgroupRoot and CgroupRoot/pids.
func (c *cgroupResolver) candidates() []cgroupDir {
	c.read = readAll(c.procRoot+"/self/cgroup", c.read[:0])
	if c.also != "" {
		c.read = readAll(c.also, append(c.read, '\n'))
	}
	if c.resolved && bytes.Equal(c.read, c.raw) {
		return c.dirs
	}
	c.raw = append(c.raw[:0], c.read...)
	c.resolved = true
	c.dirs = c.dirs[:0]
	procfs.CgroupPaths(string(c.raw), "pids", func(v2 bool, p string) {
		if v2 {
			c.addTree(c.cgroupRoot, p)
		} else {
			c.addTree(c.cgroupRoot+"/pids", p)
		}
	})
	c.add(c.cgroupRoot)
	c.add(c.cgroupRoot + "/pids")
	return c.dirs
}

// addTree adds base+p and its ancestors up to base; p is clean (see
// procfs.CgroupPaths).
func (c *cgroupResolver) addTree(base, p string) {
	for ; p != "/"; p = path.Dir(p) {
		c.add(base + p)
	}
	c.add(base)
}

func (c *cgroupResolver) add(dir string) {
	for _, d := range c.dirs {
		if d.maxPath == dir+"/pids.max" {
			return
		}
	}
	c.dirs = append(c.dirs, cgroupDir{maxPath: dir + "/pids.max", currentPath: dir + "/pids.current"})
}

// readInt reads a small file holding one decimal number. It reports false
// when the file is missing, holds "max" or anything else.
func readInt(name string) (int64, bool) {
	var buf [64]byte
	b := readAll(name, buf[:0])
	n, err := strconv.ParseInt(string(bytes.TrimSpace(b)), 10, 64)
	return n, err == nil
}

// readAll appends the contents of the file name to b, up to 64 KiB. It
// returns b unchanged when the file cannot be opened, and what it read
// before an error otherwise.
func readAll(name string, b []byte) []byte {
	fd, err := openRetry(name)
	if err != nil {
		return b
	}
	defer rawsys.Close(fd)
	for len(b) < 64<<10 {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := rawsys.Read(fd, b[len(b):cap(b)])
		if err != nil || n <= 0 {
			break
		}
		b = b[:len(b)+n]
	}
	return b
}

// openRetry opens name for reading, without the scheduler (see package
// rawsys).
func openRetry(name string) (int, error) {
	var buf [256]byte
	path := append(append(buf[:0], name...), 0)
	return rawsys.Openat(unix.AT_FDCWD, path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
}
