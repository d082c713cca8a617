package main

// The health-probe workload: what `reaper-init --check` costs in a PID
// namespace of N processes. Each size gets a fresh namespace whose PID 1
// is reaper-init (--watch 0) and whose child, check-zombies, makes N
// zombies and never reaps them: the incident the probe is for, and the
// cheapest way to fill a namespace with N processes. The probe then runs
// in that namespace the way docker exec runs it, entered from outside:
// `nsenter -t PID1 -p -m BENCH check-run INIT --check`, where check-run,
// inside the namespace, times the probe from fork to wait4 and reads its
// peak resident set from wait4's rusage (ru_maxrss: the kernel's VmHWM of
// the probe at its exit; nsenter's own would be mixed in if nsenter's
// rusage were read instead).

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"
)

// checkConfig is the probe workload's part of the configuration.
type checkConfig struct {
	sizes string // comma-separated namespace sizes
	runs  int    // probe runs per size
}

// checkPIDReserve is how many PIDs of the machine's table the workload
// leaves free: the machine is shared, and a size that would leave fewer
// is not run.
const checkPIDReserve = 2048

// Targets of the probe: "a few milliseconds for a few hundred
// processes", and bounded at 30,000.
const (
	checkSmall          = 300
	checkSmallTargetMS  = 10.0
	checkLarge          = 30000
	checkLargeTargetMS  = 2000.0
	checkLargeTargetKiB = 32 << 10
)

func init() {
	workloads["check-zombies"] = checkZombiesWorkload
	workloads["check-run"] = checkRunWorkload
}

// flags registers the workload's flags.
func (c *checkConfig) flags(fs *flag.FlagSet) {
	fs.StringVar(&c.sizes, "check-sizes", fmt.Sprintf("%d,%d", checkSmall, checkLarge), "comma-separated `sizes` of the namespaces --check is timed in")
	fs.IntVar(&c.runs, "check-runs", 10, "--check runs per namespace size")
}

// quick sets the quick mode's sizes, unless set on the command line.
func (c *checkConfig) quick(set map[string]bool) {
	if !set["check-sizes"] {
		c.sizes = fmt.Sprintf("%d,3000", checkSmall)
	}
	if !set["check-runs"] {
		c.runs = 2
	}
}

// parse returns the sizes, or an error for a bad flag.
func (c *checkConfig) parse() ([]int, error) {
	var sizes []int
	for _, f := range strings.Split(c.sizes, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-check-sizes: bad size %q", f)
		}
		sizes = append(sizes, n)
	}
	if c.runs < 1 {
		return nil, errors.New("-check-runs must be positive")
	}
	return sizes, nil
}

// checkResult is one namespace size's figures.
type checkResult struct {
	n       int
	wallMS  []float64 // fork to wait4, inside the namespace
	cpuMS   []float64 // user + system
	hwmKiB  []float64 // ru_maxrss
	exit    int       // the last run's exit code
	verdict string    // the last run's first line of output
	err     error
}

// runCheck times reaper-init --check in a namespace of each size.
func (b *bench) runCheck() {
	r := b.find(rowReaper)
	if r == nil {
		return
	}
	sizes, _ := b.cfg.check.parse() // checked in run
	nsenter, err := lookTool("nsenter")
	for _, n := range sizes {
		res := &checkResult{n: n, err: err}
		b.check = append(b.check, res)
		if res.err == nil {
			res.err = b.checkOnce(r, nsenter, res)
		}
		if res.err != nil {
			b.logf("check: %d processes: %v", n, res.err)
			continue
		}
		d := summarize(append([]float64(nil), res.wallMS...))
		b.logf("check: %6d processes: median %s ms, VmHWM %s KiB, exit %d: %s", n, num(d.med, 2), num(maxOf(res.hwmKiB), 0), res.exit, res.verdict)
	}
}

// checkOnce fills a namespace with n zombies under reaper-init and runs
// the probe in it cfg.runs times.
func (b *bench) checkOnce(r *row, nsenter string, res *checkResult) error {
	if free := pidMax() - runningTasks(); res.n+checkPIDReserve > free {
		return fmt.Errorf("not run: it needs %d PIDs and leaves %d free, fewer than %d of kernel.pid_max %d (raise it: sysctl -w kernel.pid_max=4194304)",
			res.n, free-res.n, checkPIDReserve, pidMax())
	}
	ready := filepath.Join(b.dir, fmt.Sprintf("check-%d.ready", res.n))
	os.Remove(ready)
	pid, err := b.spawnPID1([]string{r.path, "--watch", "0", "--", b.self, "check-zombies", strconv.Itoa(res.n), ready}, b.environ(r), r.logFile)
	if err != nil {
		return err
	}
	defer kill(pid)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if _, err := os.Stat(ready); err == nil {
			break
		}
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err != nil || time.Now().After(deadline) {
			return r.failure(fmt.Errorf("the namespace of %d zombies did not get ready", res.n))
		}
		time.Sleep(10 * time.Millisecond)
	}
	for i := 0; i < b.cfg.check.runs; i++ {
		var out, stderr bytes.Buffer
		cmd := exec.Command(nsenter, "-t", strconv.Itoa(pid), "-p", "-m", "--", b.self, "check-run", r.path, "--check")
		cmd.Stdout, cmd.Stderr = &out, &stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("nsenter check-run: %v: %s", err, strings.TrimSpace(stderr.String()))
		}
		var wallUS, cpuUS, hwm int64
		line := strings.TrimSpace(out.String())
		rest, ok := strings.CutPrefix(line, "check ")
		if _, err := fmt.Sscanf(rest, "exit=%d wall_us=%d cpu_us=%d maxrss_kib=%d", &res.exit, &wallUS, &cpuUS, &hwm); !ok || err != nil {
			return fmt.Errorf("check-run: unexpected report %q", line)
		}
		_, res.verdict, _ = strings.Cut(rest, " out=")
		res.wallMS = append(res.wallMS, float64(wallUS)/1e3)
		res.cpuMS = append(res.cpuMS, float64(cpuUS)/1e3)
		res.hwmKiB = append(res.hwmKiB, float64(hwm))
	}
	if want := " zombies=" + strconv.Itoa(res.n-2) + " "; res.exit != 1 || !strings.Contains(res.verdict, want) {
		return fmt.Errorf("verdict: exit %d, %q; want exit 1 naming the %d zombies", res.exit, res.verdict, res.n-2)
	}
	return nil
}

func (b *bench) reportCheck(p printer) {
	if len(b.check) == 0 {
		return
	}
	p("\n## 7. Health probe\n\n")
	p("`reaper-init --check` in a PID namespace of N processes: reaper-init as PID 1 (`--watch 0`), its child holding N-2 zombies. The probe is started from outside with `nsenter -t PID1 -p -m`, as `docker exec` starts it; a helper inside the namespace times it from fork to wait4 and reads its peak resident set (ru_maxrss, the VmHWM of the probe at exit). %d runs per size.\n\n", b.cfg.check.runs)
	p("| processes | median ms | p10 ms | p90 ms | CPU ms median | VmHWM KiB max | exit | verdict |\n|--:|--:|--:|--:|--:|--:|--:|---|\n")
	var notes []string
	for _, res := range b.check {
		if res.err != nil || len(res.wallMS) == 0 {
			p("| %d | — | | | | | | |\n", res.n)
			notes = append(notes, fmt.Sprintf("%d processes: %v", res.n, res.err))
			continue
		}
		d, cpu := summarize(append([]float64(nil), res.wallMS...)), summarize(append([]float64(nil), res.cpuMS...))
		verdict := res.verdict
		if len(verdict) > 80 {
			verdict = verdict[:80] + "…"
		}
		p("| %d | %s | %s | %s | %s | %s | %d | `%s` |\n", res.n, num(d.med, 2), num(d.p10, 2), num(d.p90, 2), num(cpu.med, 2),
			num(maxOf(res.hwmKiB), 0), res.exit, verdict)
	}
	printNotes(p, notes)
	p("\n| target | measured | verdict |\n|---|---|---|\n")
	for _, res := range b.check {
		if res.n != checkSmall && res.n != checkLarge {
			continue
		}
		target := fmt.Sprintf("%d processes: median ≤ %.0f ms", checkSmall, checkSmallTargetMS)
		if res.n == checkLarge {
			target = fmt.Sprintf("%d processes: p90 ≤ %.0f ms, VmHWM ≤ %d MiB", checkLarge, checkLargeTargetMS, checkLargeTargetKiB>>10)
		}
		if res.err != nil || len(res.wallMS) == 0 {
			p("| %s | — | not measured |\n", target)
			continue
		}
		d, hwm := summarize(append([]float64(nil), res.wallMS...)), maxOf(res.hwmKiB)
		ok := d.med <= checkSmallTargetMS
		if res.n == checkLarge {
			ok = d.p90 <= checkLargeTargetMS && hwm <= checkLargeTargetKiB
		}
		verdict := "missed"
		if ok {
			verdict = "met"
		}
		p("| %s | median %s ms, p90 %s ms, VmHWM %s KiB | %s |\n", target, num(d.med, 2), num(d.p90, 2), num(hwm, 0), verdict)
	}
}

// checkZombiesWorkload makes N-2 zombies (the namespace then holds N
// processes with reaper-init and this one), writes READY and sleeps until
// the namespace is killed, never reaping them.
//
// Usage: check-zombies N READY
func checkZombiesWorkload(args []string) int {
	n, ok := countArgs(args, "check-zombies N READY", 3)
	if !ok {
		return 2
	}
	// The signal mask that forkZombie sets must stay on this thread.
	runtime.LockOSThread()
	for made := 0; made < n-2; made++ {
		if errno := forkZombie(); errno != 0 {
			fmt.Fprintf(os.Stderr, "bench check-zombies: fork %d: %v\n", made, errno)
			return 1
		}
	}
	if err := os.WriteFile(args[1], []byte("ready\n"), 0o644); err != nil {
		fmt.Fprintf(os.Stderr, "bench check-zombies: %v\n", err)
		return 1
	}
	for {
		time.Sleep(time.Hour)
	}
}

// forkZombie makes one child that exits at once, and does not wait for
// it. It is forkOrphan (reap.go) with one fork instead of two: a vfork-like
// clone, every signal blocked around it, nothing but raw system calls in
// the child.
//
//go:nosplit
func forkZombie() syscall.Errno {
	var old sigset
	syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, sigSetMask,
		uintptr(unsafe.Pointer(&allSignals)), uintptr(unsafe.Pointer(&old)), unsafe.Sizeof(old), 0, 0)
	pid, _, errno := syscall.RawSyscall6(syscall.SYS_CLONE, cloneFlags, 0, 0, 0, 0, 0)
	if errno == 0 && pid == 0 {
		syscall.RawSyscall(syscall.SYS_EXIT_GROUP, 0, 0, 0)
	}
	syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, sigSetMask,
		uintptr(unsafe.Pointer(&old)), 0, unsafe.Sizeof(old), 0, 0)
	return errno
}

// checkRunWorkload runs INIT --check once, inside the namespace nsenter
// put it in, and prints "check exit=E wall_us=W cpu_us=C maxrss_kib=M
// out=FIRST LINE".
//
// Usage: check-run INIT [ARGS...]
func checkRunWorkload(args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: bench check-run INIT [ARGS...]")
		return 2
	}
	var out bytes.Buffer
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		fmt.Fprintf(os.Stderr, "bench check-run: %v\n", err)
		return 1
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		fmt.Fprintln(os.Stderr, "bench check-run: no rusage")
		return 1
	}
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	first, _, _ := strings.Cut(out.String(), "\n")
	fmt.Printf("check exit=%d wall_us=%d cpu_us=%d maxrss_kib=%d out=%s\n",
		cmd.ProcessState.ExitCode(), wall.Microseconds(), cpu.Microseconds(), ru.Maxrss, first)
	return 0
}
