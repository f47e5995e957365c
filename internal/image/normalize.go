package image

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/peapod/peapod/internal/runtime"
)

// dockerHub is how Docker spells the default registry in image names;
// go-containerregistry calls it index.docker.io.
const dockerHub = "docker.io"

// Normalize returns ref in Docker's fully qualified form: "busybox" →
// "docker.io/library/busybox:latest", "quay.io/x/y" → "quay.io/x/y:latest",
// "busybox@sha256:…" → "docker.io/library/busybox@sha256:…". An invalid
// reference wraps runtime.ErrInvalidImage.
func Normalize(ref string) (string, error) {
	r, err := parseReference(ref)
	if err != nil {
		return "", err
	}
	return referenceString(r), nil
}

func parseReference(ref string, opts ...name.Option) (name.Reference, error) {
	if ref == "" {
		return nil, fmt.Errorf("empty image name: %w", runtime.ErrInvalidImage)
	}
	if strings.TrimSpace(ref) != ref {
		return nil, fmt.Errorf("image name %q has leading or trailing spaces: %w", ref, runtime.ErrInvalidImage)
	}
	r, err := name.ParseReference(ref, opts...)
	if err != nil {
		return nil, fmt.Errorf("image name %q: %v: %w", ref, err, runtime.ErrInvalidImage)
	}
	// go-containerregistry accepts a few names Docker rejects ("-x",
	// "a//b"): check each path component against Docker's grammar.
	for _, c := range strings.Split(r.Context().RepositoryStr(), "/") {
		if !pathComponent.MatchString(c) {
			return nil, fmt.Errorf("image name %q: invalid repository path component %q: %w", ref, c, runtime.ErrInvalidImage)
		}
	}
	return r, nil
}

// pathComponent is a repository path component in Docker's reference
// grammar (distribution/reference).
var pathComponent = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*$`)

// repositoryString is the repository of r the way Docker writes it.
func repositoryString(repo name.Repository) string {
	reg := repo.RegistryStr()
	if reg == name.DefaultRegistry {
		reg = dockerHub
	}
	return reg + "/" + repo.RepositoryStr()
}

func referenceString(r name.Reference) string {
	repo := repositoryString(r.Context())
	switch r := r.(type) {
	case name.Digest:
		return repo + "@" + r.DigestStr()
	case name.Tag:
		return repo + ":" + r.TagStr()
	}
	return repo + ":" + r.Identifier()
}

// SplitName splits a normalised name into repository and tag or digest, as
// `peapod image ls` shows them: "docker.io/library/busybox:latest" →
// ("docker.io/library/busybox", "latest", ""). Names it cannot parse come
// back whole as the repository.
func SplitName(normalized string) (repo, tag, digest string) {
	if i := strings.LastIndex(normalized, "@"); i >= 0 {
		return normalized[:i], "", normalized[i+1:]
	}
	if i := strings.LastIndex(normalized, ":"); i > strings.LastIndex(normalized, "/") {
		return normalized[:i], normalized[i+1:], ""
	}
	return normalized, "", ""
}
