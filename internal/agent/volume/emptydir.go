package volume

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	v1 "k8s.io/api/core/v1"
)

// EmptyDir is emptyDir on the node's disk: a directory under the pod's
// volumes directory, world-writable as the kubelet makes it (0777).
type EmptyDir struct{}

var _ Plugin = (*EmptyDir)(nil)

// Dir is the kubelet's plugin directory name.
func (*EmptyDir) Dir() string { return "kubernetes.io~empty-dir" }

// Handles emptyDir volumes with the default medium.
func (*EmptyDir) Handles(v *v1.Volume) bool {
	return v.EmptyDir != nil && v.EmptyDir.Medium == v1.StorageMediumDefault
}

// SetUp creates the directory, 0777 and, with an fsGroup, in that group
// and setgid. A directory that exists is the volume: it is left as the
// containers made it (a chmod of its root survives agent restarts).
func (*EmptyDir) SetUp(_ context.Context, req SetUpRequest) (string, error) {
	if err := os.MkdirAll(filepath.Dir(req.Dir), 0o750); err != nil {
		return "", fmt.Errorf("emptyDir: %w", err)
	}
	if err := os.Mkdir(req.Dir, 0o750); errors.Is(err, fs.ErrExist) {
		return req.Dir, nil
	} else if err != nil {
		return "", fmt.Errorf("emptyDir: %w", err)
	}
	if err := initEmptyDir(req.Dir, req.Ownership.FsGroup); err != nil {
		os.Remove(req.Dir) // so that the next sync tries again
		return "", fmt.Errorf("emptyDir: %w", err)
	}
	return req.Dir, nil
}

// initEmptyDir gives a new emptyDir its modes: 0777, then fsGroup's group
// with group rwx and setgid (the kubelet's SetVolumeOwnership on an empty
// volume).
func initEmptyDir(dir string, fsGroup *int64) error {
	if err := os.Chmod(dir, 0o777); err != nil {
		return err
	}
	if fsGroup == nil {
		return nil
	}
	return setVolumeOwnership(dir, *fsGroup, false)
}

// TearDown removes the directory (unmounting it first if it is a tmpfs, so
// one teardown serves both media).
func (*EmptyDir) TearDown(_ context.Context, dir string) error {
	return removeDir(dir)
}
