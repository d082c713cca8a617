//go:build arm.7

#include "textflag.h"

// Offsets into siginfo_t and the masks array (see catch.go).
#define SI_CODE 8
#define SI_PID 12
#define SI_ERRNO 4
#define M_KERNEL_TO_RUNTIME 0
#define M_KERNEL_DROP 8
#define M_SELF_TO_RUNTIME 16
#define M_OTHER_TO_RUNTIME 24
#define M_RESERVED 32

#define SYS_write 4
#define SYS_kill 37
#define SYS_getpgid 132

// The masks are 64-bit, two words: R12 holds the offset of the signal's
// word (0 or 4, little-endian) and R3 its bit in that word. TEST leaves
// the flags NE when the signal's bit is set in mask m.
#define TEST(m) \
	MOVW	$·masks+m(SB), R5 \
	ADD	R12, R5 \
	MOVW	(R5), R5 \
	MOVW	R5>>R3, R5 \
	TST	$1, R5

// handler is what the kernel runs for every signal reaper-init catches:
// R0 = signal number, R1 = *siginfo_t, R2 = *ucontext_t, LR = the
// kernel's return trampoline, on the thread's alternate signal stack,
// every signal blocked. It touches no stack and no Go state but the
// package's variables. Up to the chain it changes only R3 to R5 and R12
// (and the assembler's R11): R0 to R2, g (R10), LR and SP reach the
// runtime's handler as the kernel set them. Past it, it may clobber any
// register but those (sigreturn restores them all). See doc.go.
//
// It needs ARMv7 (GOARM=7) for DMB, as reaper-init ships.
TEXT ·handler(SB),NOSPLIT|NOFRAME,$0
	SUB	$1, R0, R3
	AND	$32, R3, R12
	MOVW	R12>>3, R12             // R12 = offset of the signal's mask word
	AND	$31, R3                 // R3 = its bit in that word
	MOVW	SI_CODE(R1), R4         // R4 = si_code
	CMP	$0, R4
	BGT	kernel
	BEQ	sent                    // SI_USER
	CMN	$1, R4                  // SI_QUEUE
	BEQ	sent
	CMN	$6, R4                  // SI_TKILL
	BEQ	sent
	TEST(M_OTHER_TO_RUNTIME)
	BNE	chain
	RET

kernel:                                 // raised by the kernel about us
	TEST(M_KERNEL_TO_RUNTIME)
	BNE	chain
	TEST(M_KERNEL_DROP)
	BNE	drop
	B	record

sent:                                   // sent by a process
	MOVW	SI_PID(R1), R4
	MOVW	·selfPID(SB), R5
	CMP	R5, R4
	BNE	outside
	TEST(M_SELF_TO_RUNTIME)
	BNE	chain
drop:
	RET

chain:                                  // the runtime's signal
	MOVW	$·chainTo(SB), R12
	ADD	R0<<2, R12
	MOVW	(R12), R12
	CMP	$0, R12
	BEQ	drop
	B	(R12)                   // not BL: LR stays the kernel's

outside:                                // a request to the container
	TEST(M_RESERVED)
	BNE	drop
	MOVW	R0, R4                  // R4 = signal, kept across the kills
	MOVW	R1, R5                  // R5 = siginfo
	CMP	$17, R4                 // SIGCHLD: just reap
	BEQ	record
	MOVW	$·inflight(SB), R9
	DMB	MB_ISH
inc:
	LDREX	(R9), R3
	ADD	$1, R3
	STREX	R3, (R9), R12
	CMP	$0, R12
	BNE	inc
	DMB	MB_ISH                  // full barrier before reading the target
	MOVW	$·fastTo(SB), R6
	ADD	R4<<2, R6
	MOVW	(R6), R6                // R6 = the rule: the signal to send, LOUD
	MOVW	·fastTarget(SB), R0     // R0 = where
	CMP	$0, R6
	BEQ	slow
	CMP	$0, R0
	BEQ	slow
	AND	$0xff, R6, R1           // kill(target, signal)
	MOVW	$SYS_kill, R7
	SWI	$0
	MOVW	·fastChild(SB), R8      // R8 = the child
	CMP	$0, R8
	BEQ	fastdone
	MOVW	R8, R0                  // has the child left its group?
	MOVW	$SYS_getpgid, R7
	SWI	$0
	CMP	$0, R0
	BLT	fastdone
	CMP	R8, R0
	BEQ	fastdone
	MOVW	R8, R0                  // then it gets the signal by PID too
	AND	$0xff, R6, R1
	MOVW	$SYS_kill, R7
	SWI	$0
fastdone:
	TST	$0x100, R6              // LOUD: tell the loop
	BNE	loud
	DMB	MB_ISH
decf:
	LDREX	(R9), R3
	SUB	$1, R3
	STREX	R3, (R9), R12
	CMP	$0, R12
	BNE	decf
	AND	$0xff, R6               // quiet: counted, the loop not woken
	MOVW	$·fwdCount(SB), R3
	ADD	R6<<2, R3
	DMB	MB_ISH
cnt:
	LDREX	(R3), R2
	ADD	$1, R2
	STREX	R2, (R3), R12
	CMP	$0, R12
	BNE	cnt
	DMB	MB_ISH
	RET
loud:
	ORR	$0x80, R4               // Forwarded
slow:
	DMB	MB_ISH
dec:
	LDREX	(R9), R3
	SUB	$1, R3
	STREX	R3, (R9), R12
	CMP	$0, R12
	BNE	dec
	B	writebyte

record:
	MOVW	R0, R4
	MOVW	R1, R5
	CMP	$17, R4
	BNE	writebyte
	MOVW	$·childPending(SB), R9
	MOVW	$1, R2
	DMB	MB_ISH
xchg:
	LDREX	(R9), R3
	STREX	R2, (R9), R12
	CMP	$0, R12
	BNE	xchg
	DMB	MB_ISH
	CMP	$0, R3
	BNE	drop                    // one SIGCHLD is already waiting
writebyte:                              // siginfo_t is ours to scribble on:
	MOVB	R4, SI_ERRNO(R5)        // its si_errno is the one-byte buffer
	MOVW	·pipeW(SB), R0
	ADD	$SI_ERRNO, R5, R1
	MOVW	$1, R2
	MOVW	$SYS_write, R7
	SWI	$0
	RET

// func rawSyscall6(trap, a1, a2, a3, a4, a5, a6 uintptr) (r1, errno uintptr)
TEXT ·rawSyscall6(SB),NOSPLIT,$0-36
	MOVW	trap+0(FP), R7
	MOVW	a1+4(FP), R0
	MOVW	a2+8(FP), R1
	MOVW	a3+12(FP), R2
	MOVW	a4+16(FP), R3
	MOVW	a5+20(FP), R4
	MOVW	a6+24(FP), R5
	SWI	$0
	MOVW	$0xfffff001, R6
	CMP	R6, R0
	BLS	ok
	MOVW	$-1, R1
	MOVW	R1, r1+28(FP)
	RSB	$0, R0, R0
	MOVW	R0, errno+32(FP)
	RET
ok:
	MOVW	R0, r1+28(FP)
	MOVW	$0, R0
	MOVW	R0, errno+32(FP)
	RET

DATA ·handlerPC+0(SB)/4, $·handler(SB)
GLOBL ·handlerPC(SB), RODATA, $4
