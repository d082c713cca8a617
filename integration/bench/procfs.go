package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// The readers of /proc below take PIDs as this program sees them (the
// host's /proc), whatever PID namespace the process is in.

// children returns the PIDs of pid's children, living and zombie, from
// /proc/PID/task/*/children: a multithreaded init can have orphans
// re-parented to any of its threads.
func children(pid int) ([]int, error) {
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	if err != nil {
		return nil, err
	}
	if len(tasks) == 0 {
		return nil, fmt.Errorf("pid %d: no /proc/%[1]d/task/*/children (gone, or kernel without CONFIG_PROC_CHILDREN)", pid)
	}
	var kids []int
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue // the thread exited
		}
		for _, f := range bytes.Fields(b) {
			if n, err := strconv.Atoi(string(f)); err == nil {
				kids = append(kids, n)
			}
		}
	}
	return kids, nil
}

// readState returns the state letter of pid from /proc/PID/stat.
func readState(pid int) (byte, error) {
	f, err := statFields(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return f[0][0], nil
}

// statFields returns the fields of a /proc stat file after the command
// name, so that f[0] is the state (field 3 of proc(5)) and f[i] is field
// i+3.
func statFields(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil, fmt.Errorf("%s: malformed", path)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return nil, fmt.Errorf("%s: %d fields after the name", path, len(f))
	}
	return f, nil
}

// statusFields parses a /proc status file into its key: value pairs.
func statusFields(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			m[k] = strings.TrimSpace(v)
		}
	}
	return m, nil
}

// kib parses a status value such as "1234 kB".
func kib(v string) (int64, error) {
	return strconv.ParseInt(strings.TrimSuffix(v, " kB"), 10, 64)
}

// userHZ is the unit of the CPU times in /proc/PID/stat (USER_HZ, 100 on
// every Linux architecture this program runs on).
const userHZ = 100

// taskUsage is what the idle test reads of one thread.
type taskUsage struct {
	ctxsw uint64 // voluntary + involuntary context switches
	cpuNS uint64 // time on CPU, from schedstat (or stat, at USER_HZ resolution)
}

// processUsage reads the usage of every thread of pid, by thread ID.
func processUsage(pid int) (map[int]taskUsage, error) {
	dirs, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*", pid))
	if err != nil {
		return nil, err
	}
	if len(dirs) == 0 {
		return nil, fmt.Errorf("pid %d is gone", pid)
	}
	out := map[int]taskUsage{}
	for _, d := range dirs {
		tid, err := strconv.Atoi(filepath.Base(d))
		if err != nil {
			continue
		}
		st, err := statusFields(filepath.Join(d, "status"))
		if err != nil {
			continue // the thread exited
		}
		var u taskUsage
		for _, k := range []string{"voluntary_ctxt_switches", "nonvoluntary_ctxt_switches"} {
			n, err := strconv.ParseUint(st[k], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("%s/status: %s: %v", d, k, err)
			}
			u.ctxsw += n
		}
		if b, err := os.ReadFile(filepath.Join(d, "schedstat")); err == nil {
			if f := strings.Fields(string(b)); len(f) == 3 {
				u.cpuNS, _ = strconv.ParseUint(f[0], 10, 64)
			}
		} else if f, err := statFields(filepath.Join(d, "stat")); err == nil {
			ut, _ := strconv.ParseUint(f[11], 10, 64) // utime, field 14
			sy, _ := strconv.ParseUint(f[12], 10, 64) // stime, field 15
			u.cpuNS = (ut + sy) * 1e9 / userHZ
		}
		out[tid] = u
	}
	return out, nil
}

// runningTasks returns the number of tasks (threads) on the machine, the
// denominator of the fourth field of /proc/loadavg.
func runningTasks() int {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 4 {
		if _, total, ok := strings.Cut(f[3], "/"); ok {
			if n, err := strconv.Atoi(total); err == nil {
				return n
			}
		}
	}
	return 0
}
