package image

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/peapod/peapod/internal/runtime"
)

// Store is an image store in one directory. Its methods are safe for
// concurrent use, and several processes may open the same directory.
type Store struct {
	dir      string
	insecure bool
	rt       http.RoundTripper

	// layerLocks serialises unpacking per diffID within this process
	// (other processes are handled by unpacking into a temporary
	// directory that is renamed into place).
	layerLocks keyedMutex

	mu    sync.Mutex // guards cache and cacheKey
	cache *index
	key   fileKey
}

// Option configures a Store.
type Option func(*Store)

// WithInsecureRegistries makes Pull use plain HTTP (for test registries).
func WithInsecureRegistries() Option { return func(s *Store) { s.insecure = true } }

// WithTransport sets the HTTP transport Pull uses.
func WithTransport(rt http.RoundTripper) Option { return func(s *Store) { s.rt = rt } }

// Open opens (creating it if needed) the store in dir, usually
// <data-dir>/images.
func Open(dir string, opts ...Option) (*Store, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if strings.ContainsAny(dir, ",:") {
		return nil, fmt.Errorf("image store %q: the path may not contain ',' or ':' (overlay mount options)", dir)
	}
	s := &Store{dir: dir}
	for _, o := range opts {
		o(s)
	}
	for _, d := range []string{s.dir, s.path("blobs", "sha256"), s.path("layers"), s.path("mounts"), s.path("pins"), s.path("tmp"), s.path("empty")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("opening image store: %w", err)
		}
	}
	// Layers must be readable through the overlay by any container user.
	for _, d := range []string{s.dir, s.path("layers"), s.path("empty")} {
		if err := os.Chmod(d, 0o711); err != nil {
			return nil, fmt.Errorf("opening image store: %w", err)
		}
	}
	if err := s.cleanTemp(); err != nil {
		return nil, err
	}
	return s, nil
}

// Dir is the store's directory.
func (s *Store) Dir() string { return s.dir }

func (s *Store) path(elem ...string) string {
	return filepath.Join(append([]string{s.dir}, elem...)...)
}

// cleanTemp removes temporary directories left by processes that died.
// Their names start with "<pid>-".
func (s *Store) cleanTemp() error {
	entries, err := os.ReadDir(s.path("tmp"))
	if err != nil {
		return fmt.Errorf("opening image store: %w", err)
	}
	for _, e := range entries {
		pid, _, _ := strings.Cut(e.Name(), "-")
		n, err := strconv.Atoi(pid)
		if err == nil && processAlive(n) {
			continue
		}
		os.RemoveAll(s.path("tmp", e.Name()))
	}
	return nil
}

func processAlive(pid int) bool {
	if pid == os.Getpid() {
		return true
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// tempDir makes a directory under tmp/ that cleanTemp knows the owner of.
func (s *Store) tempDir(kind string) (string, error) {
	return os.MkdirTemp(s.path("tmp"), fmt.Sprintf("%d-%s-", os.Getpid(), kind))
}

// lock takes the store's flock (exclusive for writers, shared for mounts)
// and returns its release.
func (s *Store) lock(how int) (func(), error) {
	f, err := os.OpenFile(s.path("lock"), os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("image store lock: %w", err)
	}
	for {
		err = unix.Flock(int(f.Fd()), how)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("image store lock: %w", err)
	}
	return func() { f.Close() }, nil
}

// fileKey identifies one version of index.json (it is replaced by rename,
// so a new version is a new inode).
type fileKey struct {
	ino, size int64
	mtime     int64
}

// readIndex returns the current index. The result is shared: callers must
// not change it (update works on a clone).
func (s *Store) readIndex() (*index, error) {
	var st unix.Stat_t
	err := unix.Stat(s.path("index.json"), &st)
	if errors.Is(err, unix.ENOENT) {
		return &index{Version: indexVersion}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading image index: %w", err)
	}
	key := fileKey{ino: int64(st.Ino), size: st.Size, mtime: st.Mtim.Nano()}
	s.mu.Lock()
	if s.cache != nil && s.key == key {
		ix := s.cache
		s.mu.Unlock()
		return ix, nil
	}
	s.mu.Unlock()
	data, err := os.ReadFile(s.path("index.json"))
	if err != nil {
		return nil, fmt.Errorf("reading image index: %w", err)
	}
	ix, err := decodeIndex(data)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.cache, s.key = &ix, key
	s.mu.Unlock()
	return &ix, nil
}

// update runs fn on a copy of the index under the exclusive lock and, if fn
// succeeds, replaces index.json atomically.
func (s *Store) update(fn func(ix *index) error) error {
	unlock, err := s.lock(unix.LOCK_EX)
	if err != nil {
		return err
	}
	defer unlock()
	cur, err := s.readIndex()
	if err != nil {
		return err
	}
	ix := cur.clone()
	if err := fn(&ix); err != nil {
		return err
	}
	data, err := encodeIndex(ix)
	if err != nil {
		return err
	}
	return writeFileAtomic(s.path("index.json"), data)
}

// writeFileAtomic writes data to a temporary file next to path, syncs it
// and renames it over path.
func writeFileAtomic(path string, data []byte) error {
	return writeFileRename(path, data, true)
}

// writeFileRename writes data to a temporary file next to path (synced if
// sync) and renames it over path.
func writeFileRename(path string, data []byte, sync bool) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil && sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o600)
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// Get returns the image ref names (a name in any form Normalize accepts, an
// ID, or a unique ID prefix), or an error wrapping runtime.ErrImageNotFound.
func (s *Store) Get(ref string) (*runtime.Image, error) {
	ix, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	i, err := ix.find(ref)
	if err != nil {
		return nil, err
	}
	return ix.Images[i].image(), nil
}

// List returns every image, ordered by ID.
func (s *Store) List() ([]*runtime.Image, error) {
	ix, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	out := make([]*runtime.Image, 0, len(ix.Images))
	for _, r := range ix.Images {
		out = append(out, r.image())
	}
	return out, nil
}

// ErrImageInUse is returned by Remove while a container's rootfs is
// mounted from the image. It wraps runtime.ErrInvalidState.
var ErrImageInUse = fmt.Errorf("image is in use by a container: %w", runtime.ErrInvalidState)

// Remove deletes the image ref names, with all its names, and the layers
// and blobs no other image uses. It fails with ErrImageInUse while a
// container rootfs is mounted from it.
func (s *Store) Remove(ref string) error {
	var garbage []string
	var trashed string
	err := s.update(func(ix *index) error {
		rec, err := ix.remove(ref)
		if err != nil {
			return err
		}
		users, err := s.mountUsers(rec.ID)
		if err != nil {
			return err
		}
		if len(users) > 0 {
			return fmt.Errorf("removing image %s: %w (%s)", ref, ErrImageInUse, strings.Join(users, ", "))
		}
		used := ix.layersInUse()
		pinned, err := s.pinnedLayers()
		if err != nil {
			return err
		}
		for l := range pinned {
			used[l] = true
		}
		for _, l := range rec.Layers {
			if !used[l] {
				garbage = append(garbage, s.layerDir(l))
			}
		}
		blobs := map[string]bool{}
		for _, r := range ix.Images {
			blobs[r.ID], blobs[r.Manifest] = true, true
		}
		for _, b := range []string{rec.ID, rec.Manifest} {
			if b != "" && !blobs[b] {
				garbage = append(garbage, s.blobPath(b))
			}
		}
		// Move the garbage aside while holding the lock, so that a
		// concurrent commit (which checks its layers under the lock) sees
		// it gone; delete it after releasing the lock.
		trash, err := s.tempDir("trash")
		if err != nil {
			return err
		}
		trashed = trash
		for i, g := range garbage {
			err := os.Rename(g, filepath.Join(trash, strconv.Itoa(i)))
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("removing image %s: %w", ref, err)
			}
		}
		return nil
	})
	if trashed != "" {
		if err != nil { // the index was not written: put everything back
			for i, g := range garbage {
				os.Rename(filepath.Join(trashed, strconv.Itoa(i)), g)
			}
		}
		if rerr := os.RemoveAll(trashed); err == nil && rerr != nil {
			err = fmt.Errorf("removing image %s: %w", ref, rerr)
		}
	}
	return err
}

func (s *Store) blobPath(digest string) string {
	return s.path("blobs", "sha256", strings.TrimPrefix(digest, "sha256:"))
}

func (s *Store) layerDir(diffID string) string {
	return s.path("layers", strings.TrimPrefix(diffID, "sha256:"))
}

// LayerDirs returns the unpacked root directories of the image's layers,
// bottom first. imageID may be any reference Get accepts.
func (s *Store) LayerDirs(imageID string) ([]string, error) {
	ix, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	i, err := ix.find(imageID)
	if err != nil {
		return nil, err
	}
	rec := ix.Images[i]
	dirs := make([]string, 0, len(rec.Layers))
	for _, l := range rec.Layers {
		d := filepath.Join(s.layerDir(l), "rootfs")
		if _, err := os.Stat(d); err != nil {
			return nil, fmt.Errorf("image %s: layer %s is missing from the store: %w", rec.ID, l, err)
		}
		dirs = append(dirs, d)
	}
	return dirs, nil
}

// keyedMutex is a set of mutexes by key, created on first use and kept
// (there is one per layer the process ever unpacked).
type keyedMutex struct {
	mu sync.Mutex
	m  map[string]*sync.Mutex
}

func (k *keyedMutex) lock(key string) func() {
	k.mu.Lock()
	if k.m == nil {
		k.m = map[string]*sync.Mutex{}
	}
	l, ok := k.m[key]
	if !ok {
		l = &sync.Mutex{}
		k.m[key] = l
	}
	k.mu.Unlock()
	l.Lock()
	return l.Unlock
}
