package runc

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// The driver's volatile state (sandbox and container records, bundles,
// conmon's files, runc's state, exit files, attach sockets, CNI results and
// IP leases) lives on tmpfs mounts the driver makes, as it would under /run
// on a stock system: it means nothing after a reboot, and on a disk file
// system every pod start creates and every teardown deletes some sixty
// inodes there (runc and conmon write theirs through temp files). On this
// machine's ext4 (no journal) creating an inode costs 0.4-1 ms of CPU once
// many were deleted in the last minutes (ext4 skips recently deleted inode
// numbers one by one), which made it a fifth of a pod's start CPU.
//
// What a container can write (/etc/hosts, /etc/hostname, /etc/resolv.conf,
// the termination message file) and its writable layer stay on disk under
// <DataDir>/runtime/disk/<id>: a container must not be able to fill the
// driver's tmpfs, and a writable layer must not live in memory.

// stateFSSize caps each state tmpfs; the files are small (about 30 KiB a
// pod in all) and only the driver, runc and conmon write them.
const stateFSSize = "size=64m,mode=0711"

// mountStateFS makes dir a tmpfs unless it is one already (mounted by an
// earlier driver, which this one adopts, or the whole data dir is on
// tmpfs). A dir that already holds files on disk (state of an older
// version) is used as it is, so that nothing is hidden under the mount.
func mountStateFS(dir string) error {
	if err := os.MkdirAll(dir, 0o711); err != nil {
		return err
	}
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return fmt.Errorf("statfs %s: %w", dir, err)
	}
	if st.Type == unix.TMPFS_MAGIC {
		return nil
	}
	if ents, err := os.ReadDir(dir); err != nil || len(ents) > 0 {
		return err
	}
	if err := unix.Mount("peapod-state", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, stateFSSize); err != nil {
		return fmt.Errorf("mounting state tmpfs at %s: %w", dir, err)
	}
	return nil
}

// unmountStateFS undoes mountStateFS; a dir that is no mount point is fine.
func unmountStateFS(dir string) error {
	err := unix.Unmount(dir, unix.MNT_DETACH)
	if err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unmounting state tmpfs %s: %w", dir, err)
	}
	return nil
}
