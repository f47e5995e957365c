package image

import (
	"errors"
	"testing"
)

func TestCleanEntryName(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"./", "."},
		{"/", "."},
		{".", "."},
		{"bin/sh", "bin/sh"},
		{"./bin/sh", "bin/sh"},
		{"/etc/passwd", "etc/passwd"},
		{"//etc//passwd", "etc/passwd"},
		{"usr/bin/", "usr/bin"},
		{"a/../b", "b"},
		{"a/b/../../c", "c"},
		{"..foo", "..foo"},
		{"a/..b", "a/..b"},
	} {
		got, err := cleanEntryName(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("cleanEntryName(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"", "..", "../etc/passwd", "./../x", "a/../../x", "/../x", "a/b/../../../x", "a\x00b"} {
		if got, err := cleanEntryName(in); !errors.Is(err, errUnsafePath) {
			t.Errorf("cleanEntryName(%q) = %q, %v; want errUnsafePath", in, got, err)
		}
	}
}

func TestClassifyWhiteout(t *testing.T) {
	for _, tc := range []struct {
		base   string
		kind   whiteoutKind
		hidden string
	}{
		{"file", notWhiteout, ""},
		{".wh.file", fileWhiteout, "file"},
		{".wh..hidden", fileWhiteout, ".hidden"},
		{".wh..wh..opq", opaqueWhiteout, ""},
		{".wh..wh.plnk", otherWhiteout, ""},
		{".wh", notWhiteout, ""},
		{"x.wh.y", notWhiteout, ""},
	} {
		kind, hidden := classifyWhiteout(tc.base)
		if kind != tc.kind || hidden != tc.hidden {
			t.Errorf("classifyWhiteout(%q) = %v %q", tc.base, kind, hidden)
		}
	}
}
