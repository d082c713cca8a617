package ending_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reaper-init/reaper-init/internal/ending"
)

// The counter files as the kernel writes them.
const (
	memoryEventsV2 = "low 0\nhigh 0\nmax 12\noom 3\noom_kill %d\noom_group_kill 0\n"
	oomControlV1   = "oom_kill_disable 0\nunder_oom 0\noom_kill %d\n"
	oomControlOld  = "oom_kill_disable 0\nunder_oom 0\n" // cgroup v1 before Linux 4.13
)

// cgroupFixture lays out a /proc/self/cgroup and cgroup files under a
// temporary directory: proc is the contents of self/cgroup ("" for no
// file), files maps a path under the cgroup root to a format holding %d
// for the count.
type cgroupFixture struct {
	proc  string
	files map[string]string
}

func (fx cgroupFixture) make(t *testing.T) (procRoot, cgroupRoot string, set func(string, int)) {
	t.Helper()
	dir := t.TempDir()
	procRoot, cgroupRoot = filepath.Join(dir, "proc"), filepath.Join(dir, "cgroup")
	write := func(path, contents string) {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(contents), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if fx.proc != "" {
		write(filepath.Join(procRoot, "self", "cgroup"), fx.proc)
	}
	set = func(name string, n int) {
		write(filepath.Join(cgroupRoot, name), strings.Replace(fx.files[name], "%d", strconv.Itoa(n), 1))
	}
	for name := range fx.files {
		set(name, 5)
	}
	return procRoot, cgroupRoot, set
}

func TestOOMCounter(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fx    cgroupFixture
		want  string // the file read, under the cgroup root
		bumps string // the file to raise the count in; "" for want
	}{
		{
			name: "cgroup v2, own cgroup",
			fx: cgroupFixture{proc: "0::/kubepods/burstable/pod1/ctr1\n", files: map[string]string{
				"kubepods/burstable/pod1/ctr1/memory.events": memoryEventsV2,
				"memory.events": memoryEventsV2,
			}},
			want: "kubepods/burstable/pod1/ctr1/memory.events",
		},
		{
			name: "cgroup v2, cgroup namespace: the root of the mount",
			fx:   cgroupFixture{proc: "0::/\n", files: map[string]string{"memory.events": memoryEventsV2}},
			want: "memory.events",
		},
		{
			name: "cgroup v2, own directory not visible",
			fx:   cgroupFixture{proc: "0::/../../system.slice/x\n", files: map[string]string{"memory.events": memoryEventsV2}},
			want: "memory.events",
		},
		{
			name: "cgroup v2, deleted cgroup",
			fx: cgroupFixture{proc: "0::/a/b (deleted)\n", files: map[string]string{
				"a/b/memory.events": memoryEventsV2,
			}},
			want: "a/b/memory.events",
		},
		{
			name: "cgroup v1, own cgroup (on the host)",
			fx: cgroupFixture{
				proc: "12:pids:/docker/abc\n11:cpu,cpuacct:/docker/abc\n4:memory:/docker/abc\n1:name=systemd:/docker/abc\n0::/\n",
				files: map[string]string{
					"memory/docker/abc/memory.oom_control": oomControlV1,
					"memory/memory.oom_control":            oomControlV1,
				}},
			want: "memory/docker/abc/memory.oom_control",
		},
		{
			name: "cgroup v1 in a Docker container: the host's path, the container's cgroup at the mount root",
			fx: cgroupFixture{
				proc:  "4:memory:/docker/0123456789abcdef\n0::/\n",
				files: map[string]string{"memory/memory.oom_control": oomControlV1},
			},
			want: "memory/memory.oom_control",
		},
		{
			name: "cgroup v1, memory sharing a hierarchy",
			fx: cgroupFixture{
				proc:  "3:cpu,memory:/job\n",
				files: map[string]string{"memory/job/memory.oom_control": oomControlV1},
			},
			want: "memory/job/memory.oom_control",
		},
		{
			name: "hybrid: cgroup v2 line without memory, memory on v1",
			fx: cgroupFixture{
				proc:  "4:memory:/user.slice\n0::/user.slice/session-1.scope\n",
				files: map[string]string{"memory/user.slice/memory.oom_control": oomControlV1},
			},
			want: "memory/user.slice/memory.oom_control",
		},
		{
			name: "no /proc",
			fx:   cgroupFixture{files: map[string]string{"memory/memory.oom_control": oomControlV1}},
			want: "memory/memory.oom_control",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			procRoot, cgroupRoot, set := tc.fx.make(t)
			c := ending.NewOOMCounter(procRoot, cgroupRoot)
			if err := c.Start(); err != nil {
				t.Fatalf("Start: %v", err)
			}
			if want := filepath.Join(cgroupRoot, tc.want); c.Path() != want {
				t.Errorf("Path() = %s, want %s", c.Path(), want)
			}
			if n, err := c.Since(); n != 0 || err != nil {
				t.Errorf("Since() before any kill = %d, %v; want 0", n, err)
			}
			set(tc.want, 7)
			if n, err := c.Since(); n != 2 || err != nil {
				t.Errorf("Since() after two kills = %d, %v; want 2", n, err)
			}
			// Another cgroup's count does not matter.
			for name := range tc.fx.files {
				if name != tc.want {
					set(name, 100)
				}
			}
			if n, err := c.Since(); n != 2 || err != nil {
				t.Errorf("Since() after kills elsewhere = %d, %v; want 2", n, err)
			}
		})
	}
}

func TestOOMCounterMissing(t *testing.T) {
	for _, tc := range []struct {
		name string
		fx   cgroupFixture
	}{
		{"no memory controller", cgroupFixture{proc: "0::/x\n", files: map[string]string{"x/pids.max": "max\n"}}},
		{"cgroup v1 before 4.13", cgroupFixture{proc: "4:memory:/x\n", files: map[string]string{"memory/x/memory.oom_control": oomControlOld}}},
		{"only oom_group_kill", cgroupFixture{proc: "0::/x\n", files: map[string]string{"x/memory.events": "oom 1\noom_group_kill %d\n"}}},
		{"garbage", cgroupFixture{proc: "0::/x\n", files: map[string]string{"x/memory.events": "oom_kill many\n"}}},
		{"nothing at all", cgroupFixture{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			procRoot, cgroupRoot, _ := tc.fx.make(t)
			c := ending.NewOOMCounter(procRoot, cgroupRoot)
			if err := c.Start(); !errors.Is(err, ending.ErrNoOOMCounter) {
				t.Errorf("Start = %v, want ErrNoOOMCounter", err)
			}
			if n, err := c.Since(); n != 0 || err == nil {
				t.Errorf("Since() = %d, %v; want 0 and an error", n, err)
			}
		})
	}
}

func TestOOMCounterFileGone(t *testing.T) {
	fx := cgroupFixture{proc: "0::/x\n", files: map[string]string{"x/memory.events": memoryEventsV2}}
	procRoot, cgroupRoot, _ := fx.make(t)
	c := ending.NewOOMCounter(procRoot, cgroupRoot)
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	os.Remove(c.Path())
	if n, err := c.Since(); n != 0 || err == nil {
		t.Errorf("Since() with the file gone = %d, %v; want 0 and an error", n, err)
	}
}

// TestOOMKillCgroupV1 makes a real OOM kill: a child of this test, in a
// cgroup v1 memory cgroup of its own limited to 32 MiB, starts the
// counter, starts a process that allocates until the OOM killer kills
// it, and reads the counter again.
func TestOOMKillCgroupV1(t *testing.T) {
	switch os.Getenv("ENDING_OOM_ROLE") {
	case "reader":
		oomReader(t)
		return
	case "alloc":
		oomAlloc()
		return
	}
	if os.Getuid() != 0 {
		t.Skip("skipping: needs root to make a memory cgroup")
	}
	parent := selfCgroupV1(t, "memory")
	base := filepath.Join("/sys/fs/cgroup/memory", parent)
	if _, err := os.Stat(filepath.Join(base, "memory.oom_control")); err != nil {
		t.Skipf("skipping: no cgroup v1 memory controller at %s (%v)", base, err)
	}
	dir, err := os.MkdirTemp(base, "ending-oom-test-")
	if err != nil {
		t.Skipf("skipping: cannot make a memory cgroup under %s: %v", base, err)
	}
	defer removeCgroup(t, dir)
	const limit = "33554432" // 32 MiB
	if err := os.WriteFile(filepath.Join(dir, "memory.limit_in_bytes"), []byte(limit), 0); err != nil {
		t.Skipf("skipping: cannot set memory.limit_in_bytes: %v", err)
	}
	// No swap to escape to, where the kernel accounts for it.
	_ = os.WriteFile(filepath.Join(dir, "memory.memsw.limit_in_bytes"), []byte(limit), 0)
	if b, _ := os.ReadFile(filepath.Join(dir, "memory.oom_control")); !strings.Contains(string(b), "oom_kill ") {
		t.Skipf("skipping: memory.oom_control has no oom_kill counter (Linux before 4.13): %q", b)
	}

	cmd := exec.Command(os.Args[0], "-test.run=^TestOOMKillCgroupV1$")
	cmd.Env = append(os.Environ(), "ENDING_OOM_ROLE=reader", "ENDING_OOM_CGROUP="+dir)
	out, err := cmd.CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("helper: %v", err)
	}
	s := string(out)
	if i := strings.Index(s, "SKIP: "); i >= 0 {
		t.Skipf("skipping: %s", strings.SplitN(s[i+6:], "\n", 2)[0])
	}
	if !strings.Contains(s, "RESULT: signal=killed since=1 ") {
		t.Errorf("want the allocator killed by SIGKILL and one OOM kill counted; got %s", s)
	}
	if !strings.Contains(s, "path="+filepath.Join(dir, "memory.oom_control")) {
		t.Errorf("want the counter read from the cgroup's own memory.oom_control; got %s", s)
	}
}

// oomAlloc is the allocator: it touches memory until it is killed, and
// gives up at 1 GiB.
func oomAlloc() {
	var keep [][]byte
	for i := 0; i < 1024; i++ {
		b := make([]byte, 1<<20)
		for j := range b {
			b[j] = byte(j)
		}
		keep = append(keep, b)
	}
	os.Stdout.WriteString("allocated " + strconv.Itoa(len(keep)) + " MiB without being killed\n")
	os.Exit(3)
}

// oomReader is the reader of TestOOMKillCgroupV1, in the copy of the test
// binary: it joins the cgroup, starts the counter and the allocator, and
// reports.
func oomReader(t *testing.T) {
	dir := os.Getenv("ENDING_OOM_CGROUP")
	if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(os.Getpid())), 0); err != nil {
		os.Stdout.WriteString("SKIP: cannot join " + dir + ": " + err.Error() + "\n")
		os.Exit(0)
	}
	// Keep this process out of the OOM killer's choice.
	_ = os.WriteFile("/proc/self/oom_score_adj", []byte("-1000"), 0)
	c := ending.NewOOMCounter("", "")
	if err := c.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	alloc := exec.Command(os.Args[0], "-test.run=^TestOOMKillCgroupV1$")
	alloc.Env = append(os.Environ(), "ENDING_OOM_ROLE=alloc")
	alloc.Stdout, alloc.Stderr = os.Stdout, os.Stderr
	// The allocator inherits the cgroup; it must be the OOM killer's
	// choice, not this process (oom_score_adj is inherited: reset it).
	if err := alloc.Start(); err != nil {
		t.Fatal(err)
	}
	_ = os.WriteFile("/proc/"+strconv.Itoa(alloc.Process.Pid)+"/oom_score_adj", []byte("1000"), 0)
	start := time.Now()
	_ = alloc.Wait() // how it ended is in ProcessState
	how := "exited"
	if ws, ok := alloc.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
		how = "killed"
	}
	n, serr := c.Since()
	os.Stdout.WriteString("RESULT: signal=" + how + " since=" + strconv.FormatInt(n, 10) + " path=" + c.Path() +
		" after=" + time.Since(start).Round(time.Millisecond).String() + "\n")
	if serr != nil {
		os.Stdout.WriteString("since: " + serr.Error() + "\n")
	}
	// Leave the cgroup so that the parent can remove it.
	_ = os.WriteFile(filepath.Join(filepath.Dir(dir), "cgroup.procs"), []byte(strconv.Itoa(os.Getpid())), 0)
	os.Exit(0)
}

// selfCgroupV1 returns this process's path in the cgroup v1 hierarchy of
// controller, skipping the test when there is none.
func selfCgroupV1(t *testing.T, controller string) string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Skipf("skipping: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			if c == controller {
				return parts[2]
			}
		}
	}
	t.Skipf("skipping: no cgroup v1 %s controller in /proc/self/cgroup (cgroup v2 only?)", controller)
	return ""
}

// removeCgroup removes the cgroup dir once its processes are gone.
func removeCgroup(t *testing.T, dir string) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := syscall.Rmdir(dir)
		if err == nil || os.IsNotExist(err) {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("remove cgroup %s: %v", dir, err)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}
