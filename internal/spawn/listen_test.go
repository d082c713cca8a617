package spawn

import (
	"encoding/binary"
	"math"
	"os"
	"slices"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

func TestPutDecimal(t *testing.T) {
	for _, v := range []uint64{0, 1, 9, 10, 99, 100, 4194304, 1e19 - 1, 1e19, 1 << 63, math.MaxUint64} {
		b := newEnvBuf(listenIDPrefix)
		putDecimal(b, len(listenIDPrefix), v)
		want := listenIDPrefix + strconv.FormatUint(v, 10) + "\x00"
		if got := string(b[:len(want)]); got != want {
			t.Errorf("putDecimal(%d) = %q, want %q", v, got, want)
		}
	}
}

func TestPlanListen(t *testing.T) {
	const self = 42
	own := func(id uint64, ok bool) func() (uint64, idMethod, bool) {
		return func() (uint64, idMethod, bool) { return id, idHandle, ok }
	}
	tests := []struct {
		name string
		env  []string
		own  func() (uint64, idMethod, bool)
		want *listenPlan // nil: nothing to rewrite
	}{
		{"no LISTEN_PID", []string{"A=1", "LISTEN_FDS=1"}, own(7, true), nil},
		{"names self", []string{"A=1", "LISTEN_PID=42", "LISTEN_FDS=1"}, own(7, true), &listenPlan{pidEntry: 1, idEntry: -1}},
		{"names another", []string{"LISTEN_PID=43"}, own(7, true), nil},
		{"empty", []string{"LISTEN_PID="}, own(7, true), nil},
		{"not a number", []string{"LISTEN_PID=42x"}, own(7, true), nil},
		{"signed", []string{"LISTEN_PID=+42"}, own(7, true), nil},
		{"negative", []string{"LISTEN_PID=-42"}, own(7, true), nil},
		{"leading zero", []string{"LISTEN_PID=042"}, own(7, true), &listenPlan{pidEntry: 0, idEntry: -1}},
		{"first counts", []string{"LISTEN_PID=43", "LISTEN_PID=42"}, own(7, true), nil},
		{"first counts too", []string{"LISTEN_PID=42", "LISTEN_PID=43"}, own(7, true), &listenPlan{pidEntry: 0, idEntry: -1}},
		{"prefix only", []string{"LISTEN_PIDX=42"}, own(7, true), nil},
		{"ID names self", []string{"LISTEN_PIDFDID=7", "LISTEN_PID=42"}, own(7, true), &listenPlan{pidEntry: 1, idEntry: 0, idMethod: idHandle}},
		{"ID names another", []string{"LISTEN_PID=42", "LISTEN_PIDFDID=8"}, own(7, true), nil},
		{"ID unreadable", []string{"LISTEN_PID=42", "LISTEN_PIDFDID=x"}, own(7, true), nil},
		{"ID unknown here", []string{"LISTEN_PID=42", "LISTEN_PIDFDID=8"}, own(0, false), &listenPlan{pidEntry: 0, idEntry: -1}},
		{"first ID counts", []string{"LISTEN_PID=42", "LISTEN_PIDFDID=7", "LISTEN_PIDFDID=8"}, own(7, true), &listenPlan{pidEntry: 0, idEntry: 1, idMethod: idHandle}},
	}
	for _, tt := range tests {
		got := planListen(tt.env, self, tt.own)
		if (got == nil) != (tt.want == nil) || (got != nil && *got != *tt.want) {
			t.Errorf("%s: planListen(%q) = %+v, want %+v", tt.name, tt.env, got, tt.want)
		}
	}
}

// pidfdIDOf finds the pidfd ID of process pid from the outside, with the
// library's calls rather than the package's own, by method m (idNone:
// the first that works, as systemd tries them), or reports that there is
// none (no pidfs).
func pidfdIDOf(t *testing.T, pid int, m idMethod) (uint64, bool) {
	t.Helper()
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return 0, false
	}
	defer unix.Close(fd)
	var fs unix.Statfs_t
	if unix.Fstatfs(fd, &fs) != nil || uint64(fs.Type) != pidfsMagic {
		return 0, false
	}
	if m != idInode {
		if h, _, err := unix.NameToHandleAt(fd, "", unix.AT_EMPTY_PATH); err == nil && h.Type() == fileidKernfs && len(h.Bytes()) == 8 {
			return binary.NativeEndian.Uint64(h.Bytes()), true
		}
		if m == idHandle {
			return 0, false
		}
	}
	var st unix.Stat_t
	if unix.Fstat(fd, &st) == nil && strconv.IntSize == 64 {
		return st.Ino, true
	}
	return 0, false
}

// replace returns env with every entry for name set to name=value, as the
// child should see it.
func replace(env []string, name, value string) []string {
	out := slices.Clone(env)
	for i, kv := range out {
		if len(kv) > len(name) && kv[:len(name)+1] == name+"=" {
			out[i] = name + "=" + value
			break
		}
	}
	return out
}

// TestStartListenPID: a LISTEN_PID naming the caller names the child
// there; everything else of the environment is passed as it is.
func TestStartListenPID(t *testing.T) {
	withoutTerminal(t)
	self := strconv.Itoa(os.Getpid())
	env := []string{"A=1", "LISTEN_FDS=2", "LISTEN_PID=" + self, "LISTEN_FDNAMES=a:b", "LISTEN_PID=" + self, "Z="}
	for _, path := range []forkPath{pathAuto, pathRaw} {
		pid := sleeper(t, func(argv []string) (int, error) {
			return start(argv, env, Options{RewriteListenPID: true}, path)
		})
		want := replace(env, "LISTEN_PID", strconv.Itoa(pid))
		if got := environ(t, pid); !slices.Equal(got, want) {
			t.Errorf("path %d: child environment %q, want %q", path, got, want)
		}
	}
}

// TestStartListenPIDUntouched: LISTEN_PID naming another process, or no
// request to rewrite it, leaves the environment as it is.
func TestStartListenPIDUntouched(t *testing.T) {
	withoutTerminal(t)
	self := strconv.Itoa(os.Getpid())
	other := strconv.Itoa(os.Getpid() + 1)
	for _, tt := range []struct {
		name    string
		env     []string
		rewrite bool
	}{
		{"another PID", []string{"LISTEN_PID=" + other, "LISTEN_FDS=1"}, true},
		{"not asked", []string{"LISTEN_PID=" + self, "LISTEN_FDS=1"}, false},
		{"unreadable ID", []string{"LISTEN_PID=" + self, "LISTEN_PIDFDID=nope"}, true},
		{"another ID", []string{"LISTEN_PID=" + self, "LISTEN_PIDFDID=1"}, true},
	} {
		if tt.name == "another ID" {
			if _, ok := pidfdIDOf(t, os.Getpid(), idNone); !ok {
				continue // without pidfds IDs, any ID counts as the caller's
			}
		}
		pid := sleeper(t, func(argv []string) (int, error) {
			return Start(argv, tt.env, Options{RewriteListenPID: tt.rewrite})
		})
		if got := environ(t, pid); !slices.Equal(got, tt.env) {
			t.Errorf("%s: child environment %q, want it unchanged, %q", tt.name, got, tt.env)
		}
	}
}

// TestStartListenPIDFDID: with LISTEN_PIDFDID naming the caller, the
// child finds both its PID and its own pidfd ID in the environment, as
// systemd would have set them for it.
func TestStartListenPIDFDID(t *testing.T) {
	withoutTerminal(t)
	selfID, ok := pidfdIDOf(t, os.Getpid(), idNone)
	if !ok {
		t.Skip("skipping: the kernel has no pidfd IDs (pidfs, Linux 6.9)")
	}
	if _, _, ok := ownPidfdID(); !ok {
		t.Fatalf("ownPidfdID finds no ID where the test finds %d", selfID)
	}
	env := []string{"LISTEN_FDS=1", "LISTEN_PID=" + strconv.Itoa(os.Getpid()), "LISTEN_PIDFDID=" + strconv.FormatUint(selfID, 10), "B=2"}
	for _, path := range []forkPath{pathAuto, pathRaw} {
		pid := sleeper(t, func(argv []string) (int, error) {
			return start(argv, env, Options{RewriteListenPID: true}, path)
		})
		id, ok := pidfdIDOf(t, pid, idNone)
		if !ok || id == selfID {
			t.Fatalf("the child's pidfd ID: %d, %v", id, ok)
		}
		want := replace(replace(env, "LISTEN_PID", strconv.Itoa(pid)), "LISTEN_PIDFDID", strconv.FormatUint(id, 10))
		if got := environ(t, pid); !slices.Equal(got, want) {
			t.Errorf("path %d: child environment %q, want %q", path, got, want)
		}
	}
}

// TestStartListenPIDFDIDDropped: a child that cannot find its own pidfd
// ID drops LISTEN_PIDFDID rather than keep the caller's, which would make
// it refuse the descriptors.
func TestStartListenPIDFDIDDropped(t *testing.T) {
	withoutTerminal(t)
	sleep := "/bin/sleep"
	if _, err := os.Stat(sleep); err != nil {
		t.Skipf("skipping: %v", err)
	}
	env := []string{"LISTEN_PID=0", "LISTEN_PIDFDID=5", "LISTEN_FDS=1"}
	j := &job{
		file:   sleep,
		argv:   []string{"sleep", "60"},
		env:    env,
		stdio:  stdFiles(),
		listen: &listenPlan{pidEntry: 0, idEntry: 1, idMethod: idNone}, // no way to find the ID
	}
	pid, err := j.startRaw()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		unix.Kill(pid, unix.SIGKILL)
		wait4(t, pid)
	})
	if err := waitExec(pid, "sleep"); err != nil {
		t.Fatal(err)
	}
	want := []string{"LISTEN_PID=" + strconv.Itoa(pid), "LISTEN_FDS=1"}
	if got := environ(t, pid); !slices.Equal(got, want) {
		t.Errorf("child environment %q, want %q", got, want)
	}
}

// TestStartListenPIDFDIDMethods runs the child's search for its own ID
// by each method the kernel supports.
func TestStartListenPIDFDIDMethods(t *testing.T) {
	withoutTerminal(t)
	fd, err := unix.PidfdOpen(os.Getpid(), 0)
	if err != nil {
		t.Skipf("skipping: pidfd_open: %v", err)
	}
	defer unix.Close(fd)
	if _, ok := pidfdIDOf(t, os.Getpid(), idNone); !ok {
		t.Skip("skipping: the kernel has no pidfd IDs (pidfs, Linux 6.9)")
	}
	tried := 0
	for _, m := range []idMethod{idHandle, idInode} {
		var s pidfdScratch
		if _, ok := pidfdID(fd, m, &s); !ok {
			t.Logf("method %d: not supported here", m)
			continue
		}
		tried++
		j := &job{
			file:   "/bin/sleep",
			argv:   []string{"sleep", "60"},
			env:    []string{"LISTEN_PID=0", "LISTEN_PIDFDID=5"},
			stdio:  stdFiles(),
			listen: &listenPlan{pidEntry: 0, idEntry: 1, idMethod: m},
		}
		pid, err := j.startRaw()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			unix.Kill(pid, unix.SIGKILL)
			wait4(t, pid)
		})
		if err := waitExec(pid, "sleep"); err != nil {
			t.Fatal(err)
		}
		id, _ := pidfdIDOf(t, pid, m)
		want := []string{"LISTEN_PID=" + strconv.Itoa(pid), "LISTEN_PIDFDID=" + strconv.FormatUint(id, 10)}
		if got := environ(t, pid); !slices.Equal(got, want) {
			t.Errorf("method %d: child environment %q, want %q", m, got, want)
		}
	}
	if tried == 0 {
		t.Errorf("no method finds the pidfd ID that the test found")
	}
}
