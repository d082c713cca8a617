#include "textflag.h"

// func cloneSleeper(flags uintptr) (pid, errno uintptr)
//
// clone(flags, 0, 0, 0, 0): the child keeps the caller's stack pointer,
// so with CLONE_VM it must not touch the stack. It does not: it calls
// pause(2) for ever, in registers only, and runs no signal handler (the
// caller blocks every signal around the call).
TEXT ·cloneSleeper(SB),NOSPLIT,$0-24
	MOVQ	flags+0(FP), DI
	MOVQ	$0, SI	// new stack: none, the caller's
	MOVQ	$0, DX	// parent TID
	MOVQ	$0, R10	// child TID
	MOVQ	$0, R8	// TLS
	MOVQ	$56, AX	// SYS_clone
	SYSCALL
	CMPQ	AX, $0
	JEQ	child
	CMPQ	AX, $0xfffffffffffff001
	JLS	ok
	NEGQ	AX
	MOVQ	$0, pid+8(FP)
	MOVQ	AX, errno+16(FP)
	RET
ok:
	MOVQ	AX, pid+8(FP)
	MOVQ	$0, errno+16(FP)
	RET
child:
	MOVQ	$34, AX	// SYS_pause
	SYSCALL
	JMP	child
