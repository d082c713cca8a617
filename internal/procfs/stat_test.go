package procfs

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/reaper-init/reaper-init/internal/emutest"
	"github.com/reaper-init/reaper-init/internal/procfs/procfstest"
)

const fixture = "testdata/proc"

// want is what the fixture tree under testdata/proc holds, by PID.
var want = map[int]Proc{
	1:  {PID: 1, PGID: 1, PPID: 0, State: 'S', Comm: "reaper-init", StartTime: 100, Threads: 5},
	7:  {PID: 7, PGID: 7, PPID: 1, State: 'S', Comm: "jobrunner", StartTime: 200, Threads: 1},
	8:  {PID: 8, PGID: 8, PPID: 1, State: 'S', Comm: "my (weird) name", StartTime: 300, Threads: 3},
	9:  {PID: 9, PGID: 9, PPID: 7, State: 'R', Comm: "a) S 1 2 (", StartTime: 400, Threads: 1},
	10: {PID: 10, PGID: 10, PPID: 7, State: 'Z', Comm: "sh", StartTime: 500, Threads: 1},
	11: {PID: 11, PGID: 11, PPID: 8, State: 'D', Comm: "Web Content", StartTime: 600, Threads: 30},
	12: {PID: 12, PGID: 12, PPID: 1, State: 'T', Comm: "", StartTime: 700, Threads: 1},
	13: {PID: 13, PGID: 13, PPID: 8, State: 'Z', Comm: ")(", StartTime: 18446744073709551615, Threads: 1},
}

func TestReadStat(t *testing.T) {
	for pid, w := range want {
		got, err := ReadStat(fixture, pid)
		if err != nil {
			t.Errorf("ReadStat(%d): %v", pid, err)
			continue
		}
		if got != w {
			t.Errorf("ReadStat(%d) = %+v, want %+v", pid, got, w)
		}
	}
}

func TestReadStatErrors(t *testing.T) {
	for _, pid := range []int{99, 98, 97, 96, 4242} {
		p, err := ReadStat(fixture, pid)
		if err == nil {
			t.Errorf("ReadStat(%d) = %+v, want an error", pid, p)
		}
	}
	_, err := ReadStat(fixture, 4242)
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ReadStat of a missing process: %v, want a not-exist error", err)
	}
	_, err = ReadStat(fixture, 98)
	if !errors.Is(err, errMalformed) || !strings.Contains(err.Error(), "98/stat") {
		t.Errorf("ReadStat of a malformed line: %v, want errMalformed naming the file", err)
	}
}

func TestParseStat(t *testing.T) {
	tests := []struct {
		line string
		ok   bool
		want Proc
	}{
		{"5 (x) S 1 5 5 0 -1 0 0 0 0 0 0 0 0 0 20 0 2 0 77\n", true, Proc{PID: 5, PGID: 5, PPID: 1, State: 'S', Comm: "x", Threads: 2, StartTime: 77}},
		// No newline: the last field ends the buffer.
		{"5 (x) S 1 5 5 0 -1 0 0 0 0 0 0 0 0 0 20 0 2 0 77", true, Proc{PID: 5, PGID: 5, PPID: 1, State: 'S', Comm: "x", Threads: 2, StartTime: 77}},
		// Negative priority and nice, as for a real-time process.
		{"6 (rt) S 1 6 6 0 -1 0 0 0 0 0 0 0 0 0 -51 -20 1 0 9 0 0\n", true, Proc{PID: 6, PGID: 6, PPID: 1, State: 'S', Comm: "rt", Threads: 1, StartTime: 9}},
		// A newline inside the command name.
		{"7 (a\nb) Z 3 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 8 0\n", true, Proc{PID: 7, PGID: 7, PPID: 3, State: 'Z', Comm: "a\nb", Threads: 1, StartTime: 8}},
		// Double spaces are tolerated.
		{"8  (x)  S  1 5 5 0 -1 0 0 0 0 0 0 0 0 0 20 0 2 0 77\n", true, Proc{PID: 8, PGID: 5, PPID: 1, State: 'S', Comm: "x", Threads: 2, StartTime: 77}},
		{"", false, Proc{}},
		{"(x) S 1", false, Proc{}},
		{"5 x) S 1 5 5 0 -1 0 0 0 0 0 0 0 0 0 20 0 2 0 77\n", false, Proc{}},
		{"5 (x S 1 5 5 0 -1 0 0 0 0 0 0 0 0 0 20 0 2 0 77\n", false, Proc{}},
		{"5 (x) SS 1 5 5 0 -1 0 0 0 0 0 0 0 0 0 20 0 2 0 77\n", false, Proc{}},
		{"5 (x) S -1 5 5 0 -1 0 0 0 0 0 0 0 0 0 20 0 2 0 77\n", false, Proc{}},
		{"5 (x) S 1 5 5 0 -1 0 0 0 0 0 0 0 0 0 20 0 two 0 77\n", false, Proc{}},
		{"5 (x) S 1 5 5 0 -1 0 0 0 0 0 0 0 0 0 20 0 2 0 18446744073709551616\n", false, Proc{}},
		{"5 (x) S 1 5 5 0 -1 0 0 0 0 0 0 0 0 0 20 0 2 0\n", false, Proc{}},
		{"-5 (x) S 1 5 5 0 -1 0 0 0 0 0 0 0 0 0 20 0 2 0 77\n", false, Proc{}},
		{"99999999999999999999 (x) S 1 5 5 0 -1 0 0 0 0 0 0 0 0 0 20 0 2 0 77\n", false, Proc{}},
	}
	for _, tt := range tests {
		var p Proc
		ok := parseStat([]byte(tt.line), &p, nil)
		if ok != tt.ok || (ok && p != tt.want) {
			t.Errorf("parseStat(%q) = %+v, %v; want %+v, %v", tt.line, p, ok, tt.want, tt.ok)
		}
	}
}

// FuzzParseStat checks that no input makes the parser panic, and that
// whatever it accepts has the command name it was given.
func FuzzParseStat(f *testing.F) {
	for _, w := range want {
		b, err := os.ReadFile(filepath.Join(fixture, strconv.Itoa(w.PID), "stat"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("1 () Z 0"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var p Proc
		if parseStat(b, &p, nil) && !strings.Contains(string(b), "("+p.Comm+")") {
			t.Errorf("parseStat(%q) accepted comm %q, which the line does not hold", b, p.Comm)
		}
	})
}

func TestComm(t *testing.T) {
	for pid, w := range want {
		if got := Comm(fixture, pid); got != w.Comm {
			t.Errorf("Comm(%d) = %q, want %q", pid, got, w.Comm)
		}
	}
	if got := Comm(fixture, 4242); got != "" {
		t.Errorf("Comm of a missing process = %q, want \"\"", got)
	}
}

func TestCommSelf(t *testing.T) {
	b, err := os.ReadFile("/proc/self/comm")
	if err != nil {
		t.Skipf("skipping: no /proc here: %v", err)
	}
	w := strings.TrimSuffix(string(b), "\n")
	if got := Comm("/proc", os.Getpid()); got != w {
		t.Errorf("Comm(/proc, self) = %q, want %q", got, w)
	}
}

func TestScanFixture(t *testing.T) {
	got := map[int]Proc{}
	if err := Scan(fixture, func(p *Proc) {
		if _, dup := got[p.PID]; dup {
			t.Errorf("Scan reported pid %d twice", p.PID)
		}
		got[p.PID] = *p
	}); err != nil {
		t.Fatalf("Scan: %v", err)
	}
	for pid, w := range want {
		if got[pid] != w {
			t.Errorf("Scan: pid %d = %+v, want %+v", pid, got[pid], w)
		}
	}
	for pid := range got {
		if _, ok := want[pid]; !ok {
			t.Errorf("Scan reported pid %d, which it should have skipped", pid)
		}
	}
}

func TestScanMissingRoot(t *testing.T) {
	err := Scan(filepath.Join(t.TempDir(), "nope"), func(*Proc) { t.Error("fn called") })
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Scan of a missing directory: %v, want a not-exist error", err)
	}
}

// TestScanManyBatches makes a tree larger than one getdents buffer, with
// a long stat line that needs a larger read buffer.
func TestScanManyBatches(t *testing.T) {
	const n = 1500 // several getdents batches of 8 KiB
	root := t.TempDir()
	procfstest.Tree(t, root, n)
	long := "77777 (long) S 1 5 5 0 -1 0 0 0 0 0 0 0 0 0 20 0 2 0 77" + strings.Repeat(" 123456789", 300) + "\n"
	if err := os.Mkdir(filepath.Join(root, "77777"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "77777", "stat"), []byte(long), 0o644); err != nil {
		t.Fatal(err)
	}
	var pids []int
	if err := Scan(root, func(p *Proc) { pids = append(pids, p.PID) }); err != nil {
		t.Fatalf("Scan: %v", err)
	}
	slices.Sort(pids)
	if len(pids) != n+1 || pids[0] != 1 || pids[n-1] != n || pids[n] != 77777 {
		t.Fatalf("Scan found %d processes (first %v), want 1..%d and 77777", len(pids), pids[:min(len(pids), 5)], n)
	}
}

// TestScanLive scans this machine's /proc and finds the test process.
func TestScanLive(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skipf("skipping: no /proc here: %v", err)
	}
	self := os.Getpid()
	var found Proc
	n := 0
	if err := Scan("/proc", func(p *Proc) {
		n++
		if p.PID == self {
			found = *p
		}
	}); err != nil {
		t.Fatalf("Scan(/proc): %v", err)
	}
	if found.PID != self || found.PPID != os.Getppid() || found.Threads < 1 || !found.Living() {
		t.Errorf("Scan(/proc) found self as %+v (of %d processes), want pid %d ppid %d", found, n, self, os.Getppid())
	}
	emutest.Skip(t, "qemu-user answers for /proc/PID/stat of its own process with a stat it makes up (state 0, no threads, its own start time)")
	direct, err := ReadStat("/proc", self)
	if err != nil || direct.StartTime != found.StartTime || direct.Comm != found.Comm {
		t.Errorf("ReadStat(/proc, self) = %+v, %v; Scan saw %+v", direct, err, found)
	}
}

func TestScanAllocations(t *testing.T) {
	root := t.TempDir()
	procfstest.Tree(t, root, 300)
	count := 0
	fn := func(*Proc) { count++ }
	if err := Scan(root, fn); err != nil { // warm the pool and the names
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(20, func() {
		if err := Scan(root, fn); err != nil {
			t.Fatal(err)
		}
	})
	// A few for the directory's path and the pool, none per process.
	if allocs > 10 {
		t.Errorf("Scan of 300 processes: %v allocations per run, want at most 10", allocs)
	}
}
