package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"time"
	"unsafe"
)

// signalResult holds one row's signal latencies in microseconds.
type signalResult struct {
	lat []float64
	err error
}

// signalGap is the pause between an acknowledgement and the next signal,
// so that every signal finds the init idle, waiting for the next event.
const signalGap = 200 * time.Microsecond

// runSignal sends SIGUSR1 to every row's init, one signal at a time,
// spread over a few fresh inits per row taken in turns.
func (b *bench) runSignal() {
	rows := b.rowsFor(wSignal)
	b.signal = map[*row]*signalResult{}
	for _, r := range rows {
		b.signal[r] = &signalResult{}
	}
	b.logf("signal: %d SIGUSR1 to each of %d inits, over %d rounds", b.cfg.signals, len(rows), b.cfg.signalRounds)
	for i := 0; i < b.cfg.signalRounds; i++ {
		count := b.cfg.signals / b.cfg.signalRounds
		if i < b.cfg.signals%b.cfg.signalRounds {
			count++
		}
		for _, k := range order(len(rows), i) {
			r := rows[k]
			res := b.signal[r]
			if res.err != nil || r.silent || b.startup.errs[r] != nil {
				continue
			}
			fifo := b.ackFIFO(i)
			lat, _, err := b.signalOnce(r, sigRun{
				child: []string{b.self, "sigack", fifo},
				fifo:  fifo,
				ready: 10 * time.Second,
				count: count,
				gap:   func() time.Duration { return signalGap },
			})
			if err != nil {
				res.err = r.failure(err)
				b.logf("signal: %s: %v", r.name, res.err)
				continue
			}
			res.lat = append(res.lat, lat...)
		}
	}
}

// ackFIFO returns the path of the FIFO of round i.
func (b *bench) ackFIFO(round int) string {
	return filepath.Join(b.dir, fmt.Sprintf("ack-%d", round))
}

// sigRun describes one instance of a signal-latency run.
type sigRun struct {
	child  []string             // the init's command: the sigack child, on fifo
	fifo   string               // the acknowledgements' FIFO
	ready  time.Duration        // how long the child may take to be ready
	count  int                  // signals to send; 0: until window has passed
	window time.Duration        // how long to send signals when count is 0
	gap    func() time.Duration // the pause before each signal
	// onReady and onDone, when set, run with the init's PID once the child
	// is ready and after the last signal; an error ends the run.
	onReady, onDone func(pid int) error
	// probe, when set, runs with the init's PID just before each signal;
	// what it returns is the signal's tag.
	probe func(pid int) bool
	// beforeKill, when set, runs with the init's PID before the init is
	// killed, whether the run succeeded or not.
	beforeKill func(pid int)
}

// signalOnce starts r's init with the sigack child and sends it signals,
// each after the previous one was acknowledged and a pause. It returns
// their latencies in microseconds and their tags (nil without a probe).
func (b *bench) signalOnce(r *row, run sigRun) (lat []float64, tags []bool, err error) {
	os.Remove(run.fifo)
	if err := syscall.Mkfifo(run.fifo, 0o600); err != nil {
		return nil, nil, fmt.Errorf("mkfifo: %w", err)
	}
	// Read-write, so that opening does not wait for the child and a
	// child that dies shows up as a timeout rather than an end of file.
	ack, err := os.OpenFile(run.fifo, os.O_RDWR, 0)
	if err != nil {
		return nil, nil, err
	}
	defer ack.Close()
	pid, err := b.spawnPID1(r.argv(run.child...), b.environ(r), r.logFile)
	if err != nil {
		return nil, nil, err
	}
	defer kill(pid)
	if run.beforeKill != nil {
		defer run.beforeKill(pid)
	}
	buf := make([]byte, 8)
	readAck := func(d time.Duration) (int64, error) {
		ack.SetReadDeadline(time.Now().Add(d))
		if _, err := io.ReadFull(ack, buf); err != nil {
			return 0, err
		}
		return int64(binary.LittleEndian.Uint64(buf)), nil
	}
	// Wait for the child, making sure meanwhile that the init still runs
	// (a zombie here: this program has not reaped it).
	for deadline := time.Now().Add(run.ready); ; {
		_, err := readAck(250 * time.Millisecond)
		if err == nil {
			break
		}
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			return nil, nil, err
		}
		if st, err := readState(pid); err != nil || st == 'Z' {
			return nil, nil, fmt.Errorf("init exited before its child was ready")
		}
		if time.Now().After(deadline) {
			return nil, nil, fmt.Errorf("sigack child not ready after %v", run.ready)
		}
	}
	if run.onReady != nil {
		if err := run.onReady(pid); err != nil {
			return nil, nil, err
		}
	}
	lat = make([]float64, 0, max(run.count, 64))
	end := time.Now().Add(run.window)
	for i := 0; run.count > 0 && i < run.count || run.count == 0 && time.Now().Before(end); i++ {
		time.Sleep(run.gap())
		if run.probe != nil {
			tags = append(tags, run.probe(pid))
		}
		sent := monotonic()
		if err := syscall.Kill(pid, syscall.SIGUSR1); err != nil {
			return nil, nil, fmt.Errorf("kill: %w", err)
		}
		got, err := readAck(5 * time.Second)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return nil, nil, fmt.Errorf("signal %d not forwarded within 5s", i+1)
		}
		if err != nil {
			return nil, nil, err
		}
		lat = append(lat, float64(got-sent)/1e3)
	}
	if run.onDone != nil {
		if err := run.onDone(pid); err != nil {
			return nil, nil, err
		}
	}
	return lat, tags, nil
}

// sigusr1 is the signal set holding SIGUSR1 alone.
var sigusr1 = sigset(1) << (syscall.SIGUSR1 - 1)

// sigackWorkload blocks SIGUSR1 and re-executes this program as
// sigack-wait. A Go program cannot block a signal on all its threads once
// it runs, but every thread it starts keeps the signal mask the program
// was started with: started with SIGUSR1 blocked, sigack-wait can take the
// signal with sigtimedwait and no Go signal handler in between.
//
// Usage: sigack FIFO
func sigackWorkload(args []string) int {
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: bench sigack FIFO")
		return 2
	}
	runtime.LockOSThread()
	if _, _, errno := syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, sigBlock,
		uintptr(unsafe.Pointer(&sigusr1)), 0, unsafe.Sizeof(sigusr1), 0, 0); errno != 0 {
		fmt.Fprintf(os.Stderr, "bench sigack: block SIGUSR1: %v\n", errno)
		return 1
	}
	self, err := os.Executable()
	if err == nil {
		err = syscall.Exec(self, []string{self, "sigack-wait", args[0]}, os.Environ())
	}
	fmt.Fprintf(os.Stderr, "bench sigack: exec: %v\n", err)
	return 1
}

// sigackWaitWorkload waits for SIGUSR1 with sigtimedwait, reads the clock
// as soon as the signal is taken, and writes the reading (8 bytes, little
// endian) to FIFO, once per signal. It first writes a zero reading when it
// is ready. SIGUSR1 must be blocked when it starts (see sigackWorkload).
//
// Usage: sigack-wait FIFO
func sigackWaitWorkload(args []string) int {
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: bench sigack-wait FIFO")
		return 2
	}
	runtime.LockOSThread()
	// Children (the crowd test's sleepers) are released as soon as they
	// exit, never left as zombies for the init to reap when the PID
	// namespace is torn down, one at a time.
	signal.Ignore(syscall.SIGCHLD)
	blocked, err := blockedSignals()
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench sigack-wait: %v\n", err)
		return 1
	}
	if blocked&sigusr1 == 0 {
		fmt.Fprintln(os.Stderr, "bench sigack-wait: SIGUSR1 is not blocked on every thread")
		return 1
	}
	fd, err := syscall.Open(args[0], syscall.O_WRONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench sigack-wait: open %s: %v\n", args[0], err)
		return 1
	}
	buf := make([]byte, 8)
	for {
		if _, err := syscall.Write(fd, buf); err != nil {
			fmt.Fprintf(os.Stderr, "bench sigack-wait: write: %v\n", err)
			return 1
		}
		for {
			_, _, errno := syscall.Syscall6(syscall.SYS_RT_SIGTIMEDWAIT,
				uintptr(unsafe.Pointer(&sigusr1)), 0, 0, unsafe.Sizeof(sigusr1), 0, 0)
			if errno == 0 {
				break
			}
			if errno != syscall.EINTR {
				fmt.Fprintf(os.Stderr, "bench sigack-wait: sigtimedwait: %v\n", errno)
				return 1
			}
		}
		binary.LittleEndian.PutUint64(buf, uint64(monotonic()))
	}
}

// blockedSignals returns the signals blocked on every thread of this
// process, from /proc/self/task/*/status.
func blockedSignals() (sigset, error) {
	tasks, err := filepath.Glob("/proc/self/task/*/status")
	if err != nil || len(tasks) == 0 {
		return 0, fmt.Errorf("no /proc/self/task/*/status: %v", err)
	}
	all := ^sigset(0)
	for _, t := range tasks {
		st, err := statusFields(t)
		if err != nil {
			return 0, err
		}
		v, err := strconv.ParseUint(st["SigBlk"], 16, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: SigBlk: %v", t, err)
		}
		all &= sigset(v)
	}
	return all, nil
}
