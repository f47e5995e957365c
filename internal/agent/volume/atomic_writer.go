package volume

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// FileProjection is one file of an atomically written volume.
type FileProjection struct {
	Data []byte
	Mode int32
	// FsUser, when set, owns the file (a token under a pod whose
	// containers all run as one user).
	FsUser *int64
}

// ErrInvalidPath marks a payload path the atomic writer refuses.
var ErrInvalidPath = errors.New("invalid path")

const (
	dataDirName    = "..data"
	newDataDirName = "..data_tmp"
	maxPathLength  = 4096
	maxFileLength  = 255
)

// validatePath checks a payload path as the kubelet does: relative, no
// ".." element, not starting with "..", names ≤ 255 and the whole ≤ 4096.
func validatePath(p string) error {
	switch {
	case p == "":
		return fmt.Errorf("%w: the path is empty", ErrInvalidPath)
	case len(p) > maxPathLength:
		return fmt.Errorf("%w: %q is longer than %d characters", ErrInvalidPath, p, maxPathLength)
	case filepath.IsAbs(p):
		return fmt.Errorf("%w: %q is absolute", ErrInvalidPath, p)
	case strings.HasPrefix(p, ".."):
		return fmt.Errorf("%w: %q starts with '..'", ErrInvalidPath, p)
	}
	for _, el := range strings.Split(p, string(os.PathSeparator)) {
		if el == ".." {
			return fmt.Errorf("%w: %q contains '..'", ErrInvalidPath, p)
		}
		if len(el) > maxFileLength {
			return fmt.Errorf("%w: %q has a name longer than %d characters", ErrInvalidPath, p, maxFileLength)
		}
	}
	return nil
}

// WriteAtomic makes dir hold exactly payload with the kubelet's atomic
// writer layout (SEMANTICS.md section 8):
//
//	dir/..<2006_01_02_15_04_05>.<random>/  the files
//	dir/..data -> ..<timestamp>            swapped by renaming ..data_tmp
//	dir/<top> -> ..data/<top>              one link per top-level name
//
// Nothing is written when the current content already equals payload.
// now names the new directory. With fsGroup set, the whole volume gets
// the group and group read (setVolumeOwnership) before the new content
// is swapped in, as the kubelet's setPerms step. It reports whether
// anything changed. Errors never carry file contents.
func WriteAtomic(dir string, payload map[string]FileProjection, now time.Time, fsGroup *int64) (bool, error) {
	clean := make(map[string]FileProjection, len(payload))
	var errs []error
	for p, f := range payload {
		if err := validatePath(p); err != nil {
			errs = append(errs, err)
			continue
		}
		clean[filepath.Clean(p)] = f
	}
	if err := errors.Join(errs...); err != nil {
		return false, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, fmt.Errorf("atomic writer: %w", err)
	}
	oldTS, err := os.Readlink(filepath.Join(dir, dataDirName))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("atomic writer: %w", err)
	}
	if oldTS != "" && sameContent(filepath.Join(dir, oldTS), clean, fsGroup) {
		return false, nil
	}

	tsDir, err := os.MkdirTemp(dir, now.UTC().Format("..2006_01_02_15_04_05."))
	if err != nil {
		return false, fmt.Errorf("atomic writer: %w", err)
	}
	if err := os.Chmod(tsDir, 0o755); err != nil {
		os.RemoveAll(tsDir)
		return false, fmt.Errorf("atomic writer: %w", err)
	}
	if err := writePayload(tsDir, clean); err != nil {
		os.RemoveAll(tsDir)
		return false, err
	}
	tops := topLevel(clean)
	for top := range tops {
		link := filepath.Join(dir, top)
		if _, err := os.Lstat(link); err == nil {
			continue
		}
		if err := os.Symlink(filepath.Join(dataDirName, top), link); err != nil {
			os.RemoveAll(tsDir)
			return false, fmt.Errorf("atomic writer: %w", err)
		}
	}
	if fsGroup != nil {
		if err := setVolumeOwnership(dir, *fsGroup, true); err != nil {
			os.RemoveAll(tsDir)
			return false, fmt.Errorf("atomic writer: %w", err)
		}
	}
	tmp := filepath.Join(dir, newDataDirName)
	os.Remove(tmp)
	if err := os.Symlink(filepath.Base(tsDir), tmp); err != nil {
		os.RemoveAll(tsDir)
		return false, fmt.Errorf("atomic writer: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, dataDirName)); err != nil {
		os.Remove(tmp)
		os.RemoveAll(tsDir)
		return false, fmt.Errorf("atomic writer: %w", err)
	}
	// Stale top-level links and the old directory go last.
	ents, err := os.ReadDir(dir)
	if err != nil {
		return true, fmt.Errorf("atomic writer: %w", err)
	}
	for _, e := range ents {
		n := e.Name()
		if strings.HasPrefix(n, "..") || tops[n] || e.Type()&fs.ModeSymlink == 0 {
			continue
		}
		if err := os.Remove(filepath.Join(dir, n)); err != nil {
			errs = append(errs, err)
		}
	}
	if oldTS != "" && oldTS != filepath.Base(tsDir) {
		if err := os.RemoveAll(filepath.Join(dir, oldTS)); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return true, fmt.Errorf("atomic writer: %w", err)
	}
	return true, nil
}

func topLevel(payload map[string]FileProjection) map[string]bool {
	tops := map[string]bool{}
	for p := range payload {
		top, _, _ := strings.Cut(p, string(os.PathSeparator))
		tops[top] = true
	}
	return tops
}

// writePayload writes every file under tsDir and chmods each explicitly
// (so the umask does not matter).
func writePayload(tsDir string, payload map[string]FileProjection) error {
	paths := make([]string, 0, len(payload))
	for p := range payload {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		f := payload[p]
		full := filepath.Join(tsDir, p)
		if err := mkdirAll0755(tsDir, filepath.Dir(p)); err != nil {
			return err
		}
		if err := os.WriteFile(full, f.Data, fs.FileMode(f.Mode)&fs.ModePerm); err != nil {
			return fmt.Errorf("atomic writer: writing %s: %w", p, err)
		}
		if err := os.Chmod(full, fs.FileMode(f.Mode)&fs.ModePerm); err != nil {
			return fmt.Errorf("atomic writer: %w", err)
		}
		if f.FsUser != nil {
			if err := os.Chown(full, int(*f.FsUser), -1); err != nil {
				return fmt.Errorf("atomic writer: %w", err)
			}
		}
	}
	return nil
}

func mkdirAll0755(root, rel string) error {
	if rel == "." || rel == "" {
		return nil
	}
	cur := root
	for _, el := range strings.Split(rel, string(os.PathSeparator)) {
		cur = filepath.Join(cur, el)
		if err := os.Mkdir(cur, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("atomic writer: %w", err)
		}
		if err := os.Chmod(cur, 0o755); err != nil {
			return fmt.Errorf("atomic writer: %w", err)
		}
	}
	return nil
}

// sameContent reports whether tsDir holds exactly payload: data, mode
// (with fsGroup's group read), and owner and group where they are set.
func sameContent(tsDir string, payload map[string]FileProjection, fsGroup *int64) bool {
	seen := 0
	err := filepath.WalkDir(tsDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(tsDir, path)
		f, ok := payload[rel]
		if !ok {
			return errDiffers
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		mode := fs.FileMode(f.Mode) & fs.ModePerm
		if fsGroup != nil {
			mode = ownedMode(mode, false, true)
		}
		if info.Mode().Perm() != mode || info.Size() != int64(len(f.Data)) {
			return errDiffers
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok &&
			((fsGroup != nil && int64(st.Gid) != *fsGroup) || (f.FsUser != nil && int64(st.Uid) != *f.FsUser)) {
			return errDiffers
		}
		b, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(b, f.Data) {
			return errDiffers
		}
		seen++
		return nil
	})
	return err == nil && seen == len(payload)
}

var errDiffers = errors.New("differs")
