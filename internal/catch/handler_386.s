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
#define SYS_rt_sigreturn 173

// The handler's arguments, on the stack above the return address (the
// restorer).
#define ARG_SIG 4(SP)
#define ARG_INFO 8(SP)

// handler is what the kernel runs for every signal reaper-init catches,
// called with the C calling convention: 0(SP) = the restorer, 4(SP) =
// signal number, 8(SP) = *siginfo_t, 12(SP) = *ucontext_t (the kernel
// also puts them in AX, DX and CX), on the thread's alternate signal
// stack, every signal blocked. It touches no stack but to read its
// arguments and no Go state but the package's variables. Up to the chain
// it changes only BX, SI, DI and BP: AX, CX, DX, SP and the stack reach the
// runtime's handler as the kernel set them (g is in thread-local storage,
// through GS, which nothing here touches). Past it, it may clobber any
// register (sigreturn restores them all). See doc.go.
//
// The masks are 64-bit: BTL with a memory operand addresses bits past
// the first 32, as a bit string.
TEXT ·handler(SB),NOSPLIT|NOFRAME,$0
	MOVL	ARG_SIG, BX             // BX = signal
	MOVL	ARG_INFO, SI            // SI = siginfo
	LEAL	-1(BX), DI              // DI = its bit in the masks
	CMPL	SI_CODE(SI), $0
	JGT	kernel
	JEQ	sent                    // SI_USER
	CMPL	SI_CODE(SI), $-1        // SI_QUEUE
	JEQ	sent
	CMPL	SI_CODE(SI), $-6        // SI_TKILL
	JEQ	sent
	BTL	DI, ·masks+M_OTHER_TO_RUNTIME(SB)
	JCS	chain
	RET

kernel:                                 // raised by the kernel about us
	BTL	DI, ·masks+M_KERNEL_TO_RUNTIME(SB)
	JCS	chain
	BTL	DI, ·masks+M_KERNEL_DROP(SB)
	JCS	drop
	JMP	record

sent:                                   // sent by a process
	MOVL	SI_PID(SI), BP
	CMPL	BP, ·selfPID(SB)
	JNE	outside
	BTL	DI, ·masks+M_SELF_TO_RUNTIME(SB)
	JCS	chain
drop:
	RET

chain:                                  // the runtime's signal
	MOVL	·chainTo(SB)(BX*4), DI
	TESTL	DI, DI
	JZ	drop
	JMP	DI

outside:                                // a request to the container
	BTL	DI, ·masks+M_RESERVED(SB)
	JCS	drop
	CMPL	BX, $17                 // SIGCHLD: just reap
	JEQ	record
	LOCK
	INCL	·inflight(SB)           // full barrier before reading the target
	MOVL	·fastTo(SB)(BX*4), DI   // DI = the rule: the signal to send, LOUD
	MOVL	·fastTarget(SB), BX     // BX = where
	TESTL	DI, DI
	JZ	slow
	TESTL	BX, BX
	JZ	slow
	MOVL	$SYS_kill, AX           // kill(target, signal)
	MOVL	DI, CX
	ANDL	$0xff, CX
	INT	$0x80
	MOVL	·fastChild(SB), BP
	TESTL	BP, BP
	JZ	fastdone
	MOVL	$SYS_getpgid, AX        // has the child left its group?
	MOVL	BP, BX
	INT	$0x80
	CMPL	AX, $0
	JLT	fastdone
	CMPL	AX, BP
	JEQ	fastdone
	MOVL	$SYS_kill, AX           // then it gets the signal by PID too
	MOVL	BP, BX
	MOVL	DI, CX
	ANDL	$0xff, CX
	INT	$0x80
fastdone:
	TESTL	$0x100, DI              // LOUD: tell the loop
	JNZ	loud
	LOCK
	DECL	·inflight(SB)
	ANDL	$0xff, DI               // quiet: counted, the loop not woken
	LOCK
	INCL	·fwdCount(SB)(DI*4)
	RET
loud:
	LOCK
	DECL	·inflight(SB)
	MOVL	ARG_SIG, BX
	ORL	$0x80, BX               // Forwarded
	JMP	writebyte
slow:
	LOCK
	DECL	·inflight(SB)
	MOVL	ARG_SIG, BX
	JMP	writebyte

record:
	CMPL	BX, $17
	JNE	writebyte
	MOVL	$1, AX
	XCHGL	AX, ·childPending(SB)
	TESTL	AX, AX
	JNZ	drop                    // one SIGCHLD is already waiting
writebyte:                              // siginfo_t is ours to scribble on:
	MOVB	BX, SI_ERRNO(SI)        // its si_errno is the one-byte buffer
	MOVL	$SYS_write, AX
	MOVL	·pipeW(SB), BX
	LEAL	SI_ERRNO(SI), CX
	MOVL	$1, DX
	INT	$0x80
	RET

// restorer returns from a handler, as the Go runtime's does: with the
// stack as the handler left it, rt_sigreturn by INT $0x80 (not through
// the vDSO, which would push a return address).
TEXT ·restorer(SB),NOSPLIT|NOFRAME,$0
	MOVL	$SYS_rt_sigreturn, AX
	INT	$0x80
	INT	$3

// func rawSyscall6(trap, a1, a2, a3, a4, a5, a6 uintptr) (r1, errno uintptr)
TEXT ·rawSyscall6(SB),NOSPLIT,$0-36
	MOVL	trap+0(FP), AX
	MOVL	a1+4(FP), BX
	MOVL	a2+8(FP), CX
	MOVL	a3+12(FP), DX
	MOVL	a4+16(FP), SI
	MOVL	a5+20(FP), DI
	MOVL	a6+24(FP), BP
	INT	$0x80
	CMPL	AX, $0xfffff001
	JLS	ok
	MOVL	$-1, r1+28(FP)
	NEGL	AX
	MOVL	AX, errno+32(FP)
	RET
ok:
	MOVL	AX, r1+28(FP)
	MOVL	$0, errno+32(FP)
	RET

DATA ·handlerPC+0(SB)/4, $·handler(SB)
GLOBL ·handlerPC(SB), RODATA, $4
DATA ·restorerPC+0(SB)/4, $·restorer(SB)
GLOBL ·restorerPC(SB), RODATA, $4
