//go:build amd64 && !reaper_ossignal

#include "textflag.h"

// trampoline is the handler the kernel runs for every signal a Catcher
// takes: DI = signal number, SI = *siginfo_t, DX = *ucontext_t, on the
// thread's alternate signal stack. It touches no stack and no Go state.
//
// A signal the Go runtime raised for itself (a fault in this process,
// the runtime's own preemption SIGURG sent with tgkill) is passed on to
// the runtime's handler with the registers as the kernel set them. A
// signal this process caused itself otherwise (the kernel's SIGPIPE for a
// write to a closed pipe) is dropped. Anything else came from outside and
// is recorded: its number, one byte, is written to the Catcher's pipe.
// SIGCHLD is written only when no SIGCHLD is already waiting to be read,
// so a storm of exits cannot fill the pipe.
TEXT ·trampoline(SB),NOSPLIT|NOFRAME,$0
	MOVL	DI, BX                  // BX = signal
	LEAQ	-1(BX), R8              // R8 = its bit in the masks
	MOVL	8(SI), CX               // CX = si_code
	CMPL	CX, $0
	JLE	fromuser                // si_code <= 0: sent by a process
	MOVQ	·kernelToRuntime(SB), R9
	BTQ	R8, R9
	JCS	chain                   // a fault in this process
	JMP	record

fromuser:
	MOVL	16(SI), R10             // si_pid
	CMPL	R10, ·selfPID(SB)
	JNE	record                  // from another process
	MOVQ	·selfToRuntime(SB), R9
	BTQ	R8, R9
	JCS	chain                   // the runtime's own
	RET                             // caused by this process: drop

record:
	CMPL	BX, $17                 // SIGCHLD
	JNE	write
	MOVL	$1, AX
	XCHGL	AX, ·childPending(SB)
	TESTL	AX, AX
	JNZ	done                    // one is already waiting
write:
	MOVL	$1, AX                  // write(pipeFD, &si_signo, 1): the low
	MOVLQSX	·pipeFD(SB), DI         // byte of si_signo is the signal
	MOVL	$1, DX
	SYSCALL
done:
	RET

chain:
	LEAQ	·runtimeHandler(SB), R9
	MOVQ	(R9)(BX*8), AX
	JMP	AX

// trampolineABI0 holds the handler's address for rt_sigaction.
DATA ·trampolineABI0+0(SB)/8, $·trampoline(SB)
GLOBL ·trampolineABI0(SB), RODATA, $8
