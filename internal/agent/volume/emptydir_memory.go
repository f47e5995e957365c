package volume

import (
	"context"
	"fmt"
	"os"

	v1 "k8s.io/api/core/v1"
)

// MemoryEmptyDir is emptyDir with medium Memory: a tmpfs mounted on the
// volume's directory, sized by sizeLimit when set.
type MemoryEmptyDir struct{}

var _ Plugin = (*MemoryEmptyDir)(nil)

// Dir is shared with disk emptyDir, as in the kubelet.
func (*MemoryEmptyDir) Dir() string { return "kubernetes.io~empty-dir" }

// Handles emptyDir volumes with medium Memory.
func (*MemoryEmptyDir) Handles(v *v1.Volume) bool {
	return v.EmptyDir != nil && v.EmptyDir.Medium == v1.StorageMediumMemory
}

// SetUp creates the directory and mounts a tmpfs there unless one is
// already mounted (after an agent restart).
func (*MemoryEmptyDir) SetUp(_ context.Context, req SetUpRequest) (string, error) {
	if err := os.MkdirAll(req.Dir, 0o750); err != nil {
		return "", fmt.Errorf("emptyDir: %w", err)
	}
	mounted, err := isMountPoint(req.Dir)
	if err != nil {
		return "", fmt.Errorf("emptyDir: %w", err)
	}
	if !mounted {
		opts := "mode=0777"
		if l := req.Volume.EmptyDir.SizeLimit; l != nil && l.Value() > 0 {
			opts += fmt.Sprintf(",size=%d", l.Value())
		}
		if err := mountTmpfs(req.Dir, opts); err != nil {
			return "", fmt.Errorf("emptyDir: %w", err)
		}
		if err := initEmptyDir(req.Dir, req.Ownership.FsGroup); err != nil {
			return "", fmt.Errorf("emptyDir: %w", err)
		}
	}
	return req.Dir, nil
}

// TearDown unmounts the tmpfs and removes the directory.
func (*MemoryEmptyDir) TearDown(_ context.Context, dir string) error {
	return removeDir(dir)
}
