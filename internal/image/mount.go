package image

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/peapod/peapod/internal/runtime"
)

// maxMountData is the kernel's limit on mount(2) option data (one page,
// with its terminating NUL).
const maxMountData = 4095

// mountRecord notes that containerDir's rootfs is mounted from an image, so
// that Remove refuses to delete the layers under a live container.
type mountRecord struct {
	ContainerDir string `json:"containerDir"`
	ImageID      string `json:"imageID"`
}

func (s *Store) mountRecordPath(containerDir string) string {
	sum := sha256.Sum256([]byte(containerDir))
	return s.path("mounts", hex.EncodeToString(sum[:16]))
}

// mountUsers lists the container dirs that have imageID mounted. A record
// whose container dir is gone is stale (its owner was removed without
// UnmountRootfs) and is deleted.
func (s *Store) mountUsers(imageID string) ([]string, error) {
	entries, err := os.ReadDir(s.path("mounts"))
	if err != nil {
		return nil, fmt.Errorf("reading mount records: %w", err)
	}
	var users []string
	for _, e := range entries {
		p := s.path("mounts", e.Name())
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		var rec mountRecord
		if json.Unmarshal(data, &rec) != nil {
			os.Remove(p)
			continue
		}
		if _, err := os.Stat(filepath.Join(rec.ContainerDir, "rootfs")); errors.Is(err, os.ErrNotExist) {
			os.Remove(p)
			continue
		}
		if rec.ImageID == imageID {
			users = append(users, rec.ContainerDir)
		}
	}
	slices.Sort(users)
	return users, nil
}

// MountRootfs mounts the image's root filesystem for a container: an
// overlay of the image's layers with containerDir/upper as the writable
// layer (containerDir/work as overlay's work dir), at containerDir/rootfs,
// which it returns. Undo with UnmountRootfs; on error nothing is left.
func (s *Store) MountRootfs(ctx context.Context, imageID, containerDir string) (rootfs string, err error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	containerDir, err = filepath.Abs(containerDir)
	if err != nil {
		return "", err
	}
	if strings.ContainsAny(containerDir, ",:") {
		return "", fmt.Errorf("container dir %q: the path may not contain ',' or ':' (overlay mount options)", containerDir)
	}
	// The shared lock keeps Remove from deleting layers between the
	// moment we resolve them and the mount.
	unlock, err := s.lock(unix.LOCK_SH)
	if err != nil {
		return "", err
	}
	defer unlock()

	ix, err := s.readIndex()
	if err != nil {
		return "", err
	}
	i, err := ix.find(imageID)
	if err != nil {
		return "", err
	}
	id := ix.Images[i].ID
	lowers, err := s.LayerDirs(id)
	if err != nil {
		return "", err
	}
	if len(lowers) == 0 {
		lowers = []string{s.path("empty")}
	}
	slices.Reverse(lowers) // overlay wants the top layer first

	upper := filepath.Join(containerDir, "upper")
	work := filepath.Join(containerDir, "work")
	rootfs = filepath.Join(containerDir, "rootfs")

	recPath := s.mountRecordPath(containerDir)
	rec, _ := json.Marshal(mountRecord{ContainerDir: containerDir, ImageID: id})
	if err := os.MkdirAll(containerDir, 0o700); err != nil {
		return "", fmt.Errorf("mounting rootfs: %w", err)
	}
	for _, d := range []string{upper, work, rootfs} {
		if _, err := os.Lstat(d); err == nil {
			return "", fmt.Errorf("mounting rootfs: %s exists (already mounted? call UnmountRootfs first): %w", d, runtime.ErrAlreadyExists)
		}
	}
	var created []string
	defer func() {
		if err != nil {
			for _, d := range created {
				os.RemoveAll(d)
			}
		}
	}()
	// Not synced: after a crash a lost record only weakens the in-use
	// check, and a stale one is dropped once its container dir is gone.
	if err := writeFileRename(recPath, rec, false); err != nil {
		return "", fmt.Errorf("mounting rootfs: %w", err)
	}
	created = append(created, recPath)
	for _, d := range []string{upper, work, rootfs} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return "", fmt.Errorf("mounting rootfs: %w", err)
		}
		created = append(created, d)
	}
	if err := mountOverlay(lowers, upper, work, rootfs); err != nil {
		return "", fmt.Errorf("mounting overlay rootfs at %s: %w", rootfs, err)
	}
	return rootfs, nil
}

// mountOverlay mounts an overlay of lowers (top first) with upper and work
// at target. mount(2) takes its options in one page; an image with more
// layers than fit is mounted through the new mount API, one "lowerdir+"
// per layer (Linux 6.8).
func mountOverlay(lowers []string, upper, work, target string) error {
	data := "lowerdir=" + strings.Join(lowers, ":") + ",upperdir=" + upper + ",workdir=" + work
	if len(data) <= maxMountData {
		return unix.Mount("overlay", target, "overlay", 0, data)
	}
	fsfd, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return fmt.Errorf("%d layers need the new mount API: fsopen: %w", len(lowers), err)
	}
	defer unix.Close(fsfd)
	for _, l := range lowers {
		if err := unix.FsconfigSetString(fsfd, "lowerdir+", l); err != nil {
			return fmt.Errorf("%d layers: fsconfig lowerdir+ %s: %w", len(lowers), l, err)
		}
	}
	if err := unix.FsconfigSetString(fsfd, "upperdir", upper); err != nil {
		return fmt.Errorf("fsconfig upperdir: %w", err)
	}
	if err := unix.FsconfigSetString(fsfd, "workdir", work); err != nil {
		return fmt.Errorf("fsconfig workdir: %w", err)
	}
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return fmt.Errorf("fsconfig create: %w", err)
	}
	mfd, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("fsmount: %w", err)
	}
	defer unix.Close(mfd)
	if err := unix.MoveMount(mfd, "", unix.AT_FDCWD, target, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("move_mount: %w", err)
	}
	return nil
}

// UnmountRootfs unmounts containerDir/rootfs and removes it with the upper
// and work dirs. It is idempotent: a missing or unmounted rootfs is fine.
func (s *Store) UnmountRootfs(containerDir string) error {
	containerDir, err := filepath.Abs(containerDir)
	if err != nil {
		return err
	}
	rootfs := filepath.Join(containerDir, "rootfs")
	// Unmount until nothing is mounted there (mounts may be stacked).
	for range 16 {
		err := unix.Unmount(rootfs, 0)
		if err == nil {
			continue
		}
		if errors.Is(err, unix.EBUSY) {
			err = unix.Unmount(rootfs, unix.MNT_DETACH)
			if err == nil {
				continue
			}
		}
		if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOENT) {
			break
		}
		return fmt.Errorf("unmounting %s: %w", rootfs, err)
	}
	// rootfs is removed with rmdir, never recursively: if it were still
	// mounted, a recursive removal would delete the image's files.
	if err := os.Remove(rootfs); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing %s: %w", rootfs, err)
	}
	for _, d := range []string{"upper", "work"} {
		if err := os.RemoveAll(filepath.Join(containerDir, d)); err != nil {
			return fmt.Errorf("removing container rootfs: %w", err)
		}
	}
	if err := os.Remove(s.mountRecordPath(containerDir)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}
