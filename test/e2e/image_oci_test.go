package e2e

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/peapod/peapod/internal/image"
	"github.com/peapod/peapod/internal/runtime"
)

// imageTarDir writes dir as a tarball (an OCI layout archive).
func imageTarDir(t *testing.T, dir, out string) {
	t.Helper()
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		h, err := tar.FileInfoHeader(fi, "")
		if err != nil {
			return err
		}
		h.Name, _ = filepath.Rel(dir, p)
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if d.Type().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			_, err = tw.Write(b)
			return err
		}
		return nil
	})
	if err == nil {
		err = tw.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
}

func TestImageImportOCILayout(t *testing.T) {
	work := t.TempDir()
	amd := imageFrom(t, "amd", imageBaseLayer(t), imageTopLayer(t))
	arm := imageFrom(t, "arm", imageBaseLayer(t))
	plain := imageFrom(t, "plain", imageBaseLayer(t))
	multi := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: arm, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}},
		mutate.IndexAddendum{Add: amd, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
	)
	lp, err := layout.Write(filepath.Join(work, "layout"), empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := lp.AppendImage(plain, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": "example.com/oci/plain:v1"})); err != nil {
		t.Fatal(err)
	}
	if err := lp.AppendIndex(multi, layout.WithAnnotations(map[string]string{"io.containerd.image.name": "example.com/oci/multi:v2", "org.opencontainers.image.ref.name": "v2"})); err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(work, "oci.tar")
	imageTarDir(t, filepath.Join(work, "layout"), archive)

	dd := imageDataDir(t)
	// From standard input.
	cmd := exec.Command(peapodBin, "image", "import", "--data-dir", dd, "-")
	in, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	cmd.Stdin = in
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	s := imageOpen(t, dd)
	p, err := s.Get("example.com/oci/plain:v1")
	if err != nil {
		t.Fatal(err)
	}
	plainID, _ := plain.ConfigName()
	if p.ID != plainID.String() {
		t.Errorf("plain ID %s, want %s", p.ID, plainID)
	}
	m, err := s.Get("example.com/oci/multi:v2")
	if err != nil {
		t.Fatal(err)
	}
	amdID, _ := amd.ConfigName()
	multiDigest, _ := multi.Digest()
	if m.ID != amdID.String() || strings.Join(m.Cmd, " ") != "amd" {
		t.Errorf("multi-platform import chose %s (%v), want the amd64 image %s", m.ID, m.Cmd, amdID)
	}
	if len(m.RepoDigests) != 1 || m.RepoDigests[0] != "example.com/oci/multi@"+multiDigest.String() {
		t.Errorf("RepoDigests = %v", m.RepoDigests)
	}
	if _, err := s.Get("v2"); !errors.Is(err, runtime.ErrImageNotFound) {
		t.Errorf("a bare ref.name tag became an image name: %v", err)
	}

	// Pulling an index from a registry also picks linux/amd64.
	host := imageRegistry(t, "", "")
	imagePushIndex(t, host+"/multi/app:v1", multi)
	got, err := s.Pull(context.Background(), host+"/multi/app:v1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != amdID.String() || !slices.Contains(got.RepoDigests, host+"/multi/app@"+multiDigest.String()) || !slices.Contains(got.RepoTags, host+"/multi/app:v1") {
		t.Errorf("pulled index: %+v", got)
	}
}

func imagePushIndex(t *testing.T, ref string, idx v1.ImageIndex) {
	t.Helper()
	r := imageParseRef(t, ref)
	if err := imageRemoteWriteIndex(r, idx, authn.Anonymous); err != nil {
		t.Fatal(err)
	}
}

func TestImageImportBadInput(t *testing.T) {
	dd := imageDataDir(t)
	s := imageOpen(t, dd)
	ctx := context.Background()
	for name, data := range map[string][]byte{
		"empty":     nil,
		"not a tar": []byte("hello, this is not a tarball at all"),
		"tar without manifest": func() []byte {
			var b bytes.Buffer
			tw := tar.NewWriter(&b)
			tw.WriteHeader(&tar.Header{Name: "hello", Typeflag: tar.TypeReg, Size: 2, Mode: 0o644})
			tw.Write([]byte("hi"))
			tw.Close()
			return b.Bytes()
		}(),
		"bad manifest": func() []byte {
			var b bytes.Buffer
			tw := tar.NewWriter(&b)
			tw.WriteHeader(&tar.Header{Name: "manifest.json", Typeflag: tar.TypeReg, Size: 3, Mode: 0o644})
			tw.Write([]byte("{[}"))
			tw.Close()
			return b.Bytes()
		}(),
	} {
		if _, err := s.Import(ctx, bytes.NewReader(data)); !errors.Is(err, image.ErrInvalidArchive) {
			t.Errorf("%s: %v, want ErrInvalidArchive", name, err)
		}
	}
	// A truncated archive: an error, and nothing stored.
	full, err := os.ReadFile(busyboxImage(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Import(ctx, io.LimitReader(bytes.NewReader(full), int64(len(full)/2))); err == nil {
		t.Error("truncated archive imported")
	}
	if imgs, _ := s.List(); len(imgs) != 0 {
		t.Errorf("images after failed imports: %v", imgs)
	}
	for _, d := range []string{"layers", "tmp"} {
		if entries, _ := os.ReadDir(filepath.Join(dd, "images", d)); len(entries) != 0 {
			t.Errorf("%s after failed imports: %v", d, entries)
		}
	}
	out, err := imageExecOutput(peapodBin, "image", "import", "--data-dir", dd, filepath.Join(dd, "missing.tar"))
	if err == nil || !strings.Contains(out, "missing.tar") {
		t.Errorf("import of a missing file: %v %s", err, out)
	}
}
