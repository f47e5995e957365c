package volume

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	v1 "k8s.io/api/core/v1"
)

// HostPath is a path on the node, checked against its type (and created
// for DirectoryOrCreate and FileOrCreate). Nothing of it is removed on
// teardown.
type HostPath struct{}

var _ Plugin = (*HostPath)(nil)

// Dir is empty: hostPath volumes live where they are.
func (*HostPath) Dir() string { return "" }

// Handles hostPath volumes.
func (*HostPath) Handles(v *v1.Volume) bool { return v.HostPath != nil }

// SetUp checks (or creates) the path per its type.
func (*HostPath) SetUp(_ context.Context, req SetUpRequest) (string, error) {
	hp := req.Volume.HostPath
	path := filepath.Clean(hp.Path)
	if !filepath.IsAbs(path) {
		return "", fmt.Errorf("hostPath %q: must be an absolute path", hp.Path)
	}
	typ := v1.HostPathUnset
	if hp.Type != nil {
		typ = *hp.Type
	}
	fi, err := os.Stat(path)
	exists := err == nil
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("hostPath %s: %w", path, err)
	}
	fail := func(what string) (string, error) {
		return "", fmt.Errorf("hostPath type check failed: %s is not a %s", path, what)
	}
	switch typ {
	case v1.HostPathUnset:
	case v1.HostPathDirectoryOrCreate:
		if !exists {
			if err := os.MkdirAll(path, 0o755); err != nil {
				return "", fmt.Errorf("hostPath %s: %w", path, err)
			}
		} else if !fi.IsDir() {
			return fail("directory")
		}
	case v1.HostPathDirectory:
		if !exists || !fi.IsDir() {
			return fail("directory")
		}
	case v1.HostPathFileOrCreate:
		if !exists {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				return "", fmt.Errorf("hostPath %s: %w", path, err)
			}
			f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o644)
			if err != nil {
				return "", fmt.Errorf("hostPath %s: %w", path, err)
			}
			f.Close()
		} else if !fi.Mode().IsRegular() {
			return fail("file")
		}
	case v1.HostPathFile:
		if !exists || !fi.Mode().IsRegular() {
			return fail("file")
		}
	case v1.HostPathSocket:
		if !exists || fi.Mode()&os.ModeSocket == 0 {
			return fail("socket file")
		}
	case v1.HostPathCharDev:
		if !exists || fi.Mode()&os.ModeCharDevice == 0 {
			return fail("character device")
		}
	case v1.HostPathBlockDev:
		if !exists || fi.Mode()&os.ModeDevice == 0 || fi.Mode()&os.ModeCharDevice != 0 {
			return fail("block device")
		}
	default:
		return "", fmt.Errorf("hostPath %s: unknown type %q", path, typ)
	}
	return path, nil
}

// TearDown does nothing: the host's path is not the pod's to remove.
func (*HostPath) TearDown(context.Context, string) error { return nil }
