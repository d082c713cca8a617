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
	lat         []float64
	busyLat     []float64 // the latencies of the signals sent while the init was running
	cpuPct      []float64 // the init's CPU time over the signalling window, % of the window
	threads     []float64 // the init's threads at the end of the window
	setupSec    []float64 // from the init's start until the crowd was made and the child ready
	teardownSec []float64 // from the last signal until the init was reaped
	err         error
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
	sleeper := "-"
	if elf := sleeperELF(); elf != nil {
		sleeper = filepath.Join(b.dir, "sleeper")
		if err := os.WriteFile(sleeper, elf, 0o755); err != nil {
			res.err = err
			b.logf("crowd: %v", err)
			return
		}
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
			if err := b.crowdOnce(r, cr, i, res.size, sleeper); err != nil {
				cr.err = r.failure(err)
				b.logf("crowd: %s: %v", r.name, cr.err)
				continue
			}
			b.logf("crowd: %-26s round %d: %d signals in all, %.1fs to make the crowd, %.1fs to tear it down, %.1fs in all",
				r.name, i+1, len(cr.lat), cr.setupSec[len(cr.setupSec)-1], cr.teardownSec[len(cr.teardownSec)-1], time.Since(start).Seconds())
		}
	}
}

// crowdOnce runs one instance of the crowd test under r's init and adds
// its figures to cr.
func (b *bench) crowdOnce(r *row, cr *crowdRow, round, n int, sleeper string) error {
	fifo := b.ackFIFO(round)
	rng := rand.New(rand.NewPCG(uint64(round), uint64(n)))
	start := time.Now()
	var before map[int]taskUsage
	var windowStart time.Time
	var setup, cpuPct, threads float64
	var done time.Time
	var tasks []string    // the init's /proc/PID/task/TID/stat files
	var crowd []int       // the sleepers
	var parent int        // theirs, the sigack child
	var killRecorded bool // setCrowdKill was called for this crowd
	run := sigRun{
		child:  []string{b.self, "crowd", strconv.Itoa(n), sleeper, fifo},
		fifo:   fifo,
		ready:  30*time.Second + time.Duration(n)*time.Millisecond,
		window: b.cfg.crowdWindow,
		gap:    func() time.Duration { return crowdGapMin + time.Duration(rng.Int64N(int64(crowdGapMax-crowdGapMin))) },
		onReady: func(pid int) error {
			setup = time.Since(start).Seconds()
			var err error
			parent, crowd, err = checkCrowd(pid, n)
			b.setCrowdKill(func() { b.killCrowd(r, parent, crowd) })
			killRecorded = true
			if err != nil {
				return err
			}
			tasks, err = filepath.Glob(fmt.Sprintf("/proc/%d/task/*/stat", pid))
			if err != nil || len(tasks) == 0 {
				return fmt.Errorf("init's threads: none in /proc (%v)", err)
			}
			before, err = processUsage(pid)
			windowStart = time.Now()
			return err
		},
		probe: func(pid int) bool { return holdsProc(pid) && anyRunning(tasks) },
		beforeKill: func(pid int) {
			if !killRecorded {
				// The child never got ready: kill what there is of the crowd.
				if parent, crowd, _ := checkCrowd(pid, n); len(crowd) > 0 {
					b.killCrowd(r, parent, crowd)
				}
			}
			b.stopCrowd()
		},
		onDone: func(pid int) error {
			after, err := processUsage(pid)
			if err != nil {
				return fmt.Errorf("init exited during the run: %w", err)
			}
			cpuPct = float64(sumUsage(after, before).cpuNS) / float64(time.Since(windowStart)) * 100
			threads = float64(len(after))
			done = time.Now()
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
	cr.teardownSec = append(cr.teardownSec, time.Since(done).Seconds())
	return nil
}

// checkCrowd checks that the init pid has one child, the sigack child,
// and that it has n children, the crowd, and returns their PIDs.
func checkCrowd(pid, n int) (parent int, crowd []int, err error) {
	kids, err := children(pid)
	if err != nil {
		return 0, nil, err
	}
	if len(kids) != 1 {
		return 0, nil, fmt.Errorf("init has %d children, want 1 (the crowd's parent)", len(kids))
	}
	crowd, err = children(kids[0])
	if err != nil {
		return 0, nil, err
	}
	if len(crowd) != n {
		return kids[0], crowd, fmt.Errorf("the crowd has %d processes, want %d", len(crowd), n)
	}
	return kids[0], crowd, nil
}

// setCrowdKill records how to kill the crowd alive now (nil: none).
func (b *bench) setCrowdKill(f func()) {
	b.crowdMu.Lock()
	b.crowdKill = f
	b.crowdMu.Unlock()
}

// stopCrowd kills the crowd alive now, if any, once.
func (b *bench) stopCrowd() {
	b.crowdMu.Lock()
	f := b.crowdKill
	b.crowdKill = nil
	b.crowdMu.Unlock()
	if f != nil {
		f()
	}
}

// crowdKillWait bounds the wait for a killed crowd to have exited.
const crowdKillWait = time.Minute

// killCrowd kills the sleepers (their process group) and waits until
// every one has exited, before the init is killed. Killed with the init
// instead, they could outlive their parent and be handed, alive, to the
// dying init, whose kernel-side reaping then walks its list of children,
// 30,000 long, at every exit: minutes of holding a lock that every fork
// and exit on the machine needs. Their parent ignores SIGCHLD (see
// sigackWaitWorkload), so each is released as soon as it exits.
//
// A sleeper's PID is free again as soon as it has exited, and may be
// taken by any new process on the machine: a PID counts as a sleeper
// still running while its parent and its process group are the crowd's.
func (b *bench) killCrowd(r *row, parent int, crowd []int) {
	if len(crowd) == 0 {
		return
	}
	start := time.Now()
	// The PGID, as this program's PID namespace numbers it, from a
	// sleeper that is still the parent's child (a PID that is not may
	// belong to anyone by now).
	pgid := 0
	for _, pid := range crowd {
		f, err := statFields(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil || f[1] != strconv.Itoa(parent) {
			continue
		}
		if n, err := strconv.Atoi(f[2]); err == nil && n > 1 {
			pgid = n
			break
		}
	}
	if pgid == 0 {
		return // the crowd is gone
	}
	syscall.Kill(-pgid, syscall.SIGKILL)
	running := func(pid int) (byte, bool) {
		f, err := statFields(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil || f[0] == "X" || f[0] == "Z" || f[1] != strconv.Itoa(parent) || f[2] != strconv.Itoa(pgid) {
			return 0, false
		}
		return f[0][0], true
	}
	deadline := time.Now().Add(crowdKillWait)
	for i := len(crowd) - 1; i >= 0; {
		if st, ok := running(crowd[i]); ok {
			if time.Now().After(deadline) {
				b.logf("crowd: %s: sleeper %d still %c %v after it was killed", r.name, crowd[i], st, crowdKillWait)
				return
			}
			time.Sleep(20 * time.Millisecond)
			continue
		}
		i--
	}
	b.logf("crowd: %s: %d sleepers killed and gone in %.1fs", r.name, len(crowd), time.Since(start).Seconds())
}

// holdsProc reports whether the process pid has a descriptor open on
// /proc (as its own mount namespace names it): the watch's scanner holds
// one while it reads /proc, and nothing else in an init opens it.
func holdsProc(pid int) bool {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	fds, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, fd := range fds {
		if target, err := os.Readlink(dir + "/" + fd.Name()); err == nil && target == "/proc" {
			return true
		}
	}
	return false
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
	pm := pidMax()
	room := pm - 300 - tasks
	why := fmt.Sprintf("kernel.pid_max is %d and %d tasks run", pm, tasks)
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
// FIFO. Each sleeper is SLEEPER (see sleeperELF), or, when SLEEPER is "-",
// a fork of this program that sleeps; it starts with every signal blocked
// and sleeps until the PID namespace is torn down.
//
// Usage: crowd N SLEEPER FIFO
func crowdWorkload(args []string) int {
	n, ok := countArgs(args, "crowd N SLEEPER FIFO", 1)
	if !ok {
		return 2
	}
	start := forkSleeper
	if path := args[1]; path != "-" {
		start = func(pgid int) (int, syscall.Errno) {
			pid, err := syscall.ForkExec(path, []string{path}, &syscall.ProcAttr{
				Env:   []string{},
				Files: []uintptr{}, // no descriptor at all
				Sys:   &syscall.SysProcAttr{Setpgid: true, Pgid: pgid},
			})
			if errno, ok := err.(syscall.Errno); ok {
				return 0, errno
			}
			if err != nil {
				return 0, syscall.EINVAL
			}
			return pid, 0
		}
	}
	// Every signal blocked on this (locked) thread, so that each sleeper
	// starts with every signal blocked: the syscall package's child
	// restores the mask of the thread that forks it, and exec keeps it.
	runtime.LockOSThread()
	var old sigset
	syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, sigSetMask,
		uintptr(unsafe.Pointer(&allSignals)), uintptr(unsafe.Pointer(&old)), unsafe.Sizeof(old), 0, 0)
	leader := 0
	for made, retries := 0, 0; made < n; {
		pid, errno := start(leader)
		if errno == syscall.EAGAIN && retries < 1000 {
			retries++
			time.Sleep(time.Millisecond)
			continue
		}
		if errno != 0 {
			fmt.Fprintf(os.Stderr, "bench crowd: start a sleeper, after %d: %v\n", made, errno)
			reapCrowd(leader)
			return 1
		}
		if leader == 0 {
			// The first one shows whether they can start at all.
			time.Sleep(10 * time.Millisecond)
			var ws syscall.WaitStatus
			if got, _ := syscall.Wait4(pid, &ws, syscall.WNOHANG, nil); got == pid {
				fmt.Fprintf(os.Stderr, "bench crowd: sleeper %s ended at once (%v)\n", args[1], ws)
				return 1
			}
			leader = pid
		}
		made++
	}
	syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, sigSetMask,
		uintptr(unsafe.Pointer(&old)), 0, unsafe.Sizeof(old), 0, 0)
	return sigackWorkload(args[2:])
}

// reapCrowd kills the sleepers of process group pgid (0: none yet) and
// reaps them, so that a crowd that could not be made all leaves nothing
// for the init to inherit.
func reapCrowd(pgid int) {
	if pgid <= 0 {
		return
	}
	syscall.Kill(-pgid, syscall.SIGKILL)
	for {
		_, err := syscall.Wait4(-1, nil, syscall.WALL, nil)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return // ECHILD: every child reaped
		}
	}
}

// forkSleeper forks this process into a sleeper in process group pgid
// (0: a new one, led by the sleeper), and returns its PID. Every signal
// must be blocked on the calling thread. The child, a copy of this
// process with one thread and its own memory (a plain fork, so that the
// child never runs on this process's stack), makes nothing but raw system
// calls, in a function that cannot grow its stack; ppoll with no
// descriptors and no timeout sleeps as pause(2) does.
//
//go:nosplit
func forkSleeper(pgid int) (int, syscall.Errno) {
	pid, _, errno := syscall.RawSyscall6(syscall.SYS_CLONE, uintptr(syscall.SIGCHLD), 0, 0, 0, 0, 0)
	if errno == 0 && pid == 0 {
		syscall.RawSyscall(syscall.SYS_SETPGID, 0, uintptr(pgid), 0)
		for {
			syscall.RawSyscall6(syscall.SYS_PPOLL, 0, 0, 0, 0, 0, 0)
		}
	}
	return int(pid), errno
}
