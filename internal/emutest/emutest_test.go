package emutest

import (
	"debug/elf"
	"runtime"
	"testing"
)

// TestEmulator checks Emulator against the ELF machine of the program
// that runs this process: natively it is the test binary, built for
// runtime.GOARCH; under an emulator it is the emulator, built for the
// host.
func TestEmulator(t *testing.T) {
	emu := Emulator()
	path := "/proc/self/exe"
	if emu != "" {
		path = emu
	}
	f, err := elf.Open(path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer f.Close()
	own := map[string]elf.Machine{
		"amd64": elf.EM_X86_64, "386": elf.EM_386, "arm64": elf.EM_AARCH64, "arm": elf.EM_ARM,
		"ppc64le": elf.EM_PPC64, "s390x": elf.EM_S390, "riscv64": elf.EM_RISCV,
	}[runtime.GOARCH]
	if emu == "" && f.Machine != own {
		t.Errorf("not emulated, but this program is %v, want %v for %s", f.Machine, own, runtime.GOARCH)
	}
	if emu != "" && f.Machine == own {
		t.Errorf("emulated by %s, which is %v like this %s test", emu, f.Machine, runtime.GOARCH)
	}
}
