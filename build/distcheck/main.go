// Command distcheck checks the release binaries `make dist` wrote: each is
// an ELF executable for the architecture its name says, statically linked
// (no interpreter, no dynamic section), stripped (no symbol table), with
// no build ID note, and it answers --version with the expected version in
// tini's format. Foreign binaries run through qemu-user and binfmt_misc
// (see .ci/foreign-arch.sh).
//
//	go run ./build/distcheck -version 0.2.0 dist/reaper-init-linux-*
//
// It prints one line per binary and exits 1 if any check failed.
package main

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// machines maps a GOARCH (the suffix of a release binary's name) to the
// ELF machine, class and byte order its binary must have.
var machines = map[string]struct {
	machine elf.Machine
	class   elf.Class
	order   binary.ByteOrder
}{
	"amd64":   {elf.EM_X86_64, elf.ELFCLASS64, binary.LittleEndian},
	"386":     {elf.EM_386, elf.ELFCLASS32, binary.LittleEndian},
	"arm64":   {elf.EM_AARCH64, elf.ELFCLASS64, binary.LittleEndian},
	"arm":     {elf.EM_ARM, elf.ELFCLASS32, binary.LittleEndian},
	"ppc64le": {elf.EM_PPC64, elf.ELFCLASS64, binary.LittleEndian},
	"s390x":   {elf.EM_S390, elf.ELFCLASS64, binary.BigEndian},
	"riscv64": {elf.EM_RISCV, elf.ELFCLASS64, binary.LittleEndian},
}

func main() {
	version := flag.String("version", "", "the version each binary must report")
	flag.Parse()
	if flag.NArg() == 0 || *version == "" {
		fmt.Fprintln(os.Stderr, "usage: distcheck -version VERSION BINARY...")
		os.Exit(2)
	}
	failed := false
	for _, path := range flag.Args() {
		first, err := check(path, *version)
		if err != nil {
			fmt.Printf("FAIL %s: %v\n", path, err)
			failed = true
			continue
		}
		fmt.Printf("ok   %s: static, stripped; %s\n", path, first)
	}
	if failed {
		os.Exit(1)
	}
}

// check runs every check on the binary at path and returns the first line
// of its --version output.
func check(path, version string) (string, error) {
	arch, ok := strings.CutPrefix(filepath.Base(path), "reaper-init-linux-")
	want, known := machines[arch]
	if !ok || !known {
		return "", errors.New("name is not reaper-init-linux-GOARCH for a release GOARCH")
	}
	if err := checkELF(path, want.machine, want.class, want.order); err != nil {
		return "", err
	}
	return checkVersion(path, version)
}

func checkELF(path string, machine elf.Machine, class elf.Class, order binary.ByteOrder) error {
	f, err := elf.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if f.Machine != machine || f.Class != class || f.ByteOrder != order {
		return fmt.Errorf("ELF %v %v %v, want %v %v %v", f.Machine, f.Class, f.ByteOrder, machine, class, order)
	}
	if f.Type != elf.ET_EXEC {
		return fmt.Errorf("ELF type %v, want a static executable (ET_EXEC)", f.Type)
	}
	for _, p := range f.Progs {
		switch p.Type {
		case elf.PT_INTERP:
			return errors.New("has a program interpreter (PT_INTERP): dynamically linked")
		case elf.PT_DYNAMIC:
			return errors.New("has a dynamic segment (PT_DYNAMIC)")
		}
	}
	for _, s := range f.Sections {
		switch {
		case s.Name == ".dynamic" || s.Type == elf.SHT_DYNAMIC:
			return errors.New("has a .dynamic section")
		case s.Type == elf.SHT_SYMTAB:
			return fmt.Errorf("not stripped: has a symbol table (%s)", s.Name)
		case s.Name == ".note.go.buildid" || s.Name == ".note.gnu.build-id":
			return fmt.Errorf("has a build ID (%s): not reproducible", s.Name)
		}
	}
	return nil
}

// checkVersion runs path --version and checks that its first line is
// tini's with the given version.
func checkVersion(path, version string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, path, "--version")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("--version: %v %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	first, _, _ := strings.Cut(string(out), "\n")
	if first != "tini version "+version && !strings.HasPrefix(first, "tini version "+version+" - git.") {
		return "", fmt.Errorf("--version printed %q, want tini's line with version %s", first, version)
	}
	return first, nil
}
