#include "textflag.h"

// Offsets into siginfo_t and the masks array (see catch.go). s390x is
// big-endian: the handler only loads whole words and doublewords, and
// stores and writes the same byte, so the offsets are those of the
// little-endian architectures.
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

// handler is what the kernel runs for every signal reaper-init catches:
// R2 = signal number, R3 = *siginfo_t, R4 = *ucontext_t, R5 = the last
// breaking-event address, R14 = the return trampoline, R15 = the
// thread's alternate signal stack, every signal blocked. It touches no
// stack and no Go state but the package's variables. Up to the chain it
// changes only R1 and R6 to R9 (and the assembler's R10 and R11): R2 to
// R5, g (R13), R14 and R15 reach the runtime's handler as the kernel set
// them. Past it, it may clobber any register but those (sigreturn
// restores them all). See doc.go.
TEXT ·handler(SB),NOSPLIT|NOFRAME,$0
	MOVWZ	R2, R6                  // R6 = signal
	ADD	$-1, R6, R7             // R7 = its bit in the masks
	MOVW	SI_CODE(R3), R8         // R8 = si_code
	CMPBGT	R8, $0, kernel
	CMPBEQ	R8, $0, sent            // SI_USER
	CMPBEQ	R8, $-1, sent           // SI_QUEUE
	CMPBEQ	R8, $-6, sent           // SI_TKILL
	MOVD	·masks+M_OTHER_TO_RUNTIME(SB), R9
	SRD	R7, R9, R9
	AND	$1, R9
	CMPBNE	R9, $0, chain
	RET

kernel:                                 // raised by the kernel about us
	MOVD	·masks+M_KERNEL_TO_RUNTIME(SB), R9
	SRD	R7, R9, R9
	AND	$1, R9
	CMPBNE	R9, $0, chain
	MOVD	·masks+M_KERNEL_DROP(SB), R9
	SRD	R7, R9, R9
	AND	$1, R9
	CMPBNE	R9, $0, drop
	BR	record

sent:                                   // sent by a process
	MOVW	SI_PID(R3), R8
	MOVW	·selfPID(SB), R9
	CMPBNE	R8, R9, outside
	MOVD	·masks+M_SELF_TO_RUNTIME(SB), R9
	SRD	R7, R9, R9
	AND	$1, R9
	CMPBNE	R9, $0, chain
drop:
	RET

chain:                                  // the runtime's signal
	MOVD	$·chainTo(SB), R9
	SLD	$3, R6, R8
	MOVD	(R9)(R8*1), R1
	CMPBEQ	R1, $0, drop
	BR	(R1)                    // no link: R14 stays the kernel's

outside:                                // a request to the container
	MOVD	·masks+M_RESERVED(SB), R9
	SRD	R7, R9, R9
	AND	$1, R9
	CMPBNE	R9, $0, drop
	CMPBEQ	R6, $17, record         // SIGCHLD: just reap
	MOVD	R3, R7                  // R7 = siginfo, kept across the kills
	MOVD	$·inflight(SB), R8
	MOVWZ	(R8), R0
inc:                                    // COMPARE AND SWAP serializes before
	ADD	$1, R0, R5              // and after: a full barrier before
	CS	R0, R5, (R8)            // reading the target
	BNE	inc
	MOVD	$·fastTo(SB), R9
	SLD	$2, R6, R5
	MOVWZ	(R9)(R5*1), R9          // R9 = the rule: the signal to send, LOUD
	MOVW	·fastTarget(SB), R2     // R2 = where
	CMPBEQ	R9, $0, slow
	CMPBEQ	R2, $0, slow
	MOVD	R9, R3                  // kill(target, signal)
	AND	$0xff, R3
	MOVD	$SYS_kill, R1
	SYSCALL
	MOVW	·fastChild(SB), R12     // R12 = the child
	CMPBEQ	R12, $0, fastdone
	MOVD	R12, R2                 // has the child left its group?
	MOVD	$SYS_getpgid, R1
	SYSCALL
	CMPBLT	R2, $0, fastdone
	CMPBEQ	R2, R12, fastdone
	MOVD	R12, R2                 // then it gets the signal by PID too
	MOVD	R9, R3
	AND	$0xff, R3
	MOVD	$SYS_kill, R1
	SYSCALL
fastdone:
	MOVD	R9, R5                  // LOUD: tell the loop
	AND	$0x100, R5
	CMPBNE	R5, $0, loud
	MOVWZ	(R8), R0
decf:
	ADD	$-1, R0, R5
	CS	R0, R5, (R8)
	BNE	decf
	AND	$0xff, R9               // quiet: counted, the loop not woken
	SLD	$2, R9, R5
	MOVD	$·fwdCount(SB), R8
	ADD	R5, R8
	MOVWZ	(R8), R0
cnt:
	ADD	$1, R0, R5
	CS	R0, R5, (R8)
	BNE	cnt
	RET
loud:
	OR	$0x80, R6               // Forwarded
slow:
	MOVWZ	(R8), R0
dec:
	ADD	$-1, R0, R5
	CS	R0, R5, (R8)
	BNE	dec
	MOVD	R7, R3
	BR	writebyte

record:
	CMPBNE	R6, $17, writebyte
	MOVD	$·childPending(SB), R8
	MOVD	$1, R5
	MOVWZ	(R8), R0
xchg:
	CS	R0, R5, (R8)
	BNE	xchg
	CMPBNE	R0, $0, drop            // one SIGCHLD is already waiting
writebyte:                              // siginfo_t is ours to scribble on:
	MOVB	R6, SI_ERRNO(R3)        // its si_errno is the one-byte buffer
	MOVW	·pipeW(SB), R2
	ADD	$SI_ERRNO, R3
	MOVD	$1, R4
	MOVD	$SYS_write, R1
	SYSCALL
	RET

// func rawSyscall6(trap, a1, a2, a3, a4, a5, a6 uintptr) (r1, errno uintptr)
TEXT ·rawSyscall6(SB),NOSPLIT,$0-72
	MOVD	trap+0(FP), R1
	MOVD	a1+8(FP), R2
	MOVD	a2+16(FP), R3
	MOVD	a3+24(FP), R4
	MOVD	a4+32(FP), R5
	MOVD	a5+40(FP), R6
	MOVD	a6+48(FP), R7
	SYSCALL
	MOVD	$0xfffffffffffff001, R8
	CMPUBLT	R2, R8, ok
	MOVD	$-1, r1+56(FP)
	NEG	R2, R2
	MOVD	R2, errno+64(FP)
	RET
ok:
	MOVD	R2, r1+56(FP)
	MOVD	$0, errno+64(FP)
	RET

DATA ·handlerPC+0(SB)/8, $·handler(SB)
GLOBL ·handlerPC(SB), RODATA, $8
