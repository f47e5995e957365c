package e2e

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"golang.org/x/sys/unix"

	"github.com/peapod/peapod/internal/image"
	"github.com/peapod/peapod/internal/runtime"
)

// imageEntry is one tar entry of a test layer.
type imageEntry struct {
	name     string
	typ      byte
	body     string // content, or the link target
	mode     int64
	uid, gid int
	major    int64
	minor    int64
	xattrs   map[string]string
}

var imageMtime = time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)

func imageLayer(t *testing.T, entries ...imageEntry) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: e.mode, Uid: e.uid, Gid: e.gid, ModTime: imageMtime,
			Devmajor: e.major, Devminor: e.minor, Format: tar.FormatPAX}
		for k, v := range e.xattrs {
			if h.PAXRecords == nil {
				h.PAXRecords = map[string]string{}
			}
			h.PAXRecords["SCHILY.xattr."+k] = v
		}
		if h.Mode == 0 {
			h.Mode = 0o644
			if e.typ == tar.TypeDir {
				h.Mode = 0o755
			}
		}
		switch e.typ {
		case tar.TypeReg:
			h.Size = int64(len(e.body))
		case tar.TypeSymlink, tar.TypeLink:
			h.Linkname = e.body
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if e.typ == tar.TypeReg {
			tw.Write([]byte(e.body))
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func imageFrom(t *testing.T, cmd string, layers ...v1.Layer) v1.Image {
	t.Helper()
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Config = v1.Config{Cmd: []string{cmd}, Env: []string{"PATH=/bin"}, WorkingDir: "/w", User: "1000", StopSignal: "SIGINT"}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// imageRegistry serves an in-process registry on 127.0.0.1, with HTTP
// basic auth when user is set, and returns its host:port.
func imageRegistry(t *testing.T, user, pass string) string {
	t.Helper()
	h := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	if user != "" {
		inner := h
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if u, p, ok := r.BasicAuth(); !ok || u != user || p != pass {
				w.Header().Set("WWW-Authenticate", `Basic realm="peapod-test"`)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusUnauthorized)
				fmt.Fprint(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
				return
			}
			inner.ServeHTTP(w, r)
		})
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func imagePush(t *testing.T, ref string, img v1.Image, auth authn.Authenticator) {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img, remote.WithAuth(auth)); err != nil {
		t.Fatal(err)
	}
}

// The test image: a base layer with every kind of entry, and a top layer
// that whites out a file and makes a directory opaque.
func imageBaseLayer(t *testing.T) v1.Layer {
	return imageLayer(t,
		imageEntry{name: "a/", typ: tar.TypeDir},
		imageEntry{name: "a/keep", typ: tar.TypeReg, body: "keep"},
		imageEntry{name: "a/gone", typ: tar.TypeReg, body: "gone"},
		imageEntry{name: "a/keep-hl", typ: tar.TypeLink, body: "a/keep"},
		imageEntry{name: "o/", typ: tar.TypeDir, mode: 0o750},
		imageEntry{name: "o/old", typ: tar.TypeReg, body: "old"},
		imageEntry{name: "bin/", typ: tar.TypeDir},
		imageEntry{name: "bin/suid", typ: tar.TypeReg, body: "#!", mode: 0o4755},
		imageEntry{name: "data/owned", typ: tar.TypeReg, body: "x", mode: 0o640, uid: 1000, gid: 2000, xattrs: map[string]string{"user.peapod": "v1"}},
		imageEntry{name: "link", typ: tar.TypeSymlink, body: "/a/keep", uid: 1000, gid: 2000},
		imageEntry{name: "dev/null0", typ: tar.TypeChar, mode: 0o666, major: 1, minor: 3},
		imageEntry{name: "fifo", typ: tar.TypeFifo, mode: 0o600},
		imageEntry{name: "tmp/", typ: tar.TypeDir, mode: 0o1777},
	)
}

func imageTopLayer(t *testing.T) v1.Layer {
	return imageLayer(t,
		imageEntry{name: "a/", typ: tar.TypeDir},
		imageEntry{name: "a/.wh.gone", typ: tar.TypeReg},
		imageEntry{name: "o/", typ: tar.TypeDir, mode: 0o750},
		imageEntry{name: "o/.wh..wh..opq", typ: tar.TypeReg},
		imageEntry{name: "o/new", typ: tar.TypeReg, body: "new"},
		imageEntry{name: "top", typ: tar.TypeReg, body: "top"},
	)
}

func TestImagePullMultiLayer(t *testing.T) {
	host := imageRegistry(t, "", "")
	base := imageBaseLayer(t)
	img := imageFrom(t, "app", base, imageTopLayer(t))
	ref := host + "/test/multi:v1"
	imagePush(t, ref, img, authn.Anonymous)

	dd := imageDataDir(t)
	s := imageOpen(t, dd)
	ctx := context.Background()
	got, err := s.Pull(ctx, ref, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantID, _ := img.ConfigName()
	if got.ID != wantID.String() || strings.Join(got.RepoTags, ",") != ref {
		t.Fatalf("pulled %+v, want ID %s", got, wantID)
	}
	manifest, _ := img.Digest()
	if len(got.RepoDigests) != 1 || got.RepoDigests[0] != host+"/test/multi@"+manifest.String() {
		t.Fatalf("RepoDigests = %v", got.RepoDigests)
	}
	if strings.Join(got.Cmd, " ") != "app" || got.WorkingDir != "/w" || got.User != "1000" || got.StopSignal != "SIGINT" {
		t.Fatalf("config fields: %+v", got)
	}

	dirs, err := s.LayerDirs(got.ID)
	if err != nil || len(dirs) != 2 {
		t.Fatalf("LayerDirs = %v, %v", dirs, err)
	}
	imageCheckBaseLayer(t, dirs[0])
	imageCheckTopLayer(t, dirs[1])

	cdir := filepath.Join(dd, "c")
	rootfs, err := s.MountRootfs(ctx, got.ID, cdir)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := s.UnmountRootfs(cdir); err != nil {
			t.Error(err)
		}
	}()
	for p, want := range map[string]string{"a/keep": "keep", "a/keep-hl": "keep", "o/new": "new", "top": "top"} {
		if b, err := os.ReadFile(filepath.Join(rootfs, p)); err != nil || string(b) != want {
			t.Errorf("merged %s = %q, %v; want %q", p, b, err, want)
		}
	}
	if target, err := os.Readlink(filepath.Join(rootfs, "link")); err != nil || target != "/a/keep" {
		t.Errorf("merged link -> %q, %v", target, err)
	}
	for _, p := range []string{"a/gone", "o/old"} {
		if _, err := os.Lstat(filepath.Join(rootfs, p)); !os.IsNotExist(err) {
			t.Errorf("merged %s: %v, want it hidden", p, err)
		}
	}
	if entries, _ := os.ReadDir(filepath.Join(rootfs, "o")); len(entries) != 1 {
		t.Errorf("opaque dir o holds %v", entries)
	}
}

func imageCheckBaseLayer(t *testing.T, dir string) {
	t.Helper()
	var st unix.Stat_t
	lstat := func(p string) *unix.Stat_t {
		if err := unix.Lstat(filepath.Join(dir, p), &st); err != nil {
			t.Fatalf("layer %s: %v", p, err)
		}
		return &st
	}
	if s := lstat("bin/suid"); s.Mode&0o7777 != 0o4755 {
		t.Errorf("bin/suid mode %o", s.Mode&0o7777)
	}
	if s := lstat("data/owned"); s.Uid != 1000 || s.Gid != 2000 || s.Mode&0o7777 != 0o640 || s.Mtim.Sec != imageMtime.Unix() {
		t.Errorf("data/owned: uid %d gid %d mode %o mtime %d", s.Uid, s.Gid, s.Mode&0o7777, s.Mtim.Sec)
	}
	xb := make([]byte, 16)
	if n, err := unix.Lgetxattr(filepath.Join(dir, "data/owned"), "user.peapod", xb); err != nil || string(xb[:n]) != "v1" {
		t.Errorf("xattr user.peapod on data/owned: %q, %v", xb[:max(n, 0)], err)
	}
	if s := lstat("data"); s.Mode&0o777 != 0o755 {
		t.Errorf("implicit dir data: mode %o", s.Mode&0o777)
	}
	if s := lstat("o"); s.Mode&0o7777 != 0o750 || s.Mtim.Sec != imageMtime.Unix() {
		t.Errorf("dir o: mode %o mtime %d", s.Mode&0o7777, s.Mtim.Sec)
	}
	if s := lstat("tmp"); s.Mode&0o7777 != 0o1777 {
		t.Errorf("tmp mode %o", s.Mode&0o7777)
	}
	if s := lstat("link"); s.Mode&unix.S_IFMT != unix.S_IFLNK || s.Uid != 1000 || s.Mtim.Sec != imageMtime.Unix() {
		t.Errorf("link: mode %o uid %d mtime %d", s.Mode, s.Uid, s.Mtim.Sec)
	}
	if target, _ := os.Readlink(filepath.Join(dir, "link")); target != "/a/keep" {
		t.Errorf("link -> %q", target)
	}
	if s := lstat("dev/null0"); s.Mode&unix.S_IFMT != unix.S_IFCHR || unix.Major(s.Rdev) != 1 || unix.Minor(s.Rdev) != 3 || s.Mode&0o777 != 0o666 {
		t.Errorf("dev/null0: mode %o rdev %d:%d", s.Mode, unix.Major(s.Rdev), unix.Minor(s.Rdev))
	}
	if s := lstat("fifo"); s.Mode&unix.S_IFMT != unix.S_IFIFO {
		t.Errorf("fifo: mode %o", s.Mode)
	}
	keep := *lstat("a/keep")
	if s := lstat("a/keep-hl"); s.Ino != keep.Ino || s.Nlink != 2 {
		t.Errorf("hard link: ino %d vs %d, nlink %d", s.Ino, keep.Ino, s.Nlink)
	}
}

func imageCheckTopLayer(t *testing.T, dir string) {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(dir, "a/gone"), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
		t.Errorf("whiteout a/gone: %v mode %o rdev %d", err, st.Mode, st.Rdev)
	}
	buf := make([]byte, 8)
	n, err := unix.Lgetxattr(filepath.Join(dir, "o"), "trusted.overlay.opaque", buf)
	if err != nil || string(buf[:n]) != "y" {
		t.Errorf("opaque xattr on o: %q, %v", buf[:n], err)
	}
	for _, p := range []string{".wh..wh..opq", "o/.wh..wh..opq", "a/.wh.gone"} {
		if _, err := os.Lstat(filepath.Join(dir, p)); !os.IsNotExist(err) {
			t.Errorf("marker %s was written as a file", p)
		}
	}
}

func TestImagePullAuthAndErrors(t *testing.T) {
	host := imageRegistry(t, "alice", "s3cret")
	img := imageFrom(t, "x", imageBaseLayer(t))
	ref := host + "/private/app:1.0"
	imagePush(t, ref, img, &authn.Basic{Username: "alice", Password: "s3cret"})

	dd := imageDataDir(t)
	s := imageOpen(t, dd)
	ctx := context.Background()
	if _, err := s.Pull(ctx, ref, nil); !errors.Is(err, image.ErrUnauthorized) {
		t.Fatalf("anonymous pull: %v, want ErrUnauthorized", err)
	}
	if _, err := s.Pull(ctx, ref, &runtime.AuthConfig{Username: "alice", Password: "wrong"}); !errors.Is(err, image.ErrUnauthorized) {
		t.Fatalf("bad password: %v, want ErrUnauthorized", err)
	}
	if _, err := s.Pull(ctx, ref, &runtime.AuthConfig{Username: "alice", Password: "s3cret"}); err != nil {
		t.Fatal(err)
	}
	// The CLI: --username/--password, --insecure.
	out := run(t, peapodBin, "image", "pull", "--data-dir", dd, "--insecure", "--username", "alice", "--password", "s3cret", ref)
	if !strings.Contains(out, ref) {
		t.Fatalf("pull printed %q", out)
	}
	out = run(t, peapodBin, "image", "ls", "--data-dir", dd)
	if !strings.Contains(out, host+"/private/app") || !strings.Contains(out, "1.0") {
		t.Fatalf("ls:\n%s", out)
	}

	open := imageRegistry(t, "", "")
	for _, missing := range []string{open + "/nope/nothing:v1", host + "/private/app:2.0"} {
		auth := &runtime.AuthConfig{Username: "alice", Password: "s3cret"}
		if _, err := s.Pull(ctx, missing, auth); !errors.Is(err, runtime.ErrImageNotFound) {
			t.Errorf("pull %s: %v, want ErrImageNotFound", missing, err)
		}
	}
	if _, err := s.Pull(ctx, "Not Valid", nil); !errors.Is(err, runtime.ErrInvalidImage) {
		t.Errorf("invalid name: %v", err)
	}
	cmdOut, err := imageRunErr(peapodBin, "image", "pull", "--data-dir", dd, open+"/nope/nothing:v1")
	if err == nil || !strings.Contains(cmdOut, "image not found") {
		t.Errorf("CLI pull of a missing image: %v\n%s", err, cmdOut)
	}
}

func imageRunErr(name string, args ...string) (string, error) {
	out, err := imageExecOutput(name, args...)
	return out, err
}

func TestImageLayerDedupeAndRemove(t *testing.T) {
	host := imageRegistry(t, "", "")
	base := imageBaseLayer(t)
	one := imageFrom(t, "one", base, imageTopLayer(t))
	two := imageFrom(t, "two", base, imageLayer(t, imageEntry{name: "two", typ: tar.TypeReg, body: "2"}))
	imagePush(t, host+"/dedupe/one:latest", one, authn.Anonymous)
	imagePush(t, host+"/dedupe/two:latest", two, authn.Anonymous)

	dd := imageDataDir(t)
	ctx := context.Background()
	// Concurrent pulls of one image from two stores on one directory (as
	// the agent and the CLI would be) and several goroutines each.
	stores := []*image.Store{imageOpen(t, dd), imageOpen(t, dd)}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := stores[i%2].Pull(ctx, host+"/dedupe/one", nil)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	layers := filepath.Join(dd, "images", "layers")
	baseDiff, _ := base.DiffID()
	baseDir := filepath.Join(layers, baseDiff.Hex)
	var before unix.Stat_t
	if err := unix.Stat(baseDir, &before); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(layers); len(entries) != 2 {
		t.Fatalf("after pulling one: %d layers", len(entries))
	}
	s := stores[0]
	if _, err := s.Pull(ctx, host+"/dedupe/two", nil); err != nil {
		t.Fatal(err)
	}
	var after unix.Stat_t
	if err := unix.Stat(baseDir, &after); err != nil || after.Ino != before.Ino || after.Mtim != before.Mtim {
		t.Fatalf("shared layer was unpacked again (%v)", err)
	}
	if entries, _ := os.ReadDir(layers); len(entries) != 3 {
		t.Fatalf("after pulling two: %d layers, want 3", len(entries))
	}
	if entries, _ := os.ReadDir(filepath.Join(dd, "images", "tmp")); len(entries) != 0 {
		t.Fatalf("tmp not empty: %v", entries)
	}

	if err := s.Remove(host + "/dedupe/one"); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(layers); len(entries) != 2 {
		t.Fatalf("after rm one: %d layers, want 2", len(entries))
	}
	if _, err := os.Stat(baseDir); err != nil {
		t.Fatalf("shared layer removed: %v", err)
	}
	out := run(t, peapodBin, "image", "rm", "--data-dir", dd, host+"/dedupe/two")
	if !strings.Contains(out, "deleted") {
		t.Fatalf("rm: %s", out)
	}
	for _, d := range []string{"layers", "blobs/sha256", "mounts", "pins", "tmp"} {
		if entries, _ := os.ReadDir(filepath.Join(dd, "images", d)); len(entries) != 0 {
			t.Errorf("%s not empty after removing every image: %v", d, entries)
		}
	}
	if err := s.Remove(host + "/dedupe/two"); !errors.Is(err, runtime.ErrImageNotFound) {
		t.Errorf("second remove: %v", err)
	}
}

// A layer must not write outside its directory, whatever it holds.
func TestImageLayerPathSafety(t *testing.T) {
	victim, err := os.MkdirTemp("", "peapod-e2e-victim-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(victim)
	host := imageRegistry(t, "", "")
	ctx := context.Background()
	dd := imageDataDir(t)
	s := imageOpen(t, dd)
	for name, layer := range map[string]v1.Layer{
		"dotdot": imageLayer(t, imageEntry{name: "../../../../../../" + victim + "/dotdot", typ: tar.TypeReg, body: "x"}),
		"abs-symlink": imageLayer(t,
			imageEntry{name: "esc", typ: tar.TypeSymlink, body: victim},
			imageEntry{name: "esc/abs", typ: tar.TypeReg, body: "x"}),
		"rel-symlink": imageLayer(t,
			imageEntry{name: "d/", typ: tar.TypeDir},
			imageEntry{name: "d/esc", typ: tar.TypeSymlink, body: "../../../../../../../../.." + victim},
			imageEntry{name: "d/esc/rel", typ: tar.TypeReg, body: "x"}),
		"hardlink": imageLayer(t,
			imageEntry{name: "hl", typ: tar.TypeLink, body: "../../../../../../../etc/passwd"}),
		"symlink-then-hardlink": imageLayer(t,
			imageEntry{name: "esc", typ: tar.TypeSymlink, body: "/etc"},
			imageEntry{name: "hl", typ: tar.TypeLink, body: "esc/passwd"}),
		"whiteout": imageLayer(t,
			imageEntry{name: "esc", typ: tar.TypeSymlink, body: victim},
			imageEntry{name: "esc/.wh.wh", typ: tar.TypeReg}),
	} {
		ref := host + "/unsafe/" + name + ":v1"
		imagePush(t, ref, imageFrom(t, "x", layer), authn.Anonymous)
		_, err := s.Pull(ctx, ref, nil)
		t.Logf("%s: pull error: %v", name, err)
		if entries, _ := os.ReadDir(victim); len(entries) != 0 {
			t.Fatalf("%s: layer wrote outside the store: %v", name, entries)
		}
	}
	if entries, _ := os.ReadDir(filepath.Join(dd, "images", "tmp")); len(entries) != 0 {
		t.Fatalf("failed pulls left %v", entries)
	}
}

func imageParseRef(t *testing.T, ref string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func imageRemoteWriteIndex(r name.Reference, idx v1.ImageIndex, auth authn.Authenticator) error {
	return remote.WriteIndex(r, idx, remote.WithAuth(auth))
}

// An image with more layers than mount(2)'s one page of options holds.
func TestImageManyLayers(t *testing.T) {
	const n = 60
	var layers []v1.Layer
	for i := range n {
		layers = append(layers, imageLayer(t, imageEntry{name: fmt.Sprintf("l/%02d", i), typ: tar.TypeReg, body: fmt.Sprint(i)}))
	}
	host := imageRegistry(t, "", "")
	imagePush(t, host+"/many/layers:v1", imageFrom(t, "x", layers...), authn.Anonymous)
	dd := imageDataDir(t)
	s := imageOpen(t, dd)
	ctx := context.Background()
	img, err := s.Pull(ctx, host+"/many/layers:v1", nil)
	if err != nil {
		t.Fatal(err)
	}
	cdir := filepath.Join(dd, "c")
	rootfs, err := s.MountRootfs(ctx, img.ID, cdir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.UnmountRootfs(cdir)
	entries, err := os.ReadDir(filepath.Join(rootfs, "l"))
	if err != nil || len(entries) != n {
		t.Fatalf("merged view holds %d of %d layer files: %v", len(entries), n, err)
	}
	if err := s.UnmountRootfs(cdir); err != nil || imageMounted(t, rootfs) {
		t.Fatalf("unmount: %v", err)
	}
}

// Pulls and removals of images sharing a layer, racing: every image the
// index lists keeps all its layers.
func TestImagePullRemoveRace(t *testing.T) {
	host := imageRegistry(t, "", "")
	base := imageBaseLayer(t)
	refs := []string{host + "/race/one:v1", host + "/race/two:v1"}
	imagePush(t, refs[0], imageFrom(t, "one", base, imageTopLayer(t)), authn.Anonymous)
	imagePush(t, refs[1], imageFrom(t, "two", base), authn.Anonymous)
	dd := imageDataDir(t)
	stores := []*image.Store{imageOpen(t, dd), imageOpen(t, dd)}
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, ref := stores[w%2], refs[w/2]
			for range 10 {
				if _, err := s.Pull(ctx, ref, nil); err != nil {
					errs <- err
					return
				}
				if err := s.Remove(ref); err != nil && !errors.Is(err, runtime.ErrImageNotFound) {
					errs <- err
					return
				}
			}
			if _, err := s.Pull(ctx, ref, nil); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	imgs, err := stores[0].List()
	if err != nil || len(imgs) != 2 {
		t.Fatalf("List = %d images, %v", len(imgs), err)
	}
	for _, im := range imgs {
		if _, err := stores[0].LayerDirs(im.ID); err != nil {
			t.Error(err)
		}
	}
	if entries, _ := os.ReadDir(filepath.Join(dd, "images", "layers")); len(entries) != 2 {
		t.Errorf("%d layers, want 2 (base and top)", len(entries))
	}
}
