package volume

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// tree reads dir as the container would see it: every path reachable
// through the top-level names, with content and mode.
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "..") {
			continue
		}
		top := filepath.Join(dir, e.Name())
		if fi, err := os.Stat(top); err == nil && !fi.IsDir() {
			b, _ := os.ReadFile(top)
			out[e.Name()] = fi.Mode().Perm().String() + " " + string(b)
			continue
		}
		filepath.Walk(top+"/", func(p string, info os.FileInfo, err error) error {
			if err != nil {
				t.Fatal(err)
			}
			if info.IsDir() {
				return nil
			}
			b, _ := os.ReadFile(p)
			rel, _ := filepath.Rel(dir, p)
			out[rel] = info.Mode().Perm().String() + " " + string(b)
			return nil
		})
	}
	return out
}

func TestWriteAtomicLayoutAndUpdates(t *testing.T) {
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	dir := filepath.Join(t.TempDir(), "vol")
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	steps := []struct {
		payload map[string]FileProjection
		changed bool
		want    map[string]string
	}{
		{
			payload: map[string]FileProjection{"user": {Data: []byte("admin"), Mode: 0o644}, "nested/a/b": {Data: []byte("x"), Mode: 0o400}},
			changed: true,
			want:    map[string]string{"user": "-rw-r--r-- admin", "nested/a/b": "-r-------- x"},
		},
		{ // the same again: nothing written
			payload: map[string]FileProjection{"user": {Data: []byte("admin"), Mode: 0o644}, "nested/a/b": {Data: []byte("x"), Mode: 0o400}},
			want:    map[string]string{"user": "-rw-r--r-- admin", "nested/a/b": "-r-------- x"},
		},
		{ // a mode change alone is a change
			payload: map[string]FileProjection{"user": {Data: []byte("admin"), Mode: 0o600}, "nested/a/b": {Data: []byte("x"), Mode: 0o400}},
			changed: true,
			want:    map[string]string{"user": "-rw------- admin", "nested/a/b": "-r-------- x"},
		},
		{ // a removed key loses its link, a new one gains one
			payload: map[string]FileProjection{"user": {Data: []byte("root"), Mode: 0o644}, "pass": {Data: []byte("s3cret"), Mode: 0o644}},
			changed: true,
			want:    map[string]string{"user": "-rw-r--r-- root", "pass": "-rw-r--r-- s3cret"},
		},
		{
			payload: map[string]FileProjection{},
			changed: true,
			want:    map[string]string{},
		},
	}
	for i, s := range steps {
		changed, err := WriteAtomic(dir, s.payload, t0.Add(time.Duration(i)*time.Second), nil)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if changed != s.changed {
			t.Fatalf("step %d: changed = %v, want %v", i, changed, s.changed)
		}
		got := tree(t, dir)
		if len(got) != len(s.want) {
			t.Fatalf("step %d: files %v, want %v", i, got, s.want)
		}
		for k, v := range s.want {
			if got[k] != v {
				t.Fatalf("step %d: %s = %q, want %q", i, k, got[k], v)
			}
		}
		// Exactly one timestamped dir, ..data points at it, no ..data_tmp.
		ents, _ := os.ReadDir(dir)
		var ts []string
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), "..20") {
				ts = append(ts, e.Name())
			}
			if e.Name() == "..data_tmp" {
				t.Fatalf("step %d: ..data_tmp left", i)
			}
		}
		target, err := os.Readlink(filepath.Join(dir, "..data"))
		if err != nil || len(ts) != 1 || target != ts[0] {
			t.Fatalf("step %d: ..data -> %q (%v), timestamped dirs %v", i, target, err, ts)
		}
		want := t0.Add(time.Duration(steps0(steps, i)) * time.Second).Format("..2006_01_02_15_04_05.")
		if !strings.HasPrefix(ts[0], want) {
			t.Fatalf("step %d: dir %q, want prefix %q", i, ts[0], want)
		}
		if fi, _ := os.Stat(filepath.Join(dir, ts[0])); fi.Mode().Perm() != 0o755 {
			t.Fatalf("step %d: timestamped dir mode %v", i, fi.Mode())
		}
	}
	if l, _ := os.Readlink(filepath.Join(dir, "user")); l != "" {
		t.Fatalf("stale link user -> %s left", l)
	}
}

// steps0 is the index of the last step that changed something up to i.
func steps0(steps []struct {
	payload map[string]FileProjection
	changed bool
	want    map[string]string
}, i int) int {
	for ; i > 0 && !steps[i].changed; i-- {
	}
	return i
}

func TestWriteAtomicTopLevelLinks(t *testing.T) {
	dir := t.TempDir()
	if _, err := WriteAtomic(dir, map[string]FileProjection{"a/b/c": {Data: []byte("1"), Mode: 0o644}, "k": {Data: []byte("2"), Mode: 0o644}}, time.Now(), nil); err != nil {
		t.Fatal(err)
	}
	var links []string
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), "..") {
			l, _ := os.Readlink(filepath.Join(dir, e.Name()))
			links = append(links, e.Name()+"->"+l)
		}
	}
	sort.Strings(links)
	if strings.Join(links, ",") != "a->..data/a,k->..data/k" {
		t.Fatalf("links %v", links)
	}
}

func TestWriteAtomicRejectsBadPaths(t *testing.T) {
	long := strings.Repeat("x", 256)
	for _, p := range []string{"", "/abs", "../up", "..hidden", "a/../../b", "a/..", long, strings.Repeat("a/", 2100)} {
		dir := t.TempDir()
		_, err := WriteAtomic(dir, map[string]FileProjection{p: {Data: []byte("v"), Mode: 0o644}, "ok": {Data: []byte("v"), Mode: 0o644}}, time.Now(), nil)
		if !errors.Is(err, ErrInvalidPath) {
			t.Errorf("path %.20q: err = %v", p, err)
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 0 {
			t.Errorf("path %.20q: wrote %d entries", p, len(ents))
		}
	}
	if err := validatePath("a/b..c/..d"); err != nil {
		t.Errorf("names merely containing dots refused: %v", err)
	}
}
