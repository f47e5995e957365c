//go:build !amd64 && !arm64

package runc

import "syscall"

// nsexecVfork is only written for amd64 and arm64 (nsexec_vfork_*.s):
// elsewhere ExecSync always goes through runc exec.
func nsexecVfork(*nsexecChild) (uintptr, syscall.Errno) {
	return 0, syscall.ENOSYS
}
