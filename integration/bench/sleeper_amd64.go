package main

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
)

// sleeperELF returns a static x86-64 executable of 129 bytes that sleeps
// in pause(2) for ever: an ELF header, one loadable segment and three
// instructions. Started with every signal blocked, it sleeps until it is
// killed; the kernel gives it one page of code (shared by all of them), a
// stack and a handful of page tables, so that a crowd of them is cheap to
// make and to tear down. (Sleepers forked from this Go program would copy
// its page tables, some 100 KiB each; clones sharing its memory cost less
// but die slowly, as the kernel looks for a new owner of their shared
// memory each time its owner exits.)
func sleeperELF() []byte {
	code := []byte{
		0xb8, 0x22, 0x00, 0x00, 0x00, // mov eax, 34 (SYS_pause)
		0x0f, 0x05, // syscall
		0xeb, 0xf7, // jmp back to the mov
	}
	const (
		base    = 0x400000
		headers = 64 + 56 // ELF header, one program header
	)
	size := uint64(headers + len(code))
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, elf.Header64{
		Ident:     [elf.EI_NIDENT]byte{0x7f, 'E', 'L', 'F', byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)},
		Type:      uint16(elf.ET_EXEC),
		Machine:   uint16(elf.EM_X86_64),
		Version:   uint32(elf.EV_CURRENT),
		Entry:     base + headers,
		Phoff:     64,
		Ehsize:    64,
		Phentsize: 56,
		Phnum:     1,
	})
	binary.Write(&b, binary.LittleEndian, elf.Prog64{
		Type:   uint32(elf.PT_LOAD),
		Flags:  uint32(elf.PF_R | elf.PF_X),
		Vaddr:  base,
		Paddr:  base,
		Filesz: size,
		Memsz:  size,
		Align:  0x1000,
	})
	b.Write(code)
	return b.Bytes()
}
