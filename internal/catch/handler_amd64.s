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

#define LOUD 0x100
#define SYS_write 1
#define SYS_kill 62
#define SYS_getpgid 121
#define SYS_rt_sigreturn 15

// handler is what the kernel runs for every signal reaper-init catches:
// DI = signal number, SI = *siginfo_t, DX = *ucontext_t, on the thread's
// alternate signal stack, every signal blocked. It touches no stack and
// no Go state but the package's variables, and may clobber any register
// (sigreturn restores them all), except DI, SI and DX and the stack
// pointer on the way to the runtime's handler. See doc.go for the rules.
TEXT ·handler(SB),NOSPLIT|NOFRAME,$0
	MOVL	DI, BX                  // BX = signal
	MOVQ	SI, R15                 // R15 = siginfo, kept across the kills
	LEAQ	-1(BX), R8              // R8 = its bit in the masks
	MOVL	SI_CODE(SI), CX         // CX = si_code
	CMPL	CX, $0
	JGT	kernel
	JEQ	sent                    // SI_USER
	CMPL	CX, $-1                 // SI_QUEUE
	JEQ	sent
	CMPL	CX, $-6                 // SI_TKILL
	JEQ	sent
	MOVQ	·masks+M_OTHER_TO_RUNTIME(SB), R9
	BTQ	R8, R9
	JCS	chain
	RET

kernel:                                 // raised by the kernel about us
	MOVQ	·masks+M_KERNEL_TO_RUNTIME(SB), R9
	BTQ	R8, R9
	JCS	chain
	MOVQ	·masks+M_KERNEL_DROP(SB), R9
	BTQ	R8, R9
	JCS	drop
	JMP	record

sent:                                   // sent by a process
	MOVL	SI_PID(SI), R10
	CMPL	R10, ·selfPID(SB)
	JNE	outside
	MOVQ	·masks+M_SELF_TO_RUNTIME(SB), R9
	BTQ	R8, R9
	JCS	chain
drop:
	RET

outside:                                // a request to the container
	MOVQ	·masks+M_RESERVED(SB), R9
	BTQ	R8, R9
	JCS	drop
	CMPL	BX, $17                 // SIGCHLD: just reap
	JEQ	record
	LOCK
	INCL	·inflight(SB)           // full barrier before reading the target
	LEAQ	·fastTo(SB), R9
	MOVL	(R9)(BX*4), R13         // R13 = the rule: the signal to send, Loud
	MOVL	·fastTarget(SB), R12    // R12 = where
	TESTL	R13, R13
	JZ	slow
	TESTL	R12, R12
	JZ	slow
	MOVL	$SYS_kill, AX           // kill(target, signal)
	MOVLQSX	R12, DI
	MOVL	R13, SI
	ANDL	$0xff, SI
	SYSCALL
	MOVL	·fastChild(SB), R14
	TESTL	R14, R14
	JZ	fastdone
	MOVL	$SYS_getpgid, AX        // has the child left its group?
	MOVLQSX	R14, DI
	SYSCALL
	CMPQ	AX, $0
	JLT	fastdone
	CMPL	AX, R14
	JEQ	fastdone
	MOVL	$SYS_kill, AX           // then it gets the signal by PID too
	MOVLQSX	R14, DI
	MOVL	R13, SI
	ANDL	$0xff, SI
	SYSCALL
fastdone:
	LOCK
	DECL	·inflight(SB)
	TESTL	$LOUD, R13
	JNZ	loud
	ANDL	$0xff, R13              // quiet: counted, the loop not woken
	LEAQ	·fwdCount(SB), R9
	LOCK
	INCL	(R9)(R13*4)
	RET
loud:
	ORL	$0x80, BX               // Forwarded
	JMP	writebyte
slow:
	LOCK
	DECL	·inflight(SB)
	JMP	writebyte

record:
	CMPL	BX, $17
	JNE	writebyte
	MOVL	$1, AX
	XCHGL	AX, ·childPending(SB)
	TESTL	AX, AX
	JNZ	drop                    // one SIGCHLD is already waiting
writebyte:                              // siginfo_t is ours to scribble on:
	MOVB	BX, SI_ERRNO(R15)       // its si_errno is the one-byte buffer
	MOVL	$SYS_write, AX
	MOVLQSX	·pipeW(SB), DI
	LEAQ	SI_ERRNO(R15), SI
	MOVL	$1, DX
	SYSCALL
	RET

chain:                                  // the runtime's signal
	LEAQ	·chainTo(SB), R9
	MOVQ	(R9)(BX*8), AX
	TESTQ	AX, AX
	JZ	drop
	JMP	AX

// restorer returns from a handler: the x86-64 kernel needs one given in
// the sigaction.
TEXT ·restorer(SB),NOSPLIT|NOFRAME,$0
	MOVQ	$SYS_rt_sigreturn, AX
	SYSCALL
	INT	$3

// func rawSyscall6(trap, a1, a2, a3, a4, a5, a6 uintptr) (r1, errno uintptr)
TEXT ·rawSyscall6(SB),NOSPLIT,$0-72
	MOVQ	trap+0(FP), AX
	MOVQ	a1+8(FP), DI
	MOVQ	a2+16(FP), SI
	MOVQ	a3+24(FP), DX
	MOVQ	a4+32(FP), R10
	MOVQ	a5+40(FP), R8
	MOVQ	a6+48(FP), R9
	SYSCALL
	CMPQ	AX, $0xfffffffffffff001
	JLS	ok
	MOVQ	$-1, r1+56(FP)
	NEGQ	AX
	MOVQ	AX, errno+64(FP)
	RET
ok:
	MOVQ	AX, r1+56(FP)
	MOVQ	$0, errno+64(FP)
	RET

DATA ·handlerPC+0(SB)/8, $·handler(SB)
GLOBL ·handlerPC(SB), RODATA, $8
DATA ·restorerPC+0(SB)/8, $·restorer(SB)
GLOBL ·restorerPC(SB), RODATA, $8
