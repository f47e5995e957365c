package image

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/peapod/peapod/internal/runtime"
)

// ErrInvalidArchive is wrapped when Import is given something that is not
// a docker-archive or OCI layout tarball.
var ErrInvalidArchive = errors.New("not a docker-archive or OCI image layout tarball")

// OCI annotations that name an image in an index.
const (
	annotationRefName       = "org.opencontainers.image.ref.name"
	annotationContainerdRef = "io.containerd.image.name"
)

// Import stores every image of a docker-archive (`docker save`) or OCI
// image layout tarball read from r, with all their tags.
func (s *Store) Import(ctx context.Context, r io.Reader) ([]*runtime.Image, error) {
	tmp, err := s.tempDir("import")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	opener, err := spool(ctx, r, tmp)
	if err != nil {
		return nil, err
	}
	kind, err := archiveKind(opener)
	if err != nil {
		return nil, err
	}
	if kind == "docker" {
		return s.importDocker(ctx, opener)
	}
	dir := filepath.Join(tmp, "layout")
	if err := extractLayout(opener, dir); err != nil {
		return nil, err
	}
	return s.importLayout(ctx, dir)
}

// spool returns an opener of r's content: r itself when it is a regular
// file (read at offsets, so concurrent readers are fine), else a copy in
// dir.
func spool(ctx context.Context, r io.Reader, dir string) (tarball.Opener, error) {
	if f, ok := r.(*os.File); ok {
		st, err := f.Stat()
		off, serr := f.Seek(0, io.SeekCurrent)
		if err == nil && serr == nil && st.Mode().IsRegular() {
			size := st.Size() - off
			return func() (io.ReadCloser, error) {
				return io.NopCloser(io.NewSectionReader(f, off, size)), nil
			}, nil
		}
	}
	path := filepath.Join(dir, "archive.tar")
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	_, err = io.Copy(f, ctxReader{ctx, r})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("reading archive: %w", err)
	}
	return func() (io.ReadCloser, error) { return os.Open(path) }, nil
}

// archiveKind tells a docker-archive ("docker", with manifest.json) from an
// OCI layout ("oci", with oci-layout and index.json). Docker 25 writes
// both; the docker manifest carries the tags, so it wins.
func archiveKind(open tarball.Opener) (string, error) {
	f, err := open()
	if err != nil {
		return "", err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	var hasLayout, hasIndex bool
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", fmt.Errorf("%w: %v", ErrInvalidArchive, err)
		}
		switch strings.TrimPrefix(hdr.Name, "./") {
		case "manifest.json":
			return "docker", nil
		case "oci-layout":
			hasLayout = true
		case "index.json":
			hasIndex = true
		}
	}
	if hasLayout && hasIndex {
		return "oci", nil
	}
	return "", fmt.Errorf("%w: no manifest.json, nor oci-layout and index.json", ErrInvalidArchive)
}

func (s *Store) importDocker(ctx context.Context, opener tarball.Opener) ([]*runtime.Image, error) {
	m, err := tarball.LoadManifest(opener)
	if err != nil {
		return nil, fmt.Errorf("%w: manifest.json: %v", ErrInvalidArchive, err)
	}
	if len(m) == 0 {
		return nil, fmt.Errorf("%w: manifest.json lists no image", ErrInvalidArchive)
	}
	var out []*runtime.Image
	for _, d := range m {
		var tag *name.Tag
		if len(m) > 1 {
			if len(d.RepoTags) == 0 {
				return out, fmt.Errorf("%w: an archive of several images must tag each one", ErrInvalidArchive)
			}
			t, err := name.NewTag(d.RepoTags[0])
			if err != nil {
				return out, fmt.Errorf("%w: tag %q: %v", ErrInvalidArchive, d.RepoTags[0], err)
			}
			tag = &t
		}
		img, err := tarball.Image(opener, tag)
		if err != nil {
			return out, fmt.Errorf("%w: %v", ErrInvalidArchive, err)
		}
		tags, err := normalizeAll(d.RepoTags)
		if err != nil {
			return out, err
		}
		im, err := s.addImage(ctx, img, tags, nil, "")
		if err != nil {
			return out, err
		}
		out = append(out, im)
	}
	return out, nil
}

// extractLayout unpacks an OCI layout tarball (regular files and
// directories only) into dir.
func extractLayout(open tarball.Opener, dir string) error {
	f, err := open()
	if err != nil {
		return err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w: %v", ErrInvalidArchive, err)
		}
		rel, err := cleanEntryName(hdr.Name)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrInvalidArchive, err)
		}
		p := filepath.Join(dir, rel)
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o700); err != nil {
				return err
			}
		case tar.TypeReg, tar.TypeRegA:
			if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
				return err
			}
			out, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				return fmt.Errorf("%w: %v", ErrInvalidArchive, err)
			}
			_, err = io.Copy(out, tr)
			if cerr := out.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		default:
			return fmt.Errorf("%w: OCI layout entry %q has unsupported type %q", ErrInvalidArchive, hdr.Name, hdr.Typeflag)
		}
	}
}

func (s *Store) importLayout(ctx context.Context, dir string) ([]*runtime.Image, error) {
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidArchive, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("%w: index.json: %v", ErrInvalidArchive, err)
	}
	if len(im.Manifests) == 0 {
		return nil, fmt.Errorf("%w: index.json lists no image", ErrInvalidArchive)
	}
	var out []*runtime.Image
	for _, desc := range im.Manifests {
		repo, tag := layoutName(desc.Annotations)
		img, err := layoutImage(idx, desc)
		if err != nil {
			return out, err
		}
		var tags, digests []string
		if repo != "" {
			if tag != "" {
				tags = []string{repo + ":" + tag}
			}
			digests = []string{repo + "@" + desc.Digest.String()}
		}
		manifestDigest, err := img.Digest()
		if err != nil {
			return out, fmt.Errorf("%w: %v", ErrInvalidArchive, err)
		}
		got, err := s.addImage(ctx, img, tags, digests, manifestDigest.String())
		if err != nil {
			return out, err
		}
		out = append(out, got)
	}
	return out, nil
}

// layoutImage returns the image desc points to; for a nested index, its
// linux/amd64 image.
func layoutImage(idx v1.ImageIndex, desc v1.Descriptor) (v1.Image, error) {
	switch {
	case desc.MediaType.IsImage():
		img, err := idx.Image(desc.Digest)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalidArchive, err)
		}
		return img, nil
	case desc.MediaType.IsIndex():
		child, err := idx.ImageIndex(desc.Digest)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalidArchive, err)
		}
		cm, err := child.IndexManifest()
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalidArchive, err)
		}
		for _, d := range cm.Manifests {
			if d.MediaType.IsImage() && d.Platform != nil && d.Platform.Satisfies(platform) {
				return layoutImage(child, d)
			}
		}
		return nil, fmt.Errorf("%w: no %s image in index %s", ErrInvalidArchive, platform, desc.Digest)
	}
	return nil, fmt.Errorf("%w: index entry %s has media type %q", ErrInvalidArchive, desc.Digest, desc.MediaType)
}

// platform is the only one peapod runs.
var platform = v1.Platform{OS: "linux", Architecture: "amd64"}

// layoutName returns the normalised repository and tag an OCI index entry
// is annotated with (containerd's full name first; the OCI ref name only
// when it is a full name, not a bare tag).
func layoutName(ann map[string]string) (repo, tag string) {
	for _, key := range []string{annotationContainerdRef, annotationRefName} {
		v := ann[key]
		if v == "" || !strings.ContainsAny(v, "/:@") {
			continue
		}
		n, err := Normalize(v)
		if err != nil {
			continue
		}
		repo, tag, _ = SplitName(n)
		return repo, tag
	}
	return "", ""
}
