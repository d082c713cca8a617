package procfs

import (
	"os"
	"strconv"
	"testing"

	"github.com/reaper-init/reaper-init/internal/procfs/procfstest"
)

// BenchmarkScan scans synthetic /proc trees of 1,000 and 30,000 processes.
// The files live on the test's temporary file system, so the figure is
// Scan's own cost; on a real /proc the kernel's formatting of each stat
// line comes on top (see BenchmarkScanLive).
func BenchmarkScan(b *testing.B) {
	for _, n := range []int{1000, 30000} {
		root := b.TempDir()
		procfstest.Tree(b, root, n)
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			count := 0
			for b.Loop() {
				count = 0
				if err := Scan(root, func(*Proc) { count++ }); err != nil {
					b.Fatal(err)
				}
			}
			if count != n {
				b.Fatalf("Scan found %d processes, want %d", count, n)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/proc")
		})
	}
}

// BenchmarkScanLive scans this machine's /proc as it is.
func BenchmarkScanLive(b *testing.B) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		b.Skipf("skipping: no /proc here: %v", err)
	}
	b.ReportAllocs()
	count := 0
	for b.Loop() {
		count = 0
		if err := Scan("/proc", func(*Proc) { count++ }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(count), "procs")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(count), "ns/proc")
}
