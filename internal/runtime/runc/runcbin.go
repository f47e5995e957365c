package runc

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// runcMemfdSeals are the seals runc's own copy of itself carries
// (libcontainer/nsenter/cloned_binary.c, RUNC_MEMFD_SEALS).
const runcMemfdSeals = unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE

// sealedRunc copies the runc binary once into a sealed memfd and returns
// a path that executes it (a symlink named runc in dir, to the memfd
// through /proc/<pid>/fd, so processes are still called "runc").
//
// Why: every `runc init` (one per container create and per exec) first
// makes sure it is not running from the host's runc binary
// (CVE-2019-5736): unless /proc/self/exe is a memfd sealed exactly like
// runc's own copies, it bind-mounts its binary read-only on a temp file,
// unmounts it and re-executes itself from that. Started from this copy,
// runc init skips all of it: one exec of the 8.7 MB binary and four
// mount operations on the host fewer per container. The copy protects
// as runc's does: nobody can write to a sealed memfd.
//
// The driver keeps the returned file open for as long as it runs; the
// copy is taken when the driver starts (a runc upgrade on disk takes
// effect at the agent's next start).
func sealedRunc(runcPath, dir string) (path string, f *os.File, err error) {
	src, err := os.Open(runcPath)
	if err != nil {
		return "", nil, err
	}
	defer src.Close()
	fd, err := unix.MemfdCreate("runc", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING|unix.MFD_EXEC)
	if err != nil {
		return "", nil, fmt.Errorf("memfd_create: %w", err)
	}
	f = os.NewFile(uintptr(fd), "memfd:runc")
	defer func() {
		if err != nil {
			f.Close()
		}
	}()
	if _, err := io.Copy(f, src); err != nil {
		return "", nil, fmt.Errorf("copying %s: %w", runcPath, err)
	}
	if _, err := unix.FcntlInt(f.Fd(), unix.F_ADD_SEALS, runcMemfdSeals); err != nil {
		return "", nil, fmt.Errorf("sealing the runc copy: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", nil, err
	}
	path = filepath.Join(dir, "runc")
	tmp := path + ".tmp"
	os.Remove(tmp)
	if err := os.Symlink(fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), f.Fd()), tmp); err != nil {
		return "", nil, err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return "", nil, err
	}
	return path, f, nil
}
