package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"
)

// reapResult holds one row's reap runs: orphans reaped per second and the
// peak number of unreaped orphans seen in /proc.
type reapResult struct {
	rate    []float64
	peak    []float64
	retries int // forks that failed with EAGAIN and were retried
	err     error
}

// reapTimeout bounds a whole reap run.
const reapTimeout = 5 * time.Minute

// reapStall fails a reap run in which the factory is done and the number
// of unreaped orphans has not gone down for this long: the init stopped
// reaping.
const reapStall = 10 * time.Second

// runReap runs the orphan factory under every row, round by round.
func (b *bench) runReap() {
	rows := b.rowsFor(wReap)
	b.reap = map[*row]*reapResult{}
	for _, r := range rows {
		b.reap[r] = &reapResult{}
	}
	b.logf("reap: %d runs of %d orphans under each of %d inits", b.cfg.reapRuns, b.cfg.orphans, len(rows))
	for i := 0; i < b.cfg.reapRuns; i++ {
		for _, k := range order(len(rows), i) {
			r := rows[k]
			res := b.reap[r]
			if res.err != nil || b.startup.errs[r] != nil {
				continue
			}
			rate, peak, retries, err := b.reapOnce(r, i)
			if err != nil {
				res.err = r.failure(err)
				b.logf("reap: %s: %v", r.name, res.err)
				continue
			}
			res.rate = append(res.rate, rate)
			res.peak = append(res.peak, float64(peak))
			res.retries += retries
			b.logf("reap: %-12s run %d: %8.0f orphans/s, peak %5d unreaped", r.name, i+1, rate, peak)
		}
	}
}

// reapOnce runs the orphan factory under r's init and watches the init's
// children in /proc from outside until the factory has made every orphan
// and the factory is the init's only child left.
func (b *bench) reapOnce(r *row, run int) (rate float64, peak, retries int, err error) {
	done := filepath.Join(b.dir, fmt.Sprintf("orphans-%d.done", run))
	os.Remove(done)
	pid, err := b.spawnPID1(r.argv(b.self, "orphans", strconv.Itoa(b.cfg.orphans), done), b.environ(r), r.logFile)
	if err != nil {
		return 0, 0, 0, err
	}
	defer kill(pid)
	// Stop before unreaped orphans take a third of the PID table: the
	// machine is shared, and an init that does not keep up is a result.
	limit := pidMax() / 3
	var finished bool
	lastCount, lastChange := -1, time.Now()
	deadline := time.Now().Add(reapTimeout)
	for {
		kids, err := children(pid)
		if err != nil {
			return 0, 0, 0, fmt.Errorf("init exited during the run: %w", err)
		}
		// Once it has started, the factory is the init's child until the
		// end: every other child is an orphan not yet reaped.
		n := len(kids) - 1
		if n > peak {
			peak = n
		}
		if n > limit {
			return 0, 0, 0, fmt.Errorf("%d orphans unreaped at once, a third of the PID table: stopped", n)
		}
		if !finished {
			_, err := os.Stat(done)
			finished = err == nil
		}
		if finished && n == 0 {
			end := monotonic()
			t0, made, retries, err := readDone(done)
			if err != nil {
				return 0, 0, 0, err
			}
			return float64(made) / (float64(end-t0) / 1e9), peak, retries, nil
		}
		if n < lastCount || !finished {
			lastChange = time.Now()
		}
		lastCount = n
		if time.Since(lastChange) > reapStall {
			return 0, 0, 0, fmt.Errorf("%d orphans left unreaped for %v after the last fork", n, reapStall)
		}
		if time.Now().After(deadline) {
			return 0, 0, 0, fmt.Errorf("run not over after %v (factory done: %v, %d orphans unreaped)", reapTimeout, finished, n)
		}
		time.Sleep(500 * time.Microsecond)
	}
}

// pidMax returns the size of the PID table, /proc/sys/kernel/pid_max
// (32768 when it cannot be read).
func pidMax() int {
	b, err := os.ReadFile("/proc/sys/kernel/pid_max")
	if err != nil {
		return 32768
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || n <= 0 {
		return 32768
	}
	return n
}

// readDone parses the factory's report: the clock at its first fork, the
// number of orphans it made and the forks it retried.
func readDone(path string) (t0 int64, n, retries int, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, 0, err
	}
	f := strings.Fields(string(b))
	if len(f) != 3 {
		return 0, 0, 0, fmt.Errorf("%s: malformed report %q", path, b)
	}
	t0, err = strconv.ParseInt(f[0], 10, 64)
	if err == nil {
		n, err = strconv.Atoi(f[1])
	}
	if err == nil {
		retries, err = strconv.Atoi(f[2])
	}
	if err != nil {
		return 0, 0, 0, fmt.Errorf("%s: %v", path, err)
	}
	return t0, n, retries, nil
}

// orphansWorkload is the orphan factory. It makes N orphans as fast as it
// can, each by a double fork whose middle process exits at once, so that
// the orphan is re-parented to the init and exits straight away, leaving a
// zombie for the init to reap. The factory reaps the middle processes
// itself. When all N are made it writes "T0 N RETRIES" to DONE (T0: the
// clock at the first fork) and sleeps until the init is killed: its own
// exit would end the run early.
//
// Usage: orphans N DONE
func orphansWorkload(args []string) int {
	n, ok := countArgs(args, "orphans N DONE", 1)
	if !ok {
		return 2
	}
	// The signal mask that forkOrphan sets must stay on this thread.
	runtime.LockOSThread()
	t0 := monotonic()
	retries := 0
	for made := 0; made < n; {
		pid, errno := forkOrphan()
		if errno == syscall.EAGAIN {
			// The PID table or a limit is full: wait for the init to
			// reap, as a real workload would have to.
			retries++
			time.Sleep(100 * time.Microsecond)
			continue
		}
		if errno != 0 {
			fmt.Fprintf(os.Stderr, "bench orphans: fork: %v\n", errno)
			return 1
		}
		code, err := waitPID(pid)
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench orphans: %v\n", err)
			return 1
		}
		switch syscall.Errno(code) {
		case 0:
			made++
		case syscall.EAGAIN:
			retries++
			time.Sleep(100 * time.Microsecond)
		default:
			fmt.Fprintf(os.Stderr, "bench orphans: middle process: fork: %v\n", syscall.Errno(code))
			return 1
		}
	}
	tmp := args[1] + ".tmp"
	report := fmt.Sprintf("%d %d %d\n", t0, n, retries)
	if err := os.WriteFile(tmp, []byte(report), 0o644); err != nil {
		fmt.Fprintf(os.Stderr, "bench orphans: %v\n", err)
		return 1
	}
	if err := os.Rename(tmp, args[1]); err != nil {
		fmt.Fprintf(os.Stderr, "bench orphans: %v\n", err)
		return 1
	}
	for {
		time.Sleep(time.Hour)
	}
}

// sigset is the kernel's signal set for rt_sigprocmask (64 signals).
type sigset uint64

// The how argument of rt_sigprocmask.
const (
	sigBlock   = 0 // SIG_BLOCK
	sigSetMask = 2 // SIG_SETMASK
)

var allSignals = ^sigset(0)

// cloneFlags make a vfork child: it shares the memory and the stack of
// its parent, which sleeps until the child exits. No page is copied, so
// making a process costs the least the kernel allows.
const cloneFlags = syscall.CLONE_VM | syscall.CLONE_VFORK | uintptr(syscall.SIGCHLD)

// forkOrphan makes one orphan: it forks a middle process, which forks the
// orphan and exits with the errno of that fork (0 on success); the orphan
// exits 0 at once. It returns the middle process's PID. Both forks are
// vfork-like (cloneFlags), so the orphan is already exiting when the middle
// process exits, and reaches the init re-parented, as a zombie or about to
// become one: the init gets the same SIGCHLD and makes the same wait4 as
// for a live orphan that exits later.
//
// Go has no fork without exec, so this is the raw system call, made the
// way the syscall package makes it before exec: every signal blocked on
// the calling (locked) thread, so that no Go signal handler runs in a
// child, and nothing but raw system calls in the children, in a function
// that cannot grow its stack.
//
//go:nosplit
func forkOrphan() (int, syscall.Errno) {
	var old sigset
	syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, sigSetMask,
		uintptr(unsafe.Pointer(&allSignals)), uintptr(unsafe.Pointer(&old)), unsafe.Sizeof(old), 0, 0)
	pid, _, errno := syscall.RawSyscall6(syscall.SYS_CLONE, cloneFlags, 0, 0, 0, 0, 0)
	if errno == 0 && pid == 0 {
		// The middle process.
		orphan, _, errno := syscall.RawSyscall6(syscall.SYS_CLONE, cloneFlags, 0, 0, 0, 0, 0)
		if errno == 0 && orphan == 0 {
			syscall.RawSyscall(syscall.SYS_EXIT_GROUP, 0, 0, 0) // the orphan
		}
		syscall.RawSyscall(syscall.SYS_EXIT_GROUP, uintptr(errno), 0, 0)
	}
	syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, sigSetMask,
		uintptr(unsafe.Pointer(&old)), 0, unsafe.Sizeof(old), 0, 0)
	return int(pid), errno
}
