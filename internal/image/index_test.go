package image

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/peapod/peapod/internal/runtime"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

const (
	idA = "sha256:aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111"
	idB = "sha256:aaaa2222bbbb2222bbbb2222bbbb2222bbbb2222bbbb2222bbbb2222bbbb2222"
	l1  = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	l2  = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
	l3  = "sha256:3333333333333333333333333333333333333333333333333333333333333333"
	dg  = "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
)

func testIndex() index {
	ix := index{Version: indexVersion}
	ix.put(record{
		ID:       idB,
		RepoTags: []string{"docker.io/library/app:v2", "docker.io/library/app:latest"},
		Layers:   []string{l1, l3},
		Size:     30,
		Config:   imageConfig{Entrypoint: []string{"/app"}, Env: []string{"PATH=/bin"}, User: "65534", StopSignal: "SIGINT"},
	})
	ix.put(record{
		ID:          idA,
		RepoTags:    []string{"docker.io/library/busybox:latest"},
		RepoDigests: []string{"docker.io/library/busybox@sha256:" + dg},
		Manifest:    "sha256:" + dg,
		Layers:      []string{l1, l2},
		Size:        20,
		Config:      imageConfig{Cmd: []string{"sh"}, WorkingDir: "/"},
	})
	return ix
}

func TestIndexEncodingGolden(t *testing.T) {
	data, err := encodeIndex(testIndex())
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "index.golden.json")
	if *update {
		if err := os.WriteFile(golden, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != string(want) {
		t.Fatalf("encoded index differs from %s (run with -update):\n%s", golden, data)
	}
	back, err := decodeIndex(want)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, testIndex()) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", back, testIndex())
	}
}

func TestDecodeIndexErrors(t *testing.T) {
	if ix, err := decodeIndex(nil); err != nil || len(ix.Images) != 0 {
		t.Errorf("empty file: %v %v", ix, err)
	}
	for _, in := range []string{"{", `{"version":2,"images":[]}`, `{"images":[]}`, `[]`} {
		if _, err := decodeIndex([]byte(in)); err == nil {
			t.Errorf("decodeIndex(%s): no error", in)
		}
	}
}

func TestIndexFind(t *testing.T) {
	ix := testIndex()
	for _, tc := range []struct{ ref, id string }{
		{idA, idA},
		{"busybox", idA},
		{"library/busybox:latest", idA},
		{"docker.io/library/busybox@sha256:" + dg, idA},
		{"app", idB},
		{"app:v2", idB},
		{"sha256:aaaa1", idA},
		{"aaaa2", idB},
		{strings.TrimPrefix(idB, "sha256:"), idB},
	} {
		i, err := ix.find(tc.ref)
		if err != nil || ix.Images[i].ID != tc.id {
			t.Errorf("find(%q) = %d, %v; want %s", tc.ref, i, err, tc.id)
		}
	}
	for _, tc := range []struct {
		ref string
		err error
	}{
		{"app:v3", runtime.ErrImageNotFound},
		{"sha256:ffff", runtime.ErrImageNotFound},
		{"bbbb", runtime.ErrImageNotFound},
		{"aaaa", runtime.ErrInvalidImage}, // ambiguous prefix
		{"sha256:aaaa", runtime.ErrInvalidImage},
		{"sha256:xyz", runtime.ErrInvalidImage},
		{"Bad Name", runtime.ErrInvalidImage},
		{"", runtime.ErrInvalidImage},
	} {
		if _, err := ix.find(tc.ref); !errors.Is(err, tc.err) {
			t.Errorf("find(%q) error = %v, want %v", tc.ref, err, tc.err)
		}
	}
}

func TestIndexPutMovesNames(t *testing.T) {
	ix := testIndex()
	// A new image takes the "latest" tag of app; the old one keeps v2.
	ix.put(record{ID: "sha256:cccc", RepoTags: []string{"docker.io/library/app:latest"}, Layers: []string{l3}})
	b := ix.Images[slicesIndex(ix, idB)]
	if !reflect.DeepEqual(b.RepoTags, []string{"docker.io/library/app:v2"}) {
		t.Errorf("old image tags = %v", b.RepoTags)
	}
	// Putting an image again merges names without duplicates.
	ix.put(record{ID: idA, RepoTags: []string{"docker.io/library/busybox:latest", "docker.io/library/busybox:1"}, Layers: []string{l1, l2}})
	a := ix.Images[slicesIndex(ix, idA)]
	if !reflect.DeepEqual(a.RepoTags, []string{"docker.io/library/busybox:1", "docker.io/library/busybox:latest"}) || a.Manifest != "sha256:"+dg {
		t.Errorf("merged image = %+v", a)
	}
	if len(ix.Images) != 3 {
		t.Errorf("%d images", len(ix.Images))
	}
}

func TestIndexRemove(t *testing.T) {
	ix := testIndex()
	clone := ix.clone()
	rec, err := ix.remove("busybox")
	if err != nil || rec.ID != idA || len(ix.Images) != 1 {
		t.Fatalf("remove = %+v, %v (%d left)", rec, err, len(ix.Images))
	}
	if used := ix.layersInUse(); !used[l1] || used[l2] || !used[l3] {
		t.Errorf("layersInUse = %v", used)
	}
	if len(clone.Images) != 2 {
		t.Error("remove changed a clone")
	}
	if _, err := ix.remove("busybox"); !errors.Is(err, runtime.ErrImageNotFound) {
		t.Errorf("second remove: %v", err)
	}
}

func slicesIndex(ix index, id string) int {
	for i, r := range ix.Images {
		if r.ID == id {
			return i
		}
	}
	return -1
}
