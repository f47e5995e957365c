package cli

import (
	"bytes"
	"testing"

	"github.com/peapod/peapod/internal/runtime"
)

func TestImageHumanSize(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		want string
	}{
		{0, "0B"},
		{999, "999B"},
		{1000, "1kB"},
		{2140160, "2.14MB"},
		{123456789, "123.5MB"},
		{5_000_000_000, "5GB"},
	} {
		if got := humanSize(tc.n); got != tc.want {
			t.Errorf("humanSize(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}

func TestImageTable(t *testing.T) {
	var b bytes.Buffer
	err := writeImageTable(&b, []*runtime.Image{
		{ID: "sha256:0cb54f392f3f479de4a9cdc9826c3527e257e003a184bf93fbe7b4f7acef7c8b", Size: 2140160,
			RepoTags: []string{"docker.io/library/busybox:1", "docker.io/library/busybox:latest"}},
		{ID: "sha256:aaaa", Size: 10, RepoDigests: []string{"localhost:5000/x@sha256:bbbb"}},
		{ID: "sha256:cccc", Size: 10},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `IMAGE                       TAG      IMAGE ID        SIZE
docker.io/library/busybox   1        0cb54f392f3f4   2.14MB
docker.io/library/busybox   latest   0cb54f392f3f4   2.14MB
localhost:5000/x            <none>   aaaa            10B
<none>                      <none>   cccc            10B
`
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}
