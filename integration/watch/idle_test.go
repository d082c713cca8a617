package watch

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reaper-init/reaper-init/integration/internal/testenv"
)

// switches returns the context switches, voluntary and not, of each
// thread of process pid: every wakeup of a sleeping thread counts one.
func switches(t *testing.T, pid int) map[string]int {
	t.Helper()
	tasks, err := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/status")
	if err != nil || len(tasks) == 0 {
		t.Fatalf("no threads of pid %d in /proc (%v)", pid, err)
	}
	out := map[string]int{}
	for _, path := range tasks {
		f, err := os.Open(path)
		if err != nil {
			continue // the thread exited
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			k, v, ok := strings.Cut(sc.Text(), ":")
			if ok && strings.HasSuffix(k, "ctxt_switches") {
				n, _ := strconv.Atoi(strings.TrimSpace(v))
				out[path] += n
			}
		}
		f.Close()
	}
	return out
}

// wakeups counts the context switches of reaper-init's threads over
// window, after the start-up has settled.
func wakeups(t *testing.T, watch string, window time.Duration) int {
	t.Helper()
	p := startInit(t, "--watch", watch, "--", testenv.Helper(t), "sleep", "1h")
	time.Sleep(1500 * time.Millisecond) // start-up: threads, signal set-up
	before := switches(t, p.pid)
	time.Sleep(window)
	after := switches(t, p.pid)
	n := 0
	for task, a := range after {
		n += a - before[task] // a thread started in the window counts whole
	}
	return n
}

// TestIdleWakeups: an idle reaper-init does not wake up at all with the
// watch off, and about once per tick with it on.
func TestIdleWakeups(t *testing.T) {
	const window = 4 * time.Second
	t.Run("off", func(t *testing.T) {
		// A periodic wakeup, even once a second, would show as 4 or more.
		if n := wakeups(t, "0", window); n > 2 {
			t.Errorf("--watch 0: %d context switches in %v of idleness, want none", n, window)
		}
	})
	t.Run("1s", func(t *testing.T) {
		// 4 ticks: a handful of wakeups each, not hundreds.
		n := wakeups(t, "1s", window)
		most := 100
		if testenv.Emulated(t) {
			// qemu-user runs each tick's scan as translated code and
			// wakes threads of its own with it: tens of switches a tick.
			most = 300
		}
		if n < 3 || n > most {
			t.Errorf("--watch 1s: %d context switches in %v, want one tick's worth per second (3 to %d)", n, window, most)
		}
		t.Logf("--watch 1s: %d context switches in %v", n, window)
	})
}
