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

// handler is what the kernel runs for every signal reaper-init catches:
// A0 = signal number, A1 = *siginfo_t, A2 = *ucontext_t, RA = the vDSO's
// return trampoline, on the thread's alternate signal stack, every signal
// blocked. It touches no stack and no Go state but the package's
// variables. Up to the chain it changes only T0 to T3 (and the
// assembler's T6): A0 to A2, g (X27), RA and SP reach the runtime's
// handler as the kernel set them. Past it, it may clobber any register
// but those (sigreturn restores them all). See doc.go.
TEXT ·handler(SB),NOSPLIT|NOFRAME,$0
	MOVWU	A0, T0                  // T0 = signal
	ADD	$-1, T0, T1             // T1 = its bit in the masks
	MOVW	SI_CODE(A1), T2         // T2 = si_code
	BGTZ	T2, kernel
	BEQZ	T2, sent                // SI_USER
	MOV	$-1, T3                 // SI_QUEUE
	BEQ	T2, T3, sent
	MOV	$-6, T3                 // SI_TKILL
	BEQ	T2, T3, sent
	MOV	·masks+M_OTHER_TO_RUNTIME(SB), T3
	SRL	T1, T3, T3
	AND	$1, T3, T3
	BNEZ	T3, chain
	RET

kernel:                                 // raised by the kernel about us
	MOV	·masks+M_KERNEL_TO_RUNTIME(SB), T3
	SRL	T1, T3, T3
	AND	$1, T3, T3
	BNEZ	T3, chain
	MOV	·masks+M_KERNEL_DROP(SB), T3
	SRL	T1, T3, T3
	AND	$1, T3, T3
	BNEZ	T3, drop
	JMP	record

sent:                                   // sent by a process
	MOVW	SI_PID(A1), T2
	MOVW	·selfPID(SB), T3
	BNE	T2, T3, outside
	MOV	·masks+M_SELF_TO_RUNTIME(SB), T3
	SRL	T1, T3, T3
	AND	$1, T3, T3
	BNEZ	T3, chain
drop:
	RET

chain:                                  // the runtime's signal
	MOV	$·chainTo(SB), T3
	SLL	$3, T0, T2
	ADD	T2, T3, T3
	MOV	(T3), T3
	BEQZ	T3, drop
	JALR	ZERO, T3                // no link: RA stays the kernel's

outside:                                // a request to the container
	MOV	·masks+M_RESERVED(SB), T3
	SRL	T1, T3, T3
	AND	$1, T3, T3
	BNEZ	T3, drop
	MOV	$17, T3                 // SIGCHLD: just reap
	BEQ	T0, T3, record
	MOV	A1, S2                  // S2 = siginfo, kept across the kills
	MOV	T0, S3                  // S3 = signal
	MOV	$·inflight(SB), S4
	MOV	$1, T3
	AMOADDW	T3, (S4), ZERO          // AMOADD.W.AQRL: a full barrier before reading the target
	MOV	$·fastTo(SB), T3
	SLL	$2, S3, T2
	ADD	T2, T3, T3
	MOVWU	(T3), S5                // S5 = the rule: the signal to send, LOUD
	MOVW	·fastTarget(SB), S6     // S6 = where
	BEQZ	S5, slow
	BEQZ	S6, slow
	MOV	$SYS_kill, A7           // kill(target, signal)
	MOV	S6, A0
	AND	$0xff, S5, A1
	ECALL
	MOVW	·fastChild(SB), S7
	BEQZ	S7, fastdone
	MOV	$SYS_getpgid, A7        // has the child left its group?
	MOV	S7, A0
	ECALL
	BLTZ	A0, fastdone
	BEQ	A0, S7, fastdone
	MOV	$SYS_kill, A7           // then it gets the signal by PID too
	MOV	S7, A0
	AND	$0xff, S5, A1
	ECALL
fastdone:
	AND	$0x100, S5, T3          // LOUD: tell the loop
	BNEZ	T3, loud
	MOV	$-1, T3
	AMOADDW	T3, (S4), ZERO
	AND	$0xff, S5, T2           // quiet: counted, the loop not woken
	SLL	$2, T2, T2
	MOV	$·fwdCount(SB), T3
	ADD	T2, T3, T3
	MOV	$1, T2
	AMOADDW	T2, (T3), ZERO
	RET
loud:
	OR	$0x80, S3               // Forwarded
slow:
	MOV	$-1, T3
	AMOADDW	T3, (S4), ZERO
	MOV	S3, T0
	MOV	S2, A1
	JMP	writebyte

record:
	MOV	$17, T3
	BNE	T0, T3, writebyte
	MOV	$·childPending(SB), T3
	MOV	$1, T2
	AMOSWAPW	T2, (T3), T2
	BNEZ	T2, drop                // one SIGCHLD is already waiting
writebyte:                              // siginfo_t is ours to scribble on:
	MOVB	T0, SI_ERRNO(A1)        // its si_errno is the one-byte buffer
	MOV	$SYS_write, A7
	MOVW	·pipeW(SB), A0
	ADD	$SI_ERRNO, A1, A1
	MOV	$1, A2
	ECALL
	RET

// func rawSyscall6(trap, a1, a2, a3, a4, a5, a6 uintptr) (r1, errno uintptr)
TEXT ·rawSyscall6(SB),NOSPLIT,$0-72
	MOV	trap+0(FP), A7
	MOV	a1+8(FP), A0
	MOV	a2+16(FP), A1
	MOV	a3+24(FP), A2
	MOV	a4+32(FP), A3
	MOV	a5+40(FP), A4
	MOV	a6+48(FP), A5
	ECALL
	MOV	$-4096, T0
	BLTU	T0, A0, err
	MOV	A0, r1+56(FP)
	MOV	ZERO, errno+64(FP)
	RET
err:
	MOV	$-1, T0
	MOV	T0, r1+56(FP)
	SUB	A0, ZERO, A0
	MOV	A0, errno+64(FP)
	RET

DATA ·handlerPC+0(SB)/8, $·handler(SB)
GLOBL ·handlerPC(SB), RODATA, $8
