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

#define SYS_write 4
#define SYS_kill 37
#define SYS_getpgid 132

// handler is what the kernel runs for every signal reaper-init catches
// (ELFv2): R3 = signal number, R4 = *siginfo_t, R5 = *ucontext_t, R6 =
// the signal frame, R12 and CTR = this function, LR = the vDSO's return
// trampoline, R1 = the thread's alternate signal stack, every signal
// blocked. It touches no stack and no Go state but the package's
// variables. Up to the chain it changes only R7 to R10 and CR0 (and the
// assembler's R31): R3 to R6, R1, R2, the thread pointer R13, g (R30)
// and LR reach the runtime's handler as the kernel set them, and R12 and
// CTR hold the runtime's handler, as they would had the kernel called it
// (its entry computes the TOC pointer R2 from R12 when it needs one).
// Past the chain, it may clobber any register but those (sigreturn
// restores them all); values that must survive a system call are kept in
// the non-volatile R14 to R18. See doc.go.
TEXT ·handler(SB),NOSPLIT|NOFRAME,$0
	MOVWZ	R3, R7                  // R7 = signal
	ADD	$-1, R7, R8             // R8 = its bit in the masks
	MOVW	SI_CODE(R4), R9         // R9 = si_code
	CMP	R9, $0
	BGT	kernel
	BEQ	sent                    // SI_USER
	CMP	R9, $-1                 // SI_QUEUE
	BEQ	sent
	CMP	R9, $-6                 // SI_TKILL
	BEQ	sent
	MOVD	·masks+M_OTHER_TO_RUNTIME(SB), R10
	SRD	R8, R10, R10
	ANDCC	$1, R10, R10
	BNE	chain
	RET

kernel:                                 // raised by the kernel about us
	MOVD	·masks+M_KERNEL_TO_RUNTIME(SB), R10
	SRD	R8, R10, R10
	ANDCC	$1, R10, R10
	BNE	chain
	MOVD	·masks+M_KERNEL_DROP(SB), R10
	SRD	R8, R10, R10
	ANDCC	$1, R10, R10
	BNE	drop
	BR	record

sent:                                   // sent by a process
	MOVW	SI_PID(R4), R9
	MOVW	·selfPID(SB), R10
	CMPW	R9, R10
	BNE	outside
	MOVD	·masks+M_SELF_TO_RUNTIME(SB), R10
	SRD	R8, R10, R10
	ANDCC	$1, R10, R10
	BNE	chain
drop:
	RET

chain:                                  // the runtime's signal
	MOVD	$·chainTo(SB), R10
	SLD	$3, R7, R9
	MOVD	(R10)(R9), R12          // ELFv2: R12 = the function called
	CMP	R12, $0
	BEQ	drop
	MOVD	R12, CTR
	JMP	(CTR)                   // no link: LR stays the kernel's

outside:                                // a request to the container
	MOVD	·masks+M_RESERVED(SB), R10
	SRD	R8, R10, R10
	ANDCC	$1, R10, R10
	BNE	drop
	CMPW	R7, $17                 // SIGCHLD: just reap
	BEQ	record
	MOVD	R4, R14                 // R14 = siginfo, kept across the kills
	MOVD	R7, R15                 // R15 = signal
	MOVD	$·inflight(SB), R16
	SYNC
inc:
	LWAR	(R16), R9
	ADD	$1, R9
	STWCCC	R9, (R16)
	BNE	inc
	SYNC                            // full barrier before reading the target
	MOVD	$·fastTo(SB), R10
	SLD	$2, R15, R9
	MOVWZ	(R10)(R9), R17          // R17 = the rule: the signal to send, LOUD
	MOVW	·fastTarget(SB), R3     // R3 = where
	CMP	R17, $0
	BEQ	slow
	CMP	R3, $0
	BEQ	slow
	ANDCC	$0xff, R17, R4          // kill(target, signal)
	SYSCALL	$SYS_kill
	MOVW	·fastChild(SB), R18
	CMP	R18, $0
	BEQ	fastdone
	MOVD	R18, R3                 // has the child left its group?
	SYSCALL	$SYS_getpgid
	BVS	fastdone               // getpgid failed: cr0.SO
	CMPW	R3, R18
	BEQ	fastdone
	MOVD	R18, R3                 // then it gets the signal by PID too
	ANDCC	$0xff, R17, R4
	SYSCALL	$SYS_kill
fastdone:
	ANDCC	$0x100, R17, R9         // LOUD: tell the loop
	BNE	loud
	SYNC
decf:
	LWAR	(R16), R9
	ADD	$-1, R9
	STWCCC	R9, (R16)
	BNE	decf
	ANDCC	$0xff, R17, R9          // quiet: counted, the loop not woken
	SLD	$2, R9, R9
	MOVD	$·fwdCount(SB), R10
	ADD	R9, R10
	SYNC
cnt:
	LWAR	(R10), R9
	ADD	$1, R9
	STWCCC	R9, (R10)
	BNE	cnt
	SYNC
	RET
loud:
	OR	$0x80, R15              // Forwarded
slow:
	SYNC
dec:
	LWAR	(R16), R9
	ADD	$-1, R9
	STWCCC	R9, (R16)
	BNE	dec
	MOVD	R15, R7
	MOVD	R14, R4
	BR	writebyte

record:
	CMPW	R7, $17
	BNE	writebyte
	MOVD	$·childPending(SB), R10
	MOVW	$1, R8
	SYNC
xchg:
	LWAR	(R10), R9
	STWCCC	R8, (R10)
	BNE	xchg
	SYNC
	CMPW	R9, $0
	BNE	drop                    // one SIGCHLD is already waiting
writebyte:                              // siginfo_t is ours to scribble on:
	MOVB	R7, SI_ERRNO(R4)        // its si_errno is the one-byte buffer
	MOVW	·pipeW(SB), R3
	ADD	$SI_ERRNO, R4
	MOVD	$1, R5
	SYSCALL	$SYS_write
	RET

// func rawSyscall6(trap, a1, a2, a3, a4, a5, a6 uintptr) (r1, errno uintptr)
TEXT ·rawSyscall6(SB),NOSPLIT,$0-72
	MOVD	trap+0(FP), R9
	MOVD	a1+8(FP), R3
	MOVD	a2+16(FP), R4
	MOVD	a3+24(FP), R5
	MOVD	a4+32(FP), R6
	MOVD	a5+40(FP), R7
	MOVD	a6+48(FP), R8
	SYSCALL	R9
	BVC	ok
	MOVD	$-1, R4
	MOVD	R4, r1+56(FP)
	MOVD	R3, errno+64(FP)        // the error number, positive
	RET
ok:
	MOVD	R3, r1+56(FP)
	MOVD	$0, R4
	MOVD	R4, errno+64(FP)
	RET

DATA ·handlerPC+0(SB)/8, $·handler(SB)
GLOBL ·handlerPC(SB), RODATA, $8
