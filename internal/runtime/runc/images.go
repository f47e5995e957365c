package runc

import (
	"context"

	"github.com/peapod/peapod/internal/runtime"
)

// PullImage pulls ref into the image store and returns its ID.
func (d *Driver) PullImage(ctx context.Context, ref string, auth *runtime.AuthConfig) (string, error) {
	img, err := d.cfg.Images.Pull(ctx, ref, auth)
	if err != nil {
		return "", err
	}
	return img.ID, nil
}

// ImageStatus returns the image or an error wrapping ErrImageNotFound.
func (d *Driver) ImageStatus(ctx context.Context, ref string) (*runtime.Image, error) {
	return d.cfg.Images.Get(ref)
}

// ListImages lists the store's images.
func (d *Driver) ListImages(ctx context.Context) ([]*runtime.Image, error) {
	return d.cfg.Images.List()
}

// RemoveImage removes an image from the store.
func (d *Driver) RemoveImage(ctx context.Context, ref string) error {
	return d.cfg.Images.Remove(ref)
}
