package footprint

import (
	"testing"

	"golang.org/x/sys/unix"
)

// TestParseMapsLine reads lines as /proc/self/maps writes them (the
// trailing newline already cut off by Trim), and lines that are not.
func TestParseMapsLine(t *testing.T) {
	type want struct {
		start, end uint64 // as uintptr cuts them down on 32-bit systems
		perms      string
		dev, ino   uint64
	}
	tests := []struct {
		line string
		want *want // nil: not ok
	}{
		{"56213ec3b000-56213ec3c000 r-xp 00001000 fe:00 18500                      /usr/local/bin/python3.11",
			&want{0x56213ec3b000, 0x56213ec3c000, "r-xp", unix.Mkdev(0xfe, 0), 18500}},
		{"7fcb33db2000-7fcb33ee5000 rw-p 00000000 00:00 0 ",
			&want{0x7fcb33db2000, 0x7fcb33ee5000, "rw-p", 0, 0}},
		{"7fcb33db2000-7fcb33ee5000 rw-p 00000000 00:00 0",
			&want{0x7fcb33db2000, 0x7fcb33ee5000, "rw-p", 0, 0}},
		{"7fcb34bf8000-7fcb34bfa000 r--s 00000000 fe:00 9994666                    /tmp/fp dir/a file",
			&want{0x7fcb34bf8000, 0x7fcb34bfa000, "r--s", unix.Mkdev(0xfe, 0), 9994666}},
		{"562144230000-5621443bf000 rw-p 00000000 00:00 0                          [heap]",
			&want{0x562144230000, 0x5621443bf000, "rw-p", 0, 0}},
		{"7fcb33da9000-7fcb33db2000 r--s 00000000 fe:00 9978261                    /tmp/fpdel (deleted)",
			&want{0x7fcb33da9000, 0x7fcb33db2000, "r--s", unix.Mkdev(0xfe, 0), 9978261}},
		{"00400000-00401000 r--p 00000000 103:02 1048577 /bin/x",
			&want{0x400000, 0x401000, "r--p", unix.Mkdev(0x103, 2), 1048577}},
		{"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]",
			&want{0xffffffffff600000, 0xffffffffff601000, "--xp", 0, 0}},

		{"", nil},
		{"7fcb33db2000-7fcb33ee5000 rw-p 00000000 00:00", nil},   // no inode
		{"7fcb33db2000-7fcb33ee5000 rw- 00000000 00:00 0", nil},  // short perms
		{"7fcb33db2000 rw-p 00000000 00:00 0", nil},              // no end
		{"7fcb33ee5000-7fcb33db2000 rw-p 00000000 00:00 0", nil}, // end before start
		{"7fcb33db2000-7fcb33db2000 rw-p 00000000 00:00 0", nil}, // empty
		{"7fcb33db2000-7fcb33ee5000 rw-p 00000000 0000 0", nil},  // no minor
		{"7fcb33db2000-7fcb33ee5000 rw-p 00000000 fe:00 x", nil}, // bad inode
		{"7fcb33db2000-7fcb33ee5000 rw-p 00000000 fe:zz 1", nil}, // bad minor
		{"7fcb33dbg000-7fcb33ee5000 rw-p 00000000 fe:00 1", nil}, // bad start
	}
	for _, tt := range tests {
		start, end, perms, dev, ino, ok := parseMapsLine([]byte(tt.line))
		if tt.want == nil {
			if ok {
				t.Errorf("parseMapsLine(%q) = %#x, %#x, %q, %#x, %d, true; want not ok", tt.line, start, end, perms, dev, ino)
			}
			continue
		}
		w := tt.want
		if !ok || start != uintptr(w.start) || end != uintptr(w.end) || string(perms) != w.perms || dev != w.dev || ino != w.ino {
			t.Errorf("parseMapsLine(%q) = %#x, %#x, %q, %#x, %d, %v; want %#x, %#x, %q, %#x, %d, true",
				tt.line, start, end, perms, dev, ino, ok, w.start, w.end, w.perms, w.dev, w.ino)
		}
	}
}
