// Package procfstest builds synthetic /proc trees for the tests and
// benchmarks of the packages that read /proc.
package procfstest

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// Proc is one process to write into a synthetic /proc.
type Proc struct {
	PID, PPID int
	State     byte // 'S' when zero
	Comm      string
	Threads   int    // 1 when zero
	StartTime uint64 // clock ticks after boot
}

// StatLine appends the /proc/PID/stat line of p to b: all 52 fields, with
// the values a real process shows where p says nothing.
func StatLine(b []byte, p Proc) []byte {
	state, threads := p.State, p.Threads
	if state == 0 {
		state = 'S'
	}
	if threads == 0 {
		threads = 1
	}
	pid := strconv.Itoa(p.PID)
	b = append(b, pid...)
	b = append(b, " ("...)
	b = append(b, p.Comm...)
	b = append(b, ") "...)
	b = append(b, state, ' ')
	b = strconv.AppendInt(b, int64(p.PPID), 10)
	b = append(b, ' ')
	b = append(b, pid...) // pgrp
	b = append(b, ' ')
	b = append(b, pid...) // session
	b = append(b, " 0 -1 4194560 1043 0 0 0 12 5 0 0 20 0 "...)
	b = strconv.AppendInt(b, int64(threads), 10)
	b = append(b, " 0 "...)
	b = strconv.AppendUint(b, p.StartTime, 10)
	b = append(b, " 3133440 378 18446744073709551615 94668240158720 94668240178601"+
		" 140734247732944 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 94668240194608"+
		" 94668240196224 94668263751680 140734247733953 140734247733973"+
		" 140734247733973 140734247735275 0\n"...)
	return b
}

// Write adds the processes to the synthetic /proc at root: a directory per
// process with its stat and comm files. A process already there is
// replaced.
func Write(tb testing.TB, root string, procs ...Proc) {
	tb.Helper()
	var b []byte
	for _, p := range procs {
		dir := filepath.Join(root, strconv.Itoa(p.PID))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			tb.Fatal(err)
		}
		b = StatLine(b[:0], p)
		if err := os.WriteFile(filepath.Join(dir, "stat"), b, 0o644); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "comm"), []byte(p.Comm+"\n"), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

// Remove deletes processes from the synthetic /proc at root, as if they
// had been reaped.
func Remove(tb testing.TB, root string, pids ...int) {
	tb.Helper()
	for _, pid := range pids {
		if err := os.RemoveAll(filepath.Join(root, strconv.Itoa(pid))); err != nil {
			tb.Fatal(err)
		}
	}
}

// Zombies gives process parent n zombie children named comm, with PIDs
// (and start times) from first on.
func Zombies(tb testing.TB, root string, parent, first, n int, comm string) {
	tb.Helper()
	procs := make([]Proc, n)
	for i := range procs {
		procs[i] = Proc{PID: first + i, PPID: parent, State: 'Z', Comm: comm, StartTime: uint64(first + i)}
	}
	Write(tb, root, procs...)
}

// Tree writes a synthetic /proc at root holding n processes shaped like a
// busy container: PID 1, a hundred worker parents below it, and the rest
// spread over the workers, one in ten a zombie, under a handful of
// command names.
func Tree(tb testing.TB, root string, n int) {
	tb.Helper()
	names := []string{"nginx", "php-fpm: pool www", "sh", "Web Content", "node"}
	procs := make([]Proc, 0, n)
	for pid := 1; pid <= n; pid++ {
		p := Proc{PID: pid, Comm: names[pid%len(names)], StartTime: uint64(1000 + pid)}
		switch {
		case pid == 1:
			p.Comm = "reaper-init"
		case pid <= 101:
			p.PPID, p.Threads = 1, 4
		default:
			p.PPID = 2 + pid%100
			if pid%10 == 0 {
				p.State = 'Z'
			}
		}
		procs = append(procs, p)
	}
	Write(tb, root, procs...)
}
