package spawn

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

// staticTrue writes a static program that exits 0 at once (a few
// instructions in an ELF file with one segment) and returns its path,
// so that a start costs the fork and the exec and almost nothing else.
// Where the test has no such program for the architecture, it falls back
// to /bin/true.
func staticTrue(b *testing.B) string {
	b.Helper()
	var machine uint16
	var code []byte
	switch runtime.GOARCH {
	case "amd64":
		machine = 62 // EM_X86_64
		// mov $231, %eax (exit_group); xor %edi, %edi; syscall
		code = []byte{0xb8, 0xe7, 0x00, 0x00, 0x00, 0x31, 0xff, 0x0f, 0x05}
	case "arm64":
		machine = 183 // EM_AARCH64
		// mov x0, #0; mov x8, #94 (exit_group); svc #0
		code = binary.LittleEndian.AppendUint32(nil, 0xd2800000)
		code = binary.LittleEndian.AppendUint32(code, 0xd2800bc8)
		code = binary.LittleEndian.AppendUint32(code, 0xd4000001)
	default:
		if _, err := os.Stat("/bin/true"); err != nil {
			b.Skipf("skipping: no static true program for %s and no /bin/true", runtime.GOARCH)
		}
		return "/bin/true"
	}
	const base, hdr = 0x400000, 64 + 56
	le := binary.LittleEndian
	elf := []byte{0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	elf = le.AppendUint16(elf, 2) // ET_EXEC
	elf = le.AppendUint16(elf, machine)
	elf = le.AppendUint32(elf, 1)
	elf = le.AppendUint64(elf, base+hdr) // entry
	elf = le.AppendUint64(elf, 64)       // program headers
	elf = le.AppendUint64(elf, 0)        // no section headers
	elf = le.AppendUint32(elf, 0)
	elf = le.AppendUint16(elf, 64)
	elf = le.AppendUint16(elf, 56)
	elf = le.AppendUint16(elf, 1)
	elf = le.AppendUint16(elf, 0)
	elf = le.AppendUint16(elf, 0)
	elf = le.AppendUint16(elf, 0)
	size := uint64(hdr + len(code))
	elf = le.AppendUint32(elf, 1) // PT_LOAD
	elf = le.AppendUint32(elf, 5) // R+X
	elf = le.AppendUint64(elf, 0)
	elf = le.AppendUint64(elf, base)
	elf = le.AppendUint64(elf, base)
	elf = le.AppendUint64(elf, size)
	elf = le.AppendUint64(elf, size)
	elf = le.AppendUint64(elf, 0x1000)
	elf = append(elf, code...)
	p := filepath.Join(b.TempDir(), "true")
	if err := os.WriteFile(p, elf, 0o755); err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkStart measures a start and reap of a static program that
// exits at once, on each path, with and without a Dir, and on the raw
// path with LISTEN_PID to fill in.
func BenchmarkStart(b *testing.B) {
	prog := staticTrue(b)
	null, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		b.Fatal(err)
	}
	saved, _ := unix.FcntlInt(0, unix.F_DUPFD_CLOEXEC, 10)
	unix.Dup3(null, 0, 0)
	unix.Close(null)
	defer func() {
		if saved >= 0 {
			unix.Dup3(saved, 0, 0)
			unix.Close(saved)
		}
	}()

	dir := b.TempDir()
	b.Chdir(dir)
	d, err := LeaveWorkingDir()
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	env := []string{"PATH=/usr/bin:/bin", "HOME=/root", "LANG=C.UTF-8"}
	listenEnv := append([]string{"LISTEN_PID=" + strconv.Itoa(os.Getpid()), "LISTEN_FDS=1"}, env...)

	for _, bb := range []struct {
		name string
		path forkPath
		env  []string
		opt  Options
	}{
		{"forkexec", pathForkExec, env, Options{}},
		{"forkexec+dir", pathForkExec, env, Options{Dir: d}},
		{"raw", pathRaw, env, Options{}},
		{"raw+dir", pathRaw, env, Options{Dir: d}},
		{"raw+dir+listen", pathAuto, listenEnv, Options{Dir: d, RewriteListenPID: true}},
	} {
		b.Run(bb.name, func(b *testing.B) {
			for b.Loop() {
				pid, err := start([]string{prog}, bb.env, bb.opt, bb.path)
				if err != nil {
					b.Fatal(err)
				}
				var ws unix.WaitStatus
				if _, err := unix.Wait4(pid, &ws, 0, nil); err != nil || ws.ExitStatus() != 0 {
					b.Fatalf("wait4: %v, status %#x", err, ws)
				}
			}
		})
	}
}

// BenchmarkChecks measures what Start checks before every fork to choose
// the path: the signal mask and dispositions, and the environment.
func BenchmarkChecks(b *testing.B) {
	env := append(os.Environ(), "LISTEN_FDS=1")
	self := os.Getpid()
	for b.Loop() {
		if !cleanSignalState(0) && runtime.GOOS == "" {
			b.Fatal()
		}
		if planListen(env, self, ownPidfdID) != nil {
			b.Fatal("a plan without LISTEN_PID")
		}
	}
}
