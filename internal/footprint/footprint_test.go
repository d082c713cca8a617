package footprint

import (
	"os"
	"strings"
	"testing"

	"github.com/reaper-init/reaper-init/internal/emutest"
)

// rssOfExe sums the Rss of the read-only mappings of the executable.
func rssOfExe(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Skipf("skipping: %v", err)
	}
	exe, _ := os.Readlink("/proc/self/exe")
	total, in := 0, false
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 5 && strings.Contains(f[0], "-") {
			in = len(f) >= 6 && f[5] == exe && f[1][1] != 'w'
			continue
		}
		if in && len(f) >= 2 && f[0] == "Rss:" {
			var n int
			for _, c := range f[1] {
				n = n*10 + int(c-'0')
			}
			total += n
		}
	}
	return total
}

func TestTrim(t *testing.T) {
	emutest.Skip(t, "its stat of /proc/self/exe is the emulator's file, and it ignores madvise")
	before := rssOfExe(t)
	n := Trim()
	after := rssOfExe(t)
	t.Logf("trimmed %d bytes of mappings; resident %d KiB before, %d KiB after", n, before, after)
	if n == 0 {
		t.Fatal("Trim advised nothing")
	}
	if after >= before {
		t.Errorf("resident %d KiB after Trim, %d before", after, before)
	}
}
