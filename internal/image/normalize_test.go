package image

import (
	"errors"
	"testing"

	"github.com/peapod/peapod/internal/runtime"
)

func TestNormalize(t *testing.T) {
	const dg = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	for _, tc := range []struct{ in, want string }{
		{"busybox", "docker.io/library/busybox:latest"},
		{"busybox:1.36", "docker.io/library/busybox:1.36"},
		{"library/busybox", "docker.io/library/busybox:latest"},
		{"docker.io/busybox", "docker.io/library/busybox:latest"},
		{"index.docker.io/library/busybox:latest", "docker.io/library/busybox:latest"},
		{"docker.io/library/busybox:latest", "docker.io/library/busybox:latest"},
		{"user/app", "docker.io/user/app:latest"},
		{"quay.io/coreos/etcd", "quay.io/coreos/etcd:latest"},
		{"localhost:5000/app:v1", "localhost:5000/app:v1"},
		{"127.0.0.1:5000/a/b/c", "127.0.0.1:5000/a/b/c:latest"},
		{"busybox@" + dg, "docker.io/library/busybox@" + dg},
		{"registry.k8s.io/pause:3.10", "registry.k8s.io/pause:3.10"},
	} {
		got, err := Normalize(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"", "Busybox", "busybox:", "a b", " busybox", "busybox@sha256:abc", "-x", "busybox:bad tag", "foo//bar"} {
		if got, err := Normalize(in); !errors.Is(err, runtime.ErrInvalidImage) {
			t.Errorf("Normalize(%q) = %q, %v; want ErrInvalidImage", in, got, err)
		}
	}
}

func TestSplitName(t *testing.T) {
	for _, tc := range []struct{ in, repo, tag, digest string }{
		{"docker.io/library/busybox:latest", "docker.io/library/busybox", "latest", ""},
		{"localhost:5000/app:v1", "localhost:5000/app", "v1", ""},
		{"localhost:5000/app", "localhost:5000/app", "", ""},
		{"docker.io/library/busybox@sha256:ab", "docker.io/library/busybox", "", "sha256:ab"},
	} {
		repo, tag, digest := SplitName(tc.in)
		if repo != tc.repo || tag != tc.tag || digest != tc.digest {
			t.Errorf("SplitName(%q) = %q %q %q", tc.in, repo, tag, digest)
		}
	}
}
