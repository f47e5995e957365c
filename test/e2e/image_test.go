package e2e

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/peapod/peapod/internal/image"
	"github.com/peapod/peapod/internal/runtime"
)

// imageDataDir is a fresh data dir for the image store, removed after the test.
func imageDataDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "peapod-e2e-image-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		imageUnmountUnder(dir)
		os.RemoveAll(dir)
	})
	return dir
}

// imageUnmountUnder unmounts anything a failed test left mounted under dir.
func imageUnmountUnder(dir string) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && strings.HasPrefix(f[4], dir+"/") {
			_ = exec.Command("umount", "-l", f[4]).Run()
		}
	}
}

// imageMounted reports whether path is a mount point.
func imageMounted(t *testing.T, path string) bool {
	t.Helper()
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) > 4 && f[4] == path {
			return true
		}
	}
	return false
}

func imageOpen(t *testing.T, dataDir string, opts ...image.Option) *image.Store {
	t.Helper()
	s, err := image.Open(filepath.Join(dataDir, "images"), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestImageImportListMountRemove(t *testing.T) {
	tarball := busyboxImage(t)
	dd := imageDataDir(t)

	out := run(t, peapodBin, "image", "import", "--data-dir", dd, tarball)
	if !strings.Contains(out, "docker.io/library/busybox:latest") {
		t.Fatalf("import printed %q", out)
	}
	out = run(t, peapodBin, "image", "ls", "--data-dir", dd)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "IMAGE") {
		t.Fatalf("image ls:\n%s", out)
	}
	if f := strings.Fields(lines[1]); len(f) != 4 || f[0] != "docker.io/library/busybox" || f[1] != "latest" || len(f[2]) != 13 {
		t.Fatalf("image ls row %q", lines[1])
	}

	s := imageOpen(t, dd)
	img, err := s.Get("busybox")
	if err != nil {
		t.Fatal(err)
	}
	if img.Size <= 0 || len(img.Env) != 1 || !strings.HasPrefix(img.Env[0], "PATH=") || strings.Join(img.Cmd, " ") != "sh" {
		t.Fatalf("image config: %+v", img)
	}
	for _, ref := range []string{img.ID, strings.TrimPrefix(img.ID, "sha256:")[:12], "docker.io/library/busybox:latest", "library/busybox"} {
		if got, err := s.Get(ref); err != nil || got.ID != img.ID {
			t.Errorf("Get(%q) = %v, %v", ref, got, err)
		}
	}
	if _, err := s.Get("busybox:1.0"); !errors.Is(err, runtime.ErrImageNotFound) {
		t.Errorf("Get(busybox:1.0) error = %v, want ErrImageNotFound", err)
	}

	// Importing again is a no-op that keeps one image.
	run(t, peapodBin, "image", "import", "--data-dir", dd, tarball)
	if imgs, err := s.List(); err != nil || len(imgs) != 1 {
		t.Fatalf("List after re-import = %v, %v", imgs, err)
	}

	ctx := context.Background()
	cdir := filepath.Join(dd, "containers", "c1")
	rootfs, err := s.MountRootfs(ctx, img.ID, cdir)
	if err != nil {
		t.Fatal(err)
	}
	if !imageMounted(t, rootfs) {
		t.Fatalf("%s is not a mount point", rootfs)
	}
	if fi, err := os.Lstat(filepath.Join(rootfs, "bin", "sh")); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("rootfs/bin/sh: %v %v", fi, err)
	}
	if fi, err := os.Stat(filepath.Join(rootfs, "tmp")); err != nil || fi.Mode()&os.ModeSticky == 0 || fi.Mode().Perm() != 0o777 {
		t.Fatalf("rootfs/tmp: %v %v", fi, err)
	}
	// The unpacked busybox runs: applet symlinks, passwd.
	if out, err := exec.Command("chroot", rootfs, "/bin/sh", "-c", "echo hi from $(id -un) in $PWD; ls /usr/bin/wget").CombinedOutput(); err != nil || string(out) != "hi from root in /\n/usr/bin/wget\n" {
		t.Fatalf("chroot busybox: %v %q", err, out)
	}
	if err := os.WriteFile(filepath.Join(rootfs, "tmp", "hello"), []byte("hi"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(cdir, "upper", "tmp", "hello")); err != nil {
		t.Fatalf("write did not land in the upper dir: %v", err)
	}
	dirs, err := s.LayerDirs(img.ID)
	if err != nil || len(dirs) != 1 {
		t.Fatalf("LayerDirs = %v, %v", dirs, err)
	}
	if _, err := os.Stat(filepath.Join(dirs[0], "tmp", "hello")); !os.IsNotExist(err) {
		t.Fatalf("write reached the layer: %v", err)
	}
	if _, err := s.MountRootfs(ctx, img.ID, cdir); !errors.Is(err, runtime.ErrAlreadyExists) {
		t.Fatalf("second MountRootfs error = %v, want ErrAlreadyExists", err)
	}
	if _, err := os.Stat(filepath.Join(cdir, "upper", "tmp", "hello")); err != nil {
		t.Fatalf("second MountRootfs damaged the first: %v", err)
	}

	// In use: rm refuses.
	if err := s.Remove("busybox"); !errors.Is(err, image.ErrImageInUse) {
		t.Fatalf("Remove while mounted = %v, want ErrImageInUse", err)
	}

	for range 2 { // idempotent
		if err := s.UnmountRootfs(cdir); err != nil {
			t.Fatal(err)
		}
	}
	if imageMounted(t, rootfs) {
		t.Fatal("rootfs still mounted")
	}
	if entries, err := os.ReadDir(cdir); err != nil || len(entries) != 0 {
		t.Fatalf("container dir after unmount: %v %v", entries, err)
	}

	out = run(t, peapodBin, "image", "rm", "--data-dir", dd, "busybox")
	if !strings.Contains(out, "deleted") {
		t.Fatalf("rm printed %q", out)
	}
	if imgs, err := s.List(); err != nil || len(imgs) != 0 {
		t.Fatalf("List after rm = %v, %v", imgs, err)
	}
	if entries, _ := os.ReadDir(filepath.Join(dd, "images", "layers")); len(entries) != 0 {
		t.Fatalf("layers left after rm: %v", entries)
	}
	if _, err := s.MountRootfs(ctx, img.ID, cdir); !errors.Is(err, runtime.ErrImageNotFound) {
		t.Fatalf("MountRootfs of a removed image = %v, want ErrImageNotFound", err)
	}
	if entries, _ := os.ReadDir(cdir); len(entries) != 0 {
		t.Fatalf("failed MountRootfs left %v", entries)
	}
}

func imageExecOutput(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	return string(out), err
}

// BenchmarkImageMountRootfs measures the rootfs part of a container start
// and its teardown (busybox, one layer).
func BenchmarkImageMountRootfs(b *testing.B) {
	dd, err := os.MkdirTemp("", "peapod-e2e-image-bench-")
	if err != nil {
		b.Fatal(err)
	}
	defer os.RemoveAll(dd)
	s, err := image.Open(filepath.Join(dd, "images"))
	if err != nil {
		b.Fatal(err)
	}
	tarball := filepath.Join(dd, "busybox.tar")
	if out, err := exec.Command(filepath.Join(repoRoot, "hack", "build-busybox-image.sh"), tarball).CombinedOutput(); err != nil {
		b.Fatalf("%v\n%s", err, out)
	}
	f, err := os.Open(tarball)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	imgs, err := s.Import(context.Background(), f)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ResetTimer()
	for i := range b.N {
		cdir := filepath.Join(dd, "c", strconv.Itoa(i))
		if _, err := s.MountRootfs(ctx, imgs[0].ID, cdir); err != nil {
			b.Fatal(err)
		}
		if err := s.UnmountRootfs(cdir); err != nil {
			b.Fatal(err)
		}
	}
}
