package volume

import (
	"os"
	"path/filepath"
)

// writeVolume makes req.Dir (on a fresh tmpfs when memory is set) and
// writes payload with the atomic writer. A directory that already has
// ..data was mounted by an earlier SetUp, so re-syncs skip the mount check.
func writeVolume(req SetUpRequest, memory bool, payload map[string]FileProjection) (string, error) {
	if _, err := os.Lstat(filepath.Join(req.Dir, dataDirName)); err != nil {
		if err := os.MkdirAll(req.Dir, 0o750); err != nil {
			return "", err
		}
		if !memory {
			// The kubelet's on-disk wrapper is an emptyDir, whose root is
			// 0777: a container running as non-root must reach the files
			// (a tmpfs root is 0755 below).
			if err := os.Chmod(req.Dir, 0o777); err != nil {
				return "", err
			}
		}
		if memory {
			mounted, err := isMountPoint(req.Dir)
			if err != nil {
				return "", err
			}
			if !mounted {
				if err := mountTmpfs(req.Dir, "mode=0755"); err != nil {
					return "", err
				}
			}
		}
	}
	if _, err := WriteAtomic(req.Dir, payload, req.now(), req.Ownership.FsGroup); err != nil {
		return "", err
	}
	return req.Dir, nil
}
