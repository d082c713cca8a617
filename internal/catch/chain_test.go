package catch_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestPreemptionReachesTheRuntime: the runtime's SIGURG, chained to its
// handler with the registers the kernel set, preempts a goroutine that
// never calls a function: garbage collections, which stop the world,
// complete while the goroutine spins. Without the preemption the world
// never stops, timers included, so the spinning runs in a process of
// its own (spinner), which this test kills after a minute.
func TestPreemptionReachesTheRuntime(t *testing.T) {
	if strings.Contains(os.Getenv("GODEBUG"), "asyncpreemptoff=1") {
		t.Skip("skipping: GODEBUG has asyncpreemptoff=1")
	}
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("skipping: needs GOMAXPROCS of 2 or more")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0])
	cmd.Env = append(os.Environ(), roleEnv+"=spinner")
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("garbage collection blocked for a minute by a spinning goroutine: the runtime's SIGURG did not preempt it\n%s", out)
	}
	if err != nil {
		t.Fatalf("spinning process: %v\n%s", err, out)
	}
}

// TestProfilingSignalsReachTheRuntime: the runtime's profiling SIGPROF
// (si_code SI_TIMER from its per-thread timers, SI_KERNEL from
// setitimer) is chained to its handler, which records samples.
func TestProfilingSignalsReachTheRuntime(t *testing.T) {
	var buf bytes.Buffer
	if err := pprof.StartCPUProfile(&buf); err != nil {
		t.Fatal(err)
	}
	// Half a second of CPU time, however long a busy machine takes to
	// give it.
	start, deadline := cpuTime(t), time.Now().Add(30*time.Second)
	n := 0
	for cpuTime(t)-start < 500*time.Millisecond && time.Now().Before(deadline) {
		for j := 0; j < 1e5; j++ {
			n += j
		}
	}
	sink.Add(int64(n))
	pprof.StopCPUProfile()
	used := cpuTime(t) - start
	samples, err := countSamples(&buf)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d samples in %v of CPU time", samples, used)
	// The runtime samples at 100 Hz: 50 for half a second. Allow for
	// an emulator's coarse timers.
	if want := int(used / (100 * time.Millisecond)); samples < want {
		t.Errorf("%d samples in a CPU profile of %v, want %d or more", samples, used, want)
	}
}

// cpuTime returns the CPU time the process has used.
func cpuTime(t *testing.T) time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// countSamples sums the sample counts of a gzipped profile.proto: the
// first value (field 2, a varint, or packed) of each Sample (field 2 of
// the Profile).
func countSamples(r io.Reader) (int, error) {
	z, err := gzip.NewReader(r)
	if err != nil {
		return 0, err
	}
	b, err := io.ReadAll(z)
	if err != nil {
		return 0, err
	}
	n := 0
	err = protoFields(b, func(num int, _ uint64, sample []byte) error {
		if num != 2 || sample == nil {
			return nil
		}
		first := true
		return protoFields(sample, func(num int, v uint64, packed []byte) error {
			if num != 2 || !first {
				return nil
			}
			first = false
			if packed != nil {
				var ok bool
				if v, _, ok = protoVarint(packed); !ok {
					return io.ErrUnexpectedEOF
				}
			}
			n += int(v)
			return nil
		})
	})
	return n, err
}

// protoFields calls f with the number of each field of the protocol
// buffer message b, and its value: v for a varint, contents for a
// length-delimited field (nil otherwise).
func protoFields(b []byte, f func(num int, v uint64, contents []byte) error) error {
	for len(b) > 0 {
		key, rest, ok := protoVarint(b)
		if !ok {
			return io.ErrUnexpectedEOF
		}
		b = rest
		var v uint64
		var contents []byte
		switch key & 7 {
		case 0:
			if v, b, ok = protoVarint(b); !ok {
				return io.ErrUnexpectedEOF
			}
		case 1, 5:
			w := 8
			if key&7 == 5 {
				w = 4
			}
			if len(b) < w {
				return io.ErrUnexpectedEOF
			}
			b = b[w:]
		case 2:
			l, rest, ok := protoVarint(b)
			if !ok || uint64(len(rest)) < l {
				return io.ErrUnexpectedEOF
			}
			contents, b = rest[:l:l], rest[l:]
			if contents == nil {
				contents = []byte{}
			}
		default:
			return io.ErrUnexpectedEOF
		}
		if err := f(int(key>>3), v, contents); err != nil {
			return err
		}
	}
	return nil
}

func protoVarint(b []byte) (v uint64, rest []byte, ok bool) {
	for i, s := 0, 0; i < len(b) && s < 64; i, s = i+1, s+7 {
		v |= uint64(b[i]&0x7f) << s
		if b[i] < 0x80 {
			return v, b[i+1:], true
		}
	}
	return 0, b, false
}
