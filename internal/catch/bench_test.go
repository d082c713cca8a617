package catch_test

import (
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// BenchmarkForward measures a signal forwarded by a process of its own
// (forwarder), one at a time: a sender process signals the forwarder,
// the forwarder forwards the signal to an echoer process's group, and
// the echoer answers with a byte. handler forwards from the handler,
// os-signal through os/signal (see forwarder).
//
// Besides the round trip (ns/op) it reports, per signal, the
// forwarder's context switches (ctxsw/op, voluntary and involuntary,
// every thread: the thread wake-ups forwarding costs, which an emulator
// does not change) and the CPU time its threads used (fwd-cpu-ns/op).
// Both times are meaningful on real hardware only. The forwarder's standard
// error is the benchmark's, and -test.v logs its PID, for a system call
// trace (QEMU_STRACE=1 under qemu-user).
func BenchmarkForward(b *testing.B) {
	b.Run("handler", func(b *testing.B) { benchForward(b, 40, "handler") })
	b.Run("os-signal", func(b *testing.B) { benchForward(b, 41, "os-signal") })
}

func benchForward(b *testing.B, sig int, mode string) {
	helper := func(role string, target int) *exec.Cmd {
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), roleEnv+"="+role, sigEnv+"="+strconv.Itoa(sig),
			targetEnv+"="+strconv.Itoa(target), modeEnv+"="+mode)
		return cmd
	}
	var ready [1]byte
	start := func(cmd *exec.Cmd) (in io.WriteCloser, out io.Reader) {
		in, err := cmd.StdinPipe()
		if err != nil {
			b.Fatal(err)
		}
		if out, err = cmd.StdoutPipe(); err != nil {
			b.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() {
			_ = in.Close()
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		})
		return in, out
	}

	echo := helper("echoer", 0)
	echo.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	_, acks := start(echo)
	if _, err := io.ReadFull(acks, ready[:]); err != nil {
		b.Fatalf("echoer: %v", err)
	}
	fwd := helper("forwarder", echo.Process.Pid)
	fwd.Stderr = os.Stderr
	_, fwdOut := start(fwd)
	if _, err := io.ReadFull(fwdOut, ready[:]); err != nil {
		b.Fatalf("forwarder: %v", err)
	}
	if testing.Verbose() {
		b.Logf("forwarder PID %d", fwd.Process.Pid)
	}
	requests, _ := start(helper("sender", fwd.Process.Pid))

	switches, cpu := threadStats(b, fwd.Process.Pid)
	b.ResetTimer()
	var ack [1]byte
	for i := 0; i < b.N; i++ {
		if _, err := requests.Write(ack[:]); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(acks, ack[:]); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	switches2, cpu2 := threadStats(b, fwd.Process.Pid)
	b.ReportMetric(float64(switches2-switches)/float64(b.N), "ctxsw/op")
	b.ReportMetric(float64(cpu2-cpu)/float64(b.N), "fwd-cpu-ns/op")
}

// threadStats returns the context switches, voluntary and not, of
// every thread of process pid, and the CPU time they have used, in
// nanoseconds.
func threadStats(b *testing.B, pid int) (switches, cpuNS int) {
	dir := "/proc/" + strconv.Itoa(pid) + "/task/"
	tasks, err := os.ReadDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	for _, task := range tasks {
		status, err := os.ReadFile(dir + task.Name() + "/status")
		if err != nil {
			continue // the thread exited
		}
		for _, line := range strings.Split(string(status), "\n") {
			if name, v, ok := strings.Cut(line, ":"); ok && strings.HasSuffix(name, "ctxt_switches") {
				k, _ := strconv.Atoi(strings.TrimSpace(v))
				switches += k
			}
		}
		if sched, err := os.ReadFile(dir + task.Name() + "/schedstat"); err == nil {
			run, _, _ := strings.Cut(string(sched), " ")
			k, _ := strconv.Atoi(run)
			cpuNS += k
		}
	}
	return switches, cpuNS
}
