package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"
)

// The pauses between the signals of the crowd test are drawn uniformly
// from [crowdGapMin, crowdGapMax): long enough for the init to be idle
// when each signal comes, and random, so that the signals fall anywhere
// in the watch's interval instead of in step with it.
const (
	crowdGapMin = 1 * time.Millisecond
	crowdGapMax = 5 * time.Millisecond
)

// crowdScanCPU is the CPU time the init must have used since the
// previous signal for the next one to count as sent during a scan (with,
// as well, a thread of the init running): more than forwarding a signal
// and the Go runtime's housekeeping cost, less than a scan's share of the
// shortest pause.
const crowdScanCPU = 200 * time.Microsecond

// crowdReserve is how many PIDs the crowd test leaves free on the
// machine, for everything else that runs on it meanwhile.
const crowdReserve = 2048

// crowdResult holds the figures of the crowd test.
type crowdResult struct {
	size int    // sleeping processes per instance
	note string // why size is smaller than asked, or ""
	err  error  // the test could not run at all
	rows map[*row]*crowdRow
}

// crowdRow holds one row's crowd figures: every latency, in
// microseconds, and, per instance, the init's CPU share and threads.
type crowdRow struct {
	lat      []float64
	busyLat  []float64 // the latencies of the signals sent while the init was running
	cpuPct   []float64 // the init's CPU time over the signalling window, % of the window
	threads  []float64 // the init's threads at the end of the window
	setupSec []float64 // from the init's start until the crowd was made and the child ready
	err      error
}

// runCrowd repeats the signal test with a crowd of sleeping processes in
// the init's PID namespace: the init's child makes them (they are its
// children, in a process group of their own, so that a signal forwarded
// to the child's group does not reach them) and then becomes the sigack
// child. Each row gets crowdRounds fresh crowds, the rows taking turns.
func (b *bench) runCrowd() {
	rows := b.rowsFor(wCrowd)
	res := &b.crowd
	res.rows = map[*row]*crowdRow{}
	for _, r := range rows {
		res.rows[r] = &crowdRow{}
	}
	room, why := pidRoom()
	res.size = b.cfg.crowd
	if room < res.size {
		res.size = room
		res.note = fmt.Sprintf("%d sleeping processes instead of %d: %s, and %d are kept free", room, b.cfg.crowd, why, crowdReserve)
	}
	if res.size < 1 {
		res.err = fmt.Errorf("no room for a crowd: %s, and %d are kept free", why, crowdReserve)
		b.logf("crowd: %v", res.err)
		return
	}
	if res.note != "" {
		b.logf("crowd: %s", res.note)
	}
	b.logf("crowd: %d sleeping processes, %v of SIGUSR1 every %v–%v, %d round(s) of %d inits",
		res.size, b.cfg.crowdWindow, crowdGapMin, crowdGapMax, b.cfg.crowdRounds, len(rows))
	for i := 0; i < b.cfg.crowdRounds; i++ {
		for _, k := range order(len(rows), i) {
			r := rows[k]
			cr := res.rows[r]
			if cr.err != nil || b.startup.errs[r] != nil {
				continue
			}
			start := time.Now()
			if err := b.crowdOnce(r, cr, i, res.size); err != nil {
				cr.err = r.failure(err)
				b.logf("crowd: %s: %v", r.name, cr.err)
				continue
			}
			b.logf("crowd: %-26s round %d: %d signals, %.1fs to make the crowd, %.1fs in all",
				r.name, i+1, len(cr.lat), cr.setupSec[len(cr.setupSec)-1], time.Since(start).Seconds())
		}
	}
}

// crowdOnce runs one instance of the crowd test under r's init and adds
// its figures to cr.
func (b *bench) crowdOnce(r *row, cr *crowdRow, round, n int) error {
	fifo := b.ackFIFO(round)
	rng := rand.New(rand.NewPCG(uint64(round), uint64(n)))
	start := time.Now()
	var before map[int]taskUsage
	var windowStart time.Time
	var setup, cpuPct, threads float64
	var tasks []string // the init's /proc/PID/task/TID/stat files
	var lastCPU time.Duration
	run := sigRun{
		child:  []string{b.self, "crowd", strconv.Itoa(n), fifo},
		fifo:   fifo,
		ready:  30*time.Second + time.Duration(n)*time.Millisecond,
		window: b.cfg.crowdWindow,
		gap:    func() time.Duration { return crowdGapMin + time.Duration(rng.Int64N(int64(crowdGapMax-crowdGapMin))) },
		onReady: func(pid int) error {
			setup = time.Since(start).Seconds()
			if err := checkCrowd(pid, n); err != nil {
				return err
			}
			var err error
			tasks, err = filepath.Glob(fmt.Sprintf("/proc/%d/task/*/stat", pid))
			if err != nil || len(tasks) == 0 {
				return fmt.Errorf("init's threads: none in /proc (%v)", err)
			}
			before, err = processUsage(pid)
			windowStart = time.Now()
			lastCPU, _ = processCPU(pid)
			return err
		},
		probe: func(pid int) bool {
			cpu, err := processCPU(pid)
			used := cpu - lastCPU
			lastCPU = cpu
			return err == nil && used >= crowdScanCPU && anyRunning(tasks)
		},
		onDone: func(pid int) error {
			after, err := processUsage(pid)
			if err != nil {
				return fmt.Errorf("init exited during the run: %w", err)
			}
			cpuPct = float64(sumUsage(after, before).cpuNS) / float64(time.Since(windowStart)) * 100
			threads = float64(len(after))
			return nil
		},
	}
	lat, busy, err := b.signalOnce(r, run)
	if err != nil {
		return err
	}
	cr.lat = append(cr.lat, lat...)
	for i, x := range lat {
		if busy[i] {
			cr.busyLat = append(cr.busyLat, x)
		}
	}
	cr.cpuPct = append(cr.cpuPct, cpuPct)
	cr.threads = append(cr.threads, threads)
	cr.setupSec = append(cr.setupSec, setup)
	return nil
}

// checkCrowd checks that the init pid has one child, the sigack child,
// and that it has n children, the crowd.
func checkCrowd(pid, n int) error {
	kids, err := children(pid)
	if err != nil {
		return err
	}
	if len(kids) != 1 {
		return fmt.Errorf("init has %d children, want 1 (the crowd's parent)", len(kids))
	}
	crowd, err := children(kids[0])
	if err != nil {
		return err
	}
	if len(crowd) != n {
		return fmt.Errorf("the crowd has %d processes, want %d", len(crowd), n)
	}
	return nil
}

// processCPU returns the CPU time used so far by every thread of pid,
// from the kernel's per-process CPU clock (clock_getcpuclockid(3)).
func processCPU(pid int) (time.Duration, error) {
	const cpuClockSched = 2 // CPUCLOCK_SCHED: the scheduler's runtime, in ns
	clock := uintptr(^pid<<3 | cpuClockSched)
	var ts syscall.Timespec
	if _, _, errno := syscall.RawSyscall(syscall.SYS_CLOCK_GETTIME, clock, uintptr(unsafe.Pointer(&ts)), 0); errno != 0 {
		return 0, fmt.Errorf("clock_gettime(CPU clock of %d): %w", pid, errno)
	}
	return time.Duration(ts.Nano()), nil
}

// anyRunning reports whether any of the threads whose /proc stat files
// are given is running or waiting for the CPU (state R) or in an
// uninterruptible wait (D, as in some /proc reads). Threads that are gone
// are left out, as are threads started after the list was made.
func anyRunning(stats []string) bool {
	for _, p := range stats {
		if f, err := statFields(p); err == nil && (f[0] == "R" || f[0] == "D") {
			return true
		}
	}
	return false
}

// pidRoom returns how many more processes can be started on this machine
// while crowdReserve PIDs stay free, and what bounds that number: the
// PID table (kernel.pid_max, less the 300 PIDs the kernel skips when it
// wraps around and the tasks running now), kernel.threads-max, and the
// pids cgroups this program is in.
func pidRoom() (int, string) {
	tasks := runningTasks()
	room := pidMax() - 300 - tasks
	why := fmt.Sprintf("kernel.pid_max is %d and %d tasks run", pidMax(), tasks)
	if n, ok := readSysInt("/proc/sys/kernel/threads-max"); ok && n-tasks < room {
		room, why = n-tasks, fmt.Sprintf("kernel.threads-max is %d and %d tasks run", n, tasks)
	}
	for _, d := range pidsCgroups() {
		max, ok1 := readSysInt(filepath.Join(d, "pids.max"))
		cur, ok2 := readSysInt(filepath.Join(d, "pids.current"))
		if ok1 && ok2 && max-cur < room {
			room, why = max-cur, fmt.Sprintf("%s/pids.max is %d and %d are in use", d, max, cur)
		}
	}
	return max(room-crowdReserve, 0), why
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

// pidsCgroups returns the directories of the pids cgroups this program is
// in, and their ancestors, from /proc/self/cgroup: the cgroup v1 pids
// hierarchy and the v2 one.
func pidsCgroups() []string {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil
	}
	var dirs []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) != 3 {
			continue
		}
		var root string
		switch {
		case f[0] == "0" && f[1] == "":
			root = "/sys/fs/cgroup"
		case strings.Contains(","+f[1]+",", ",pids,"):
			root = "/sys/fs/cgroup/pids"
		default:
			continue
		}
		for p := filepath.Clean("/" + f[2]); ; p = filepath.Dir(p) {
			dirs = append(dirs, filepath.Join(root, p))
			if p == "/" {
				break
			}
		}
	}
	return dirs
}

// readSysInt reads a file holding one decimal number ("max" is not one).
func readSysInt(path string) (int, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	n, err := strconv.Atoi(string(bytes.TrimSpace(b)))
	return n, err == nil
}

// crowdWorkload makes N sleeping processes, its children, all in one new
// process group (led by the first), then becomes the sigack child on
// FIFO. The sleepers block every signal and sleep in pause(2) until the
// PID namespace is torn down; each costs the kernel a task and little
// else (see cloneSleeper).
//
// Usage: crowd N FIFO
func crowdWorkload(args []string) int {
	if len(args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: bench crowd N FIFO")
		return 2
	}
	n, err := strconv.Atoi(args[0])
	if err != nil || n < 1 {
		fmt.Fprintf(os.Stderr, "bench crowd: bad count %q\n", args[0])
		return 2
	}
	// The signal mask that forkSleeper sets must stay on this thread.
	runtime.LockOSThread()
	leader := 0
	for made, retries := 0, 0; made < n; {
		pid, errno := forkSleeper()
		if errno == syscall.EAGAIN && retries < 1000 {
			retries++
			time.Sleep(time.Millisecond)
			continue
		}
		if errno != 0 {
			fmt.Fprintf(os.Stderr, "bench crowd: clone, after %d sleepers: %v\n", made, errno)
			return 1
		}
		if leader == 0 {
			leader = pid
		}
		if err := syscall.Setpgid(pid, leader); err != nil {
			fmt.Fprintf(os.Stderr, "bench crowd: setpgid: %v\n", err)
			return 1
		}
		made++
	}
	return sigackWorkload(args[1:])
}

// forkSleeper starts one sleeper with every signal blocked, so that it
// inherits the full mask and no Go signal handler can run in it, and
// returns its PID.
func forkSleeper() (int, syscall.Errno) {
	var old sigset
	syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, sigSetMask,
		uintptr(unsafe.Pointer(&allSignals)), uintptr(unsafe.Pointer(&old)), unsafe.Sizeof(old), 0, 0)
	pid, errno := cloneSleeper(sleeperFlags)
	syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, sigSetMask,
		uintptr(unsafe.Pointer(&old)), 0, unsafe.Sizeof(old), 0, 0)
	return int(pid), syscall.Errno(errno)
}
