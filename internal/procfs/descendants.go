package procfs

import (
	"os"
	"strconv"
)

// Descendants calls fn for every descendant of the calling process, found
// by walking procRoot/PID/task/*/children from procRoot/self, breadth
// first. It stops early when fn returns false. Processes that vanish
// during the walk are skipped. The walk follows the PID numbering of
// procRoot, so it is right even when procRoot belongs to an outer PID
// namespace.
func Descendants(procRoot string, fn func(*Proc) bool) error {
	self, err := os.Readlink(procRoot + "/self")
	if err != nil {
		return err
	}
	root, err := strconv.Atoi(self)
	if err != nil {
		return err
	}
	queue := children(procRoot, root, nil)
	seen := make(map[int]bool, len(queue))
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		if seen[pid] {
			continue
		}
		seen[pid] = true
		p, err := ReadStat(procRoot, pid)
		if err != nil {
			continue
		}
		if !fn(&p) {
			return nil
		}
		queue = children(procRoot, pid, queue)
	}
	return nil
}

// children appends the PIDs of pid's children, from every thread's
// children file, to dst.
func children(procRoot string, pid int, dst []int) []int {
	dir := procRoot + "/" + strconv.Itoa(pid) + "/task"
	d, err := os.Open(dir)
	if err != nil {
		return dst
	}
	tids, _ := d.Readdirnames(-1)
	d.Close()
	for _, tid := range tids {
		b, err := os.ReadFile(dir + "/" + tid + "/children")
		if err != nil {
			continue
		}
		n, in := 0, false
		for _, c := range b {
			if c >= '0' && c <= '9' {
				n, in = n*10+int(c-'0'), true
				continue
			}
			if in {
				dst = append(dst, n)
			}
			n, in = 0, false
		}
		if in {
			dst = append(dst, n)
		}
	}
	return dst
}
