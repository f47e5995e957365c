//go:build !amd64 && !arm64

package runc

import "syscall"

// nsexecVforkSupported: the fast exec path's fork is only written for
// amd64 and arm64 (nsexec_vfork_*.s); elsewhere ExecSync always goes
// through runc exec.
const nsexecVforkSupported = false

// nsexecVfork is not used where nsexecVforkSupported is false.
func nsexecVfork(*nsexecChild) (uintptr, syscall.Errno) {
	return 0, syscall.ENOSYS
}
