package ending

import (
	"bytes"
	"errors"
	"os"
	"strconv"

	"github.com/reaper-init/reaper-init/internal/procfs"
	"github.com/reaper-init/reaper-init/internal/rawsys"
)

// Defaults of NewOOMCounter.
const (
	DefaultProcRoot   = "/proc"
	DefaultCgroupRoot = "/sys/fs/cgroup"
)

// ErrNoOOMCounter: no memory cgroup file with an oom_kill counter was
// found (no memory controller, cgroup v1 before Linux 4.13, no /proc).
var ErrNoOOMCounter = errors.New("no oom_kill counter in the memory cgroup")

// OOMCounter reads how many processes the kernel's OOM killer has killed
// in the init's memory cgroup, to tell an OOM kill of the main child from
// any other SIGKILL.
//
// The file comes from /proc/self/cgroup, nearest first:
//
//   - cgroup v2, the line "0::/path": CgroupRoot/path/memory.events, then
//     CgroupRoot/memory.events (the root of the mount, which is the
//     container's own cgroup under a cgroup namespace), the "oom_kill N"
//     line. It counts the kills in the cgroup and below.
//   - cgroup v1, the line "N:memory:/path" (or a controller list holding
//     memory): CgroupRoot/memory/path/memory.oom_control, then
//     CgroupRoot/memory/memory.oom_control (the root of the mount: Docker
//     on cgroup v1 mounts the container's cgroup there, while
//     /proc/self/cgroup shows the host's path), the "oom_kill N" line
//     (Linux 4.13 and later). It counts the kills of processes in that
//     cgroup itself, which is where the main child is unless it moved.
//
// The counter is for the whole cgroup, not the main child: an OOM kill of
// another process around the time the main child dies of a SIGKILL from
// elsewhere is taken for the main child's. In a container that is one
// cgroup, the kernel's choice of victim is the largest process, and that
// is nearly always the main child's tree.
type OOMCounter struct {
	procRoot, cgroupRoot string
	file                 string // the counter's file, once Start found it
	base                 int64  // the count at Start
	buf                  [512]byte
}

// NewOOMCounter returns a counter that reads procRoot/self/cgroup and the
// cgroup file systems under cgroupRoot ("" for DefaultProcRoot and
// DefaultCgroupRoot). It does no I/O.
func NewOOMCounter(procRoot, cgroupRoot string) *OOMCounter {
	if procRoot == "" {
		procRoot = DefaultProcRoot
	}
	if cgroupRoot == "" {
		cgroupRoot = DefaultCgroupRoot
	}
	return &OOMCounter{procRoot: procRoot, cgroupRoot: cgroupRoot}
}

// Start finds the counter and reads the baseline: call it once when the
// init starts, before the child runs. On error, Since will report
// nothing.
func (c *OOMCounter) Start() error {
	c.file = ""
	for _, name := range c.candidates() {
		n, err := c.read(name)
		if err == nil {
			c.file, c.base = name, n
			return nil
		}
	}
	return ErrNoOOMCounter
}

// StartAtZero finds the counter as Start does but takes 0 as the
// baseline: for an init that ends before Start could run, in a cgroup of
// its own, every OOM kill counted is the container's.
func (c *OOMCounter) StartAtZero() error {
	if err := c.Start(); err != nil {
		return err
	}
	c.base = 0
	return nil
}

// Since returns the number of OOM kills counted since Start: call it when
// the main child has died of SIGKILL. It returns 0 and an error when
// Start found no counter or the file can no longer be read.
func (c *OOMCounter) Since() (int64, error) {
	if c.file == "" {
		return 0, ErrNoOOMCounter
	}
	n, err := c.read(c.file)
	if err != nil {
		return 0, err
	}
	if n < c.base {
		return 0, nil
	}
	return n - c.base, nil
}

// Path returns the file the counter reads, once Start found it.
func (c *OOMCounter) Path() string { return c.file }

// candidates lists the files that may hold the counter, nearest first.
func (c *OOMCounter) candidates() []string {
	var v2, v1 []string
	raw, _ := rawsys.ReadFile(c.procRoot+"/self/cgroup", make([]byte, 0, 1024), rawsys.SmallFile)
	procfs.CgroupPaths(string(raw), "memory", func(isV2 bool, dir string) {
		if dir == "/" {
			return // the root, which comes last
		}
		if isV2 {
			v2 = append(v2, c.cgroupRoot+dir+"/memory.events")
		} else {
			v1 = append(v1, c.cgroupRoot+"/memory"+dir+"/memory.oom_control")
		}
	})
	v2 = append(v2, c.cgroupRoot+"/memory.events")
	v1 = append(v1, c.cgroupRoot+"/memory/memory.oom_control")
	return append(v2, v1...)
}

// read returns the oom_kill count in the file name.
func (c *OOMCounter) read(name string) (int64, error) {
	b, err := rawsys.ReadFile(name, c.buf[:0], rawsys.SmallFile)
	if err != nil {
		return 0, err
	}
	if n, ok := parseOOMKill(b); ok {
		return n, nil
	}
	return 0, &os.PathError{Op: "read", Path: name, Err: ErrNoOOMCounter}
}

// parseOOMKill finds the line "oom_kill N" in the contents of
// memory.events or memory.oom_control.
func parseOOMKill(b []byte) (int64, bool) {
	for len(b) > 0 {
		var line []byte
		line, b, _ = cutByte(b, '\n')
		key, val, ok := cutByte(line, ' ')
		if !ok || string(key) != "oom_kill" {
			continue
		}
		n, err := strconv.ParseInt(string(bytes.TrimSpace(val)), 10, 64)
		return n, err == nil && n >= 0
	}
	return 0, false
}

// cutByte is bytes.Cut for a one-byte separator (bytes.Cut would link
// bytes.Index into the binary).
func cutByte(b []byte, sep byte) (before, after []byte, found bool) {
	if i := bytes.IndexByte(b, sep); i >= 0 {
		return b[:i], b[i+1:], true
	}
	return b, nil, false
}
