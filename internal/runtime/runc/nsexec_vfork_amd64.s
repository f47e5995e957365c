#include "textflag.h"

// func rawVfork(args, size uintptr) (pid uintptr, errno syscall.Errno)
//
// clone3(2) of a CLONE_VM|CLONE_VFORK child, as syscall.rawVforkSyscall:
// the return address is popped into R12 (the kernel gives the child the
// same registers) before the call, so the child, which goes on using the
// parent's stack, cannot overwrite it; the parent's results are written
// after the child has exec'd or exited.
TEXT ·rawVfork(SB),NOSPLIT|NOFRAME,$0-32
	MOVQ	args+0(FP), DI
	MOVQ	size+8(FP), SI
	MOVQ	$0, DX
	MOVQ	$0, R10
	MOVQ	$0, R8
	MOVQ	$0, R9
	MOVQ	$435, AX	// SYS_clone3
	POPQ	R12
	SYSCALL
	PUSHQ	R12
	CMPQ	AX, $0xfffffffffffff001
	JLS	ok
	MOVQ	$-1, pid+16(FP)
	NEGQ	AX
	MOVQ	AX, errno+24(FP)
	RET
ok:
	MOVQ	AX, pid+16(FP)
	MOVQ	$0, errno+24(FP)
	RET
