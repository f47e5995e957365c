package image

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/peapod/peapod/internal/runtime"
)

// ErrUnauthorized is wrapped when the registry refuses the credentials (or
// their absence). Registries such as Docker Hub also answer this way for a
// repository that does not exist.
var ErrUnauthorized = errors.New("pull access denied: the repository does not exist or requires authorization")

// Pull fetches ref (normalised as Docker does; from an index, the
// linux/amd64 image) from its registry with auth (nil: anonymous) and
// stores it. An image the registry does not have wraps
// runtime.ErrImageNotFound; refused credentials wrap ErrUnauthorized.
func (s *Store) Pull(ctx context.Context, ref string, auth *runtime.AuthConfig) (*runtime.Image, error) {
	var opts []name.Option
	if s.insecure {
		opts = append(opts, name.Insecure)
	}
	r, err := parseReference(ref, opts...)
	if err != nil {
		return nil, err
	}
	normalized := referenceString(r)
	ropts := []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuth(authenticator(auth)),
		remote.WithPlatform(platform),
		remote.WithUserAgent("peapod"),
	}
	if s.rt != nil {
		ropts = append(ropts, remote.WithTransport(s.rt))
	}
	desc, err := remote.Get(r, ropts...)
	if err != nil {
		return nil, pullError(normalized, err)
	}
	img, err := desc.Image()
	if err != nil {
		return nil, pullError(normalized, err)
	}
	var tags []string
	if _, ok := r.(name.Tag); ok {
		tags = []string{normalized}
	}
	digests := []string{repositoryString(r.Context()) + "@" + desc.Digest.String()}
	manifest, err := img.Digest()
	if err != nil {
		return nil, pullError(normalized, err)
	}
	got, err := s.addImage(ctx, img, tags, digests, manifest.String())
	if err != nil {
		return nil, pullError(normalized, err)
	}
	return got, nil
}

func authenticator(a *runtime.AuthConfig) authn.Authenticator {
	if a == nil || *a == (runtime.AuthConfig{}) {
		return authn.Anonymous
	}
	return authn.FromConfig(authn.AuthConfig{
		Username:      a.Username,
		Password:      a.Password,
		Auth:          a.Auth,
		IdentityToken: a.IdentityToken,
		RegistryToken: a.RegistryToken,
	})
}

// pullError wraps a registry error with the image name and the sentinel
// that classifies it.
func pullError(ref string, err error) error {
	var terr *transport.Error
	if errors.As(err, &terr) {
		for _, d := range terr.Errors {
			switch d.Code {
			case transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode:
				return fmt.Errorf("pulling %s: %w: %v", ref, runtime.ErrImageNotFound, err)
			case transport.UnauthorizedErrorCode, transport.DeniedErrorCode:
				return fmt.Errorf("pulling %s: %w: %v", ref, ErrUnauthorized, err)
			}
		}
		switch terr.StatusCode {
		case http.StatusNotFound:
			return fmt.Errorf("pulling %s: %w: %v", ref, runtime.ErrImageNotFound, err)
		case http.StatusUnauthorized, http.StatusForbidden:
			return fmt.Errorf("pulling %s: %w: %v", ref, ErrUnauthorized, err)
		}
	}
	return fmt.Errorf("pulling %s: %w", ref, err)
}
