package watch

import (
	"bytes"
	"path"
	"strconv"

	"github.com/reaper-init/reaper-init/internal/procfs"
	"github.com/reaper-init/reaper-init/internal/rawsys"
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
	c.read, _ = rawsys.ReadFile(c.procRoot+"/self/cgroup", c.read[:0], rawsys.SmallFile)
	if c.also != "" {
		c.read, _ = rawsys.ReadFile(c.also, append(c.read, '\n'), rawsys.SmallFile)
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
	b, _ := rawsys.ReadFile(name, buf[:0], rawsys.SmallFile)
	n, err := strconv.ParseInt(string(bytes.TrimSpace(b)), 10, 64)
	return n, err == nil
}
