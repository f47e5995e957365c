package volume

import (
	"context"
	"fmt"
	"os"

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

// SetUp creates the directory.
func (*EmptyDir) SetUp(_ context.Context, req SetUpRequest) (string, error) {
	if err := os.MkdirAll(req.Dir, 0o750); err != nil {
		return "", fmt.Errorf("emptyDir: %w", err)
	}
	if err := os.Chmod(req.Dir, 0o777); err != nil {
		return "", fmt.Errorf("emptyDir: %w", err)
	}
	return req.Dir, nil
}

// TearDown removes the directory (unmounting it first if it is a tmpfs, so
// one teardown serves both media).
func (*EmptyDir) TearDown(_ context.Context, dir string) error {
	return removeDir(dir)
}
