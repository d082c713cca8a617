#include "textflag.h"

// Offsets into siginfo_t and the masks array (see catch.go).
#define SI_CODE 8
#define SI_PID 16
#define SI_ERRNO 4
#define M_KERNEL_TO_RUNTIME 0
#define M_KERNEL_DROP 8
#define M_SELF_TO_RUNTIME 16
#define M_OTHER_TO_RUNTIME 24
#define M_RESERVED 32

#define SYS_write 64
#define SYS_kill 129
#define SYS_getpgid 155

// DMB ISH: a full barrier between the cores that share memory.
#define BARRIER DMB $0xb

// handler is what the kernel runs for every signal reaper-init catches:
// R0 = signal number, R1 = *siginfo_t, R2 = *ucontext_t, LR = the
// kernel's return trampoline, on the thread's alternate signal stack,
// every signal blocked. It touches no stack and no Go state but the
// package's variables. Up to the chain it changes only R9 to R13 (and
// the assembler's R27): R0 to R2, g (R28), LR and RSP reach the
// runtime's handler as the kernel set them. Past it, it may clobber any
// register but those (sigreturn restores them all). See doc.go.
TEXT ·handler(SB),NOSPLIT|NOFRAME,$0
	MOVWU	R0, R9                  // R9 = signal
	MOVD	R1, R10                 // R10 = siginfo, kept across the kills
	SUB	$1, R9, R11             // R11 = its bit in the masks
	MOVW	SI_CODE(R1), R12        // R12 = si_code
	CMP	$0, R12
	BGT	kernel
	BEQ	sent                    // SI_USER
	CMN	$1, R12                 // SI_QUEUE
	BEQ	sent
	CMN	$6, R12                 // SI_TKILL
	BEQ	sent
	MOVD	·masks+M_OTHER_TO_RUNTIME(SB), R13
	LSR	R11, R13, R13
	TBNZ	$0, R13, chain
	RET

kernel:                                 // raised by the kernel about us
	MOVD	·masks+M_KERNEL_TO_RUNTIME(SB), R13
	LSR	R11, R13, R13
	TBNZ	$0, R13, chain
	MOVD	·masks+M_KERNEL_DROP(SB), R13
	LSR	R11, R13, R13
	TBNZ	$0, R13, drop
	B	record

sent:                                   // sent by a process
	MOVW	SI_PID(R1), R12
	MOVW	·selfPID(SB), R13
	CMPW	R13, R12
	BNE	outside
	MOVD	·masks+M_SELF_TO_RUNTIME(SB), R13
	LSR	R11, R13, R13
	TBNZ	$0, R13, chain
drop:
	RET

chain:                                  // the runtime's signal
	MOVD	$·chainTo(SB), R13
	MOVD	(R13)(R9<<3), R13
	CBZ	R13, drop
	B	(R13)                   // not BL: LR stays the kernel's

outside:                                // a request to the container
	MOVD	·masks+M_RESERVED(SB), R13
	LSR	R11, R13, R13
	TBNZ	$0, R13, drop
	CMPW	$17, R9                 // SIGCHLD: just reap
	BEQ	record
	MOVD	$·inflight(SB), R12
inc:
	LDAXRW	(R12), R13
	ADDW	$1, R13
	STLXRW	R13, (R12), R14
	CBNZW	R14, inc
	BARRIER                         // full barrier before reading the target
	MOVD	$·fastTo(SB), R13
	MOVWU	(R13)(R9<<2), R15       // R15 = the rule: the signal to send, LOUD
	MOVW	·fastTarget(SB), R16    // R16 = where
	CBZW	R15, slow
	CBZW	R16, slow
	MOVD	$SYS_kill, R8           // kill(target, signal)
	MOVW	R16, R0
	ANDW	$0xff, R15, R1
	SVC
	MOVW	·fastChild(SB), R17
	CBZW	R17, fastdone
	MOVD	$SYS_getpgid, R8        // has the child left its group?
	MOVW	R17, R0
	SVC
	CMP	$0, R0
	BLT	fastdone
	CMPW	R17, R0
	BEQ	fastdone
	MOVD	$SYS_kill, R8           // then it gets the signal by PID too
	MOVW	R17, R0
	ANDW	$0xff, R15, R1
	SVC
fastdone:
	TBNZ	$8, R15, loud           // LOUD: tell the loop
decf:
	LDAXRW	(R12), R13
	SUBW	$1, R13
	STLXRW	R13, (R12), R14
	CBNZW	R14, decf
	ANDW	$0xff, R15, R15         // quiet: counted, the loop not woken
	MOVD	$·fwdCount(SB), R13
	ADD	R15<<2, R13, R13
cnt:
	LDAXRW	(R13), R14
	ADDW	$1, R14
	STLXRW	R14, (R13), R16
	CBNZW	R16, cnt
	RET
loud:
	ORRW	$0x80, R9               // Forwarded
slow:
dec:
	LDAXRW	(R12), R13
	SUBW	$1, R13
	STLXRW	R13, (R12), R14
	CBNZW	R14, dec
	B	writebyte

record:
	CMPW	$17, R9
	BNE	writebyte
	MOVD	$·childPending(SB), R12
	MOVW	$1, R13
xchg:
	LDAXRW	(R12), R14
	STLXRW	R13, (R12), R15
	CBNZW	R15, xchg
	BARRIER
	CBNZW	R14, drop               // one SIGCHLD is already waiting
writebyte:                              // siginfo_t is ours to scribble on:
	MOVB	R9, SI_ERRNO(R10)       // its si_errno is the one-byte buffer
	MOVD	$SYS_write, R8
	MOVW	·pipeW(SB), R0
	ADD	$SI_ERRNO, R10, R1
	MOVD	$1, R2
	SVC
	RET

// func rawSyscall6(trap, a1, a2, a3, a4, a5, a6 uintptr) (r1, errno uintptr)
TEXT ·rawSyscall6(SB),NOSPLIT,$0-72
	MOVD	trap+0(FP), R8
	MOVD	a1+8(FP), R0
	MOVD	a2+16(FP), R1
	MOVD	a3+24(FP), R2
	MOVD	a4+32(FP), R3
	MOVD	a5+40(FP), R4
	MOVD	a6+48(FP), R5
	SVC
	CMN	$4095, R0
	BCC	ok
	MOVD	$-1, R4
	MOVD	R4, r1+56(FP)
	NEG	R0, R0
	MOVD	R0, errno+64(FP)
	RET
ok:
	MOVD	R0, r1+56(FP)
	MOVD	ZR, errno+64(FP)
	RET

DATA ·handlerPC+0(SB)/8, $·handler(SB)
GLOBL ·handlerPC(SB), RODATA, $8
