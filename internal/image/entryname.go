package image

import (
	"errors"
	"fmt"
	"path"
	"strings"
)

// errUnsafePath is wrapped when a layer entry would land outside the layer.
var errUnsafePath = errors.New("path escapes the layer")

// cleanEntryName turns a tar entry name into a path relative to the layer
// root ("." for the root itself). A leading "/" is dropped (the layer root
// is "/"); a name that climbs out of the root with ".." is rejected, as is
// a name with a NUL byte.
func cleanEntryName(name string) (string, error) {
	if name == "" || strings.ContainsRune(name, 0) {
		return "", fmt.Errorf("tar entry %q: invalid name: %w", name, errUnsafePath)
	}
	rel := strings.TrimLeft(name, "/")
	if rel == "" {
		return ".", nil
	}
	clean := path.Clean(rel)
	if clean == ".." || strings.HasPrefix(clean, "../") {
		return "", fmt.Errorf("tar entry %q: %w", name, errUnsafePath)
	}
	return clean, nil
}

// whiteout classifies a layer entry's base name: an opaque-directory
// marker, a whiteout of a name in the lower layers, or neither.
type whiteoutKind int

const (
	notWhiteout whiteoutKind = iota
	opaqueWhiteout
	fileWhiteout
	// otherWhiteout is an AUFS metadata entry (.wh..wh.plnk, .wh..wh.aufs):
	// skipped.
	otherWhiteout
)

const (
	whiteoutPrefix = ".wh."
	whiteoutMeta   = ".wh..wh."
	whiteoutOpaque = ".wh..wh..opq"
)

// classifyWhiteout returns the kind of base and, for fileWhiteout, the
// name it hides.
func classifyWhiteout(base string) (whiteoutKind, string) {
	switch {
	case base == whiteoutOpaque:
		return opaqueWhiteout, ""
	case strings.HasPrefix(base, whiteoutMeta):
		return otherWhiteout, ""
	case strings.HasPrefix(base, whiteoutPrefix):
		return fileWhiteout, strings.TrimPrefix(base, whiteoutPrefix)
	}
	return notWhiteout, ""
}
