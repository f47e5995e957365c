package runc

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/sys/unix"
)

// runcMemfdSeals are the seals runc's own copy of itself carries
// (libcontainer/nsenter/cloned_binary.c, RUNC_MEMFD_SEALS).
const runcMemfdSeals = unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE

// sealedRunc returns a path that executes a sealed memfd copy of the
// runc binary: a symlink named runc in dir, to the copy through
// /proc/<pid>/fd (so processes are still called "runc").
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
// There is one copy per process and runc path, never closed: a link must
// never name a closed descriptor whose number a later file could reuse,
// and drivers (tests make several per process) come and go. The copy is
// taken the first time (a runc upgrade on disk takes effect at the
// agent's next start).
func sealedRunc(copies *runcCopies, runcPath, dir string) (string, error) {
	fd, err := copies.get(runcPath)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	path := filepath.Join(dir, "runc")
	tmp := path + ".tmp"
	os.Remove(tmp)
	if err := os.Symlink(fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), fd), tmp); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return "", err
	}
	return path, nil
}

// runcCopies holds the process's sealed copies of runc, by path.
type runcCopies struct {
	mu  sync.Mutex
	fds map[string]int
}

// processRuncCopies is the one runcCopies of the process (see sealedRunc
// for why the copies outlive any driver).
var processRuncCopies = &runcCopies{fds: map[string]int{}}

func (c *runcCopies) get(runcPath string) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if fd, ok := c.fds[runcPath]; ok {
		return fd, nil
	}
	fd, err := sealedCopy(runcPath)
	if err != nil {
		return 0, err
	}
	c.fds[runcPath] = fd
	return fd, nil
}

// sealedCopy copies the file at path into a memfd sealed with runc's seals.
func sealedCopy(path string) (_ int, err error) {
	src, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer src.Close()
	fd, err := unix.MemfdCreate("runc", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING|unix.MFD_EXEC)
	if err != nil {
		return 0, fmt.Errorf("memfd_create: %w", err)
	}
	defer func() {
		if err != nil {
			unix.Close(fd)
		}
	}()
	// Not an *os.File: its finalizer would close the descriptor.
	buf := make([]byte, 1<<20)
	for {
		n, rerr := src.Read(buf)
		for off := 0; off < n; {
			w, err := unix.Write(fd, buf[off:n])
			if err != nil {
				return 0, fmt.Errorf("copying %s: %w", path, err)
			}
			off += w
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return 0, fmt.Errorf("copying %s: %w", path, rerr)
		}
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, runcMemfdSeals); err != nil {
		return 0, fmt.Errorf("sealing the copy of %s: %w", path, err)
	}
	return fd, nil
}
