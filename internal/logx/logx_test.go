package logx

import (
	"bytes"
	"errors"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// writes records each Write call separately.
type writes struct{ calls []string }

func (w *writes) Write(b []byte) (int, error) {
	w.calls = append(w.calls, string(b))
	return len(b), nil
}

func TestLevels(t *testing.T) {
	if LevelQuiet != 0 || LevelWarn != 1 || LevelInfo != 2 || LevelDebug != 3 {
		t.Fatalf("levels = %d %d %d %d, want 0 1 2 3", LevelQuiet, LevelWarn, LevelInfo, LevelDebug)
	}
	for level := -1; level <= 4; level++ {
		var w writes
		l := New(&w, level)
		l.Error("e")
		l.Warn("w")
		l.Info("i")
		l.Debug("d")
		var want []string
		if level >= LevelQuiet {
			want = append(want, Prefix+"error: e\n")
		}
		if level >= LevelWarn {
			want = append(want, Prefix+"warning: w\n")
		}
		if level >= LevelInfo {
			want = append(want, Prefix+"i\n")
		}
		if level >= LevelDebug {
			want = append(want, Prefix+"d\n")
		}
		if strings.Join(w.calls, "|") != strings.Join(want, "|") {
			t.Errorf("level %d wrote %q, want %q", level, w.calls, want)
		}
		if l.Level() != level {
			t.Errorf("Level() = %d, want %d", l.Level(), level)
		}
		for at := LevelQuiet; at <= LevelDebug; at++ {
			if got := l.Enabled(at); got != (level >= at) {
				t.Errorf("level %d: Enabled(%d) = %v", level, at, got)
			}
		}
	}
}

func TestPrint(t *testing.T) {
	var w writes
	l := New(&w, LevelInfo)
	l.Print(LevelWarn, "shown at warn")
	l.Print(LevelInfo, "shown at info")
	l.Print(LevelDebug, "hidden at debug")
	want := []string{Prefix + "shown at warn\n", Prefix + "shown at info\n"}
	if strings.Join(w.calls, "|") != strings.Join(want, "|") {
		t.Errorf("wrote %q, want %q", w.calls, want)
	}
}

func TestPrefix(t *testing.T) {
	if Prefix != "[reaper-init] " {
		t.Errorf("Prefix = %q, want %q", Prefix, "[reaper-init] ")
	}
}

// TestOneWritePerLine checks that each message reaches the writer in one
// Write call, so that lines from the init and from its children sharing
// stderr never interleave inside a line, including long messages.
func TestOneWritePerLine(t *testing.T) {
	var w writes
	l := New(&w, LevelDebug)
	long := strings.Repeat("x", 10000)
	l.Info(long)
	l.Info("short after long")
	l.Warn("")
	want := []string{Prefix + long + "\n", Prefix + "short after long\n", Prefix + "warning: \n"}
	if len(w.calls) != len(want) {
		t.Fatalf("%d writes, want %d", len(w.calls), len(want))
	}
	for i := range want {
		if w.calls[i] != want[i] {
			t.Errorf("write %d = %.60q..., want %.60q...", i, w.calls[i], want[i])
		}
	}
}

func TestNilLogger(t *testing.T) {
	var l *Logger
	l.Error("e")
	l.Warn("w")
	l.Info("i")
	l.Debug("d")
	l.Print(LevelQuiet, "p")
}

type failing struct{ n int }

func (f *failing) Write([]byte) (int, error) {
	f.n++
	return 0, errors.New("write failed")
}

func TestWriteErrorIgnored(t *testing.T) {
	f := &failing{}
	l := New(f, LevelDebug)
	l.Error("a")
	l.Info("b")
	if f.n != 2 {
		t.Errorf("%d writes attempted, want 2", f.n)
	}
}

func TestKV(t *testing.T) {
	tests := []struct{ key, value, want string }{
		{"cmd", "nginx", "cmd=nginx"},
		{"path", "/usr/bin/node", "path=/usr/bin/node"},
		{"name", "héllo", "name=héllo"},
		{"sig", "SIGRTMIN+3", "sig=SIGRTMIN+3"},
		{"name", "", `name=""`},
		{"name", "a b", `name="a b"`},
		{"name", " ", `name=" "`},
		{"name", "a\tb", `name="a\tb"`},
		{"name", `say "hi"`, `name="say \"hi\""`},
		{"name", `"`, `name="\""`},
		{"name", "a=b", `name="a=b"`},
		{"name", `back\slash`, `name="back\\slash"`},
		{"name", "line\nbreak", `name="line\nbreak"`},
		{"name", "cr\r", `name="cr\r"`},
		{"name", "\x00", `name="\x00"`},
		{"name", "\x1b[31m", `name="\x1b[31m"`},
		{"name", "\x7f", `name="\x7f"`},
		{"name", "`", "name=\"`\""},
		{"name", "\xff", `name="\xff"`},
		{"name", "\ufeff", `name="\ufeff"`},
		// C1 control characters are control characters too: U+0085 is
		// NEL, a line break, and U+009B the 8-bit CSI.
		{"name", "a\u0085b", `name="a\u0085b"`},
		{"name", "\u009b31m", `name="\u009b31m"`},
	}
	for _, tt := range tests {
		if got := KV(tt.key, tt.value); got != tt.want {
			t.Errorf("KV(%q, %q) = %q, want %q", tt.key, tt.value, got, tt.want)
		}
	}
}

// TestKVRoundTrip checks that a quoted value reads back as the value, and
// that an unquoted one holds nothing that would split or break the line.
func TestKVRoundTrip(t *testing.T) {
	for _, v := range []string{"", "x", "a b", `"q"`, "k=v", "\n", "\t", "\x00\x01", "日本", "\xff\xfe", "a\\b", "'"} {
		got := strings.TrimPrefix(KV("k", v), "k=")
		if strings.HasPrefix(got, `"`) {
			u, err := strconv.Unquote(got)
			if err != nil || u != v {
				t.Errorf("KV(k, %q) = k=%s, which unquotes to %q, %v", v, got, u, err)
			}
			continue
		}
		if got != v || strings.ContainsAny(got, " \t\n\r\"=") {
			t.Errorf("KV(k, %q) = k=%s unquoted", v, got)
		}
	}
}

func TestKVInt(t *testing.T) {
	for _, tt := range []struct {
		n    int
		want string
	}{{0, "pid=0"}, {1, "pid=1"}, {-1, "pid=-1"}, {4194304, "pid=4194304"}} {
		if got := KVInt("pid", tt.n); got != tt.want {
			t.Errorf("KVInt(pid, %d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

// TestConcurrent writes from many goroutines into a writer that is not
// safe for concurrent use (run with -race): the Logger must serialise the
// writes, and every line must come out whole.
func TestConcurrent(t *testing.T) {
	var buf bytes.Buffer
	l := New(&buf, LevelDebug)
	const goroutines, lines = 8, 200
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range lines {
				msg := "g=" + strconv.Itoa(g) + " i=" + strconv.Itoa(i) + " " + strings.Repeat("z", i%50)
				switch i % 4 {
				case 0:
					l.Error(msg)
				case 1:
					l.Warn(msg)
				case 2:
					l.Info(msg)
				default:
					l.Debug(msg)
				}
				_ = l.Enabled(LevelInfo)
			}
		}()
	}
	wg.Wait()
	out := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(out) != goroutines*lines {
		t.Fatalf("%d lines, want %d", len(out), goroutines*lines)
	}
	seen := make(map[string]bool, len(out))
	for _, line := range out {
		rest, ok := strings.CutPrefix(line, Prefix)
		if !ok {
			t.Fatalf("line without prefix: %q", line)
		}
		rest = strings.TrimPrefix(strings.TrimPrefix(rest, "error: "), "warning: ")
		fields := strings.SplitN(rest, " ", 3)
		if len(fields) != 3 || !strings.HasPrefix(fields[0], "g=") || !strings.HasPrefix(fields[1], "i=") {
			t.Fatalf("mangled line: %q", line)
		}
		i, _ := strconv.Atoi(strings.TrimPrefix(fields[1], "i="))
		if fields[2] != strings.Repeat("z", i%50) {
			t.Fatalf("mangled line: %q", line)
		}
		key := fields[0] + " " + fields[1]
		if seen[key] {
			t.Fatalf("line %q written twice", key)
		}
		seen[key] = true
	}
}

// TestStderrWrite checks the descriptor writer on a pipe: whole buffers,
// in order.
func TestStderrWrite(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	fw := fdWriter(w.Fd())
	msg := []byte(Prefix + "hello\n")
	n, err := fw.Write(msg)
	if err != nil || n != len(msg) {
		t.Fatalf("Write = %d, %v; want %d, nil", n, err, len(msg))
	}
	got := make([]byte, 64)
	m, err := r.Read(got)
	if err != nil || string(got[:m]) != string(msg) {
		t.Errorf("read %q, %v; want %q", got[:m], err, msg)
	}
	if n, err := fdWriter(-1).Write(msg); err == nil {
		t.Errorf("Write to descriptor -1 = %d, nil; want an error", n)
	}
}

// blockedOnThread reports whether sig is blocked on the calling thread.
func blockedOnThread(t *testing.T, sig unix.Signal) bool {
	t.Helper()
	var set unix.Sigset_t
	if err := unix.PthreadSigmask(unix.SIG_BLOCK, nil, &set); err != nil {
		t.Fatal(err)
	}
	n := uint(sig - 1)
	return set.Val[n/64]&(1<<(n%64)) != 0
}

// TestStderrBrokenPipe is the regression test for a log line raising
// SIGPIPE, which the init would take for a signal from outside and
// forward: writing to a pipe without a reader must return EPIPE and leave
// no SIGPIPE behind, and the thread's signal mask must be as before.
func TestStderrBrokenPipe(t *testing.T) {
	c := make(chan os.Signal, 4)
	signal.Notify(c, unix.SIGPIPE)
	defer signal.Stop(c)

	pipe := func() int {
		t.Helper()
		var p [2]int
		if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
			t.Fatal(err)
		}
		unix.Close(p[0])
		t.Cleanup(func() { unix.Close(p[1]) })
		return p[1]
	}
	quiet := func(what string) {
		t.Helper()
		select {
		case <-c:
			t.Errorf("%s raised SIGPIPE", what)
		case <-time.After(200 * time.Millisecond):
		}
	}

	// The control: a plain write raises SIGPIPE, and the test sees it.
	if _, err := unix.Write(pipe(), []byte("x")); err != unix.EPIPE {
		t.Fatalf("plain write to a broken pipe: %v, want EPIPE", err)
	}
	select {
	case <-c:
	case <-time.After(10 * time.Second):
		t.Fatal("control: a plain write to a broken pipe raised no SIGPIPE the test could see")
	}

	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	pipeBefore, ttouBefore := blockedOnThread(t, unix.SIGPIPE), blockedOnThread(t, unix.SIGTTOU)
	n, err := fdWriter(pipe()).Write([]byte("line\n"))
	if n != 0 || err != unix.EPIPE {
		t.Errorf("Write to a broken pipe = %d, %v; want 0, EPIPE", n, err)
	}
	if blockedOnThread(t, unix.SIGPIPE) != pipeBefore || blockedOnThread(t, unix.SIGTTOU) != ttouBefore {
		t.Errorf("signal mask changed by Write")
	}
	quiet("fdWriter.Write")

	// Through a Logger, as the init writes.
	New(fdWriter(pipe()), LevelDebug).Error("lost")
	quiet("Logger.Error")
}
