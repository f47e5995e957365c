package image

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// unpacker writes one layer's tar stream into a directory the way the
// overlay driver wants it: whiteouts become 0:0 character devices, opaque
// markers become the trusted.overlay.opaque xattr. Every path is resolved
// with openat2(RESOLVE_IN_ROOT), so no entry — whatever symlinks the layer
// holds — can write outside the root; the last component is never followed.
type unpacker struct {
	root *os.File
	// cached parent directory (entries come grouped by directory).
	cacheDir string
	cacheFD  *os.File
	dirs     []dirTimes
}

type dirTimes struct {
	rel   string
	mtime time.Time
	atime time.Time
}

// unpackLayer extracts the tar stream r into the existing, empty directory
// dir.
func unpackLayer(r io.Reader, dir string) error {
	root, err := os.OpenFile(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	u := &unpacker{root: root}
	defer u.close()
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("reading layer: %w", err)
		}
		if err := u.entry(hdr, tr); err != nil {
			return err
		}
	}
	// Directory times last: creating entries changed them.
	for i := len(u.dirs) - 1; i >= 0; i-- {
		d := u.dirs[i]
		if err := u.setTimes(d.rel, d.atime, d.mtime); err != nil {
			return err
		}
	}
	return nil
}

func (u *unpacker) close() {
	if u.cacheFD != nil {
		u.cacheFD.Close()
	}
	u.root.Close()
}

// openDir opens the directory rel (relative to the root, "." for the root)
// resolved inside the root, creating missing components.
func (u *unpacker) openDir(rel string) (*os.File, error) {
	if rel == "." {
		return u.root, nil
	}
	if u.cacheFD != nil && u.cacheDir == rel {
		return u.cacheFD, nil
	}
	fd, err := u.openInRoot(rel)
	if errors.Is(err, unix.ENOENT) {
		parent, base := path.Split(rel)
		pf, perr := u.openDir(cleanDir(parent))
		if perr != nil {
			return nil, perr
		}
		if err := unix.Mkdirat(int(pf.Fd()), base, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
			return nil, fmt.Errorf("creating %s: %w", rel, err)
		}
		fd, err = u.openInRoot(rel)
	}
	if err != nil {
		return nil, fmt.Errorf("opening directory %s in layer: %w", rel, err)
	}
	if u.cacheFD != nil {
		u.cacheFD.Close()
	}
	u.cacheDir, u.cacheFD = rel, fd
	return fd, nil
}

func (u *unpacker) openInRoot(rel string) (*os.File, error) {
	for {
		fd, err := unix.Openat2(int(u.root.Fd()), rel, &unix.OpenHow{
			Flags:   unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC,
			Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
		})
		if errors.Is(err, unix.EINTR) || errors.Is(err, unix.EAGAIN) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return os.NewFile(uintptr(fd), rel), nil
	}
}

// forgetCache drops the cached directory (after removing a directory,
// which may have been it or one of its parents).
func (u *unpacker) forgetCache() {
	if u.cacheFD != nil {
		u.cacheFD.Close()
	}
	u.cacheDir, u.cacheFD = "", nil
}

func cleanDir(parent string) string {
	parent = strings.TrimSuffix(parent, "/")
	if parent == "" {
		return "."
	}
	return parent
}

func (u *unpacker) entry(hdr *tar.Header, r io.Reader) error {
	rel, err := cleanEntryName(hdr.Name)
	if err != nil {
		return err
	}
	if rel == "." {
		if hdr.Typeflag != tar.TypeDir {
			return fmt.Errorf("tar entry %q: the layer root must be a directory", hdr.Name)
		}
		return u.rootMeta(hdr)
	}
	parentRel, base := path.Split(rel)
	parentRel = cleanDir(parentRel)

	switch kind, hidden := classifyWhiteout(base); kind {
	case otherWhiteout:
		return nil
	case opaqueWhiteout:
		d, err := u.openDir(parentRel)
		if err != nil {
			return err
		}
		if err := unix.Fsetxattr(int(d.Fd()), "trusted.overlay.opaque", []byte("y"), 0); err != nil {
			return fmt.Errorf("marking %s opaque: %w", parentRel, err)
		}
		return nil
	case fileWhiteout:
		if hidden == "" || hidden == "." || hidden == ".." {
			return fmt.Errorf("tar entry %q: invalid whiteout: %w", hdr.Name, errUnsafePath)
		}
		parent, err := u.openDir(parentRel)
		if err != nil {
			return err
		}
		if err := u.removeExisting(parent, parentRel, hidden); err != nil {
			return err
		}
		if err := unix.Mknodat(int(parent.Fd()), hidden, unix.S_IFCHR, 0); err != nil {
			return fmt.Errorf("whiteout %s: %w", path.Join(parentRel, hidden), err)
		}
		return nil
	}

	parent, err := u.openDir(parentRel)
	if err != nil {
		return err
	}
	pfd := int(parent.Fd())
	mode := uint32(hdr.Mode) & 0o7777

	switch hdr.Typeflag {
	case tar.TypeDir:
		var st unix.Stat_t
		err := unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW)
		if err == nil && st.Mode&unix.S_IFMT != unix.S_IFDIR {
			if err := u.removeExisting(parent, parentRel, base); err != nil {
				return err
			}
			err = unix.ENOENT
		}
		if errors.Is(err, unix.ENOENT) {
			err = unix.Mkdirat(pfd, base, 0o700)
		}
		if err != nil {
			return fmt.Errorf("creating directory %s: %w", rel, err)
		}
		if err := u.meta(pfd, base, hdr, mode, false); err != nil {
			return err
		}
		u.dirs = append(u.dirs, dirTimes{rel: rel, mtime: hdr.ModTime, atime: hdr.AccessTime})
		return nil

	case tar.TypeReg, tar.TypeRegA, tar.TypeGNUSparse:
		if err := u.removeExisting(parent, parentRel, base); err != nil {
			return err
		}
		fd, err := unix.Openat(pfd, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		if err != nil {
			return fmt.Errorf("creating %s: %w", rel, err)
		}
		f := os.NewFile(uintptr(fd), rel)
		_, err = io.Copy(f, r)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("writing %s: %w", rel, err)
		}

	case tar.TypeSymlink:
		if err := u.removeExisting(parent, parentRel, base); err != nil {
			return err
		}
		if err := unix.Symlinkat(hdr.Linkname, pfd, base); err != nil {
			return fmt.Errorf("creating symlink %s: %w", rel, err)
		}

	case tar.TypeLink:
		target, err := cleanEntryName(hdr.Linkname)
		if err != nil || target == "." {
			return fmt.Errorf("hard link %s -> %q: %w", rel, hdr.Linkname, errUnsafePath)
		}
		tparentRel, tbase := path.Split(target)
		tparent, err := u.openInRoot(cleanDir(tparentRel))
		if err != nil {
			return fmt.Errorf("hard link %s -> %s: %w", rel, target, err)
		}
		defer tparent.Close()
		if err := u.removeExisting(parent, parentRel, base); err != nil {
			return err
		}
		if err := unix.Linkat(int(tparent.Fd()), tbase, pfd, base, 0); err != nil {
			return fmt.Errorf("hard link %s -> %s: %w", rel, target, err)
		}
		return nil // the inode's metadata came with its first name

	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		if err := u.removeExisting(parent, parentRel, base); err != nil {
			return err
		}
		typ := map[byte]uint32{tar.TypeChar: unix.S_IFCHR, tar.TypeBlock: unix.S_IFBLK, tar.TypeFifo: unix.S_IFIFO}[hdr.Typeflag]
		dev := unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor))
		if err := unix.Mknodat(pfd, base, typ|0o600, int(dev)); err != nil {
			return fmt.Errorf("creating device %s: %w", rel, err)
		}

	case tar.TypeXGlobalHeader:
		return nil

	default:
		return fmt.Errorf("tar entry %q: unsupported type %q", hdr.Name, hdr.Typeflag)
	}

	symlink := hdr.Typeflag == tar.TypeSymlink
	if err := u.meta(pfd, base, hdr, mode, symlink); err != nil {
		return err
	}
	return u.setTimesAt(pfd, base, hdr.AccessTime, hdr.ModTime)
}

// meta applies ownership, then mode (chown clears setuid bits), then
// extended attributes.
func (u *unpacker) meta(pfd int, base string, hdr *tar.Header, mode uint32, symlink bool) error {
	if err := unix.Fchownat(pfd, base, hdr.Uid, hdr.Gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("chown %s: %w", hdr.Name, err)
	}
	if !symlink {
		if err := unix.Fchmodat(pfd, base, mode, 0); err != nil {
			return fmt.Errorf("chmod %s: %w", hdr.Name, err)
		}
	}
	for k, v := range hdr.PAXRecords {
		attr, ok := strings.CutPrefix(k, "SCHILY.xattr.")
		if !ok {
			continue
		}
		p := "/proc/self/fd/" + strconv.Itoa(pfd) + "/" + base
		if err := unix.Lsetxattr(p, attr, []byte(v), 0); err != nil {
			if errors.Is(err, unix.ENOTSUP) {
				continue
			}
			return fmt.Errorf("setting xattr %s on %s: %w", attr, hdr.Name, err)
		}
	}
	return nil
}

func (u *unpacker) rootMeta(hdr *tar.Header) error {
	fd := int(u.root.Fd())
	if err := unix.Fchown(fd, hdr.Uid, hdr.Gid); err != nil {
		return fmt.Errorf("chown layer root: %w", err)
	}
	if err := unix.Fchmod(fd, uint32(hdr.Mode)&0o7777); err != nil {
		return fmt.Errorf("chmod layer root: %w", err)
	}
	u.dirs = append(u.dirs, dirTimes{rel: ".", mtime: hdr.ModTime, atime: hdr.AccessTime})
	return nil
}

func (u *unpacker) setTimes(rel string, atime, mtime time.Time) error {
	if rel == "." {
		return u.setTimesAt(int(u.root.Fd()), ".", atime, mtime)
	}
	parentRel, base := path.Split(rel)
	parent, err := u.openInRoot(cleanDir(parentRel))
	if err != nil {
		return fmt.Errorf("setting times of %s: %w", rel, err)
	}
	defer parent.Close()
	return u.setTimesAt(int(parent.Fd()), base, atime, mtime)
}

func (u *unpacker) setTimesAt(pfd int, base string, atime, mtime time.Time) error {
	if atime.IsZero() {
		atime = mtime
	}
	ts := []unix.Timespec{unix.NsecToTimespec(atime.UnixNano()), unix.NsecToTimespec(mtime.UnixNano())}
	if err := unix.UtimesNanoAt(pfd, base, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("setting times of %s: %w", base, err)
	}
	return nil
}

// removeExisting removes base in parent if it exists (a later entry
// replaces an earlier one), recursively for a directory.
func (u *unpacker) removeExisting(parent *os.File, parentRel, base string) error {
	pfd := int(parent.Fd())
	err := unix.Unlinkat(pfd, base, 0)
	if err == nil || errors.Is(err, unix.ENOENT) {
		return nil
	}
	if !errors.Is(err, unix.EISDIR) && !errors.Is(err, unix.EPERM) {
		return fmt.Errorf("replacing %s: %w", base, err)
	}
	// A directory: parent was resolved inside the root, so its real path
	// is inside it too, and RemoveAll does not follow symlinks.
	dir, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(pfd))
	if err != nil {
		return fmt.Errorf("replacing %s: %w", base, err)
	}
	if rel := path.Join(parentRel, base); u.cacheDir == rel || strings.HasPrefix(u.cacheDir, rel+"/") {
		u.forgetCache()
	}
	if err := os.RemoveAll(path.Join(dir, base)); err != nil {
		return fmt.Errorf("replacing %s: %w", base, err)
	}
	return nil
}
