package image

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/peapod/peapod/internal/runtime"
)

// indexVersion is the version of index.json's format.
const indexVersion = 1

// index is the content of index.json: every image in the store with its
// names. It is a plain value: the Store reads it, changes a copy and
// replaces the file.
type index struct {
	Version int      `json:"version"`
	Images  []record `json:"images"`
}

// record is one image.
type record struct {
	ID          string   `json:"id"` // sha256:<config digest>
	RepoTags    []string `json:"repoTags,omitempty"`
	RepoDigests []string `json:"repoDigests,omitempty"`
	// Layers are the diffIDs, bottom first.
	Layers []string `json:"layers"`
	// Size is the sum of the layers' uncompressed sizes.
	Size int64 `json:"size"`
	// Manifest is the digest of the manifest it came with, if known.
	Manifest string      `json:"manifest,omitempty"`
	Config   imageConfig `json:"config"`
}

// imageConfig is the part of the image config the runtime uses.
type imageConfig struct {
	Entrypoint []string `json:"entrypoint,omitempty"`
	Cmd        []string `json:"cmd,omitempty"`
	Env        []string `json:"env,omitempty"`
	WorkingDir string   `json:"workingDir,omitempty"`
	User       string   `json:"user,omitempty"`
	StopSignal string   `json:"stopSignal,omitempty"`
}

func decodeIndex(data []byte) (index, error) {
	var ix index
	if len(data) == 0 {
		return index{Version: indexVersion}, nil
	}
	if err := json.Unmarshal(data, &ix); err != nil {
		return index{}, fmt.Errorf("decoding image index: %w", err)
	}
	if ix.Version != indexVersion {
		return index{}, fmt.Errorf("image index has version %d, this peapod reads version %d", ix.Version, indexVersion)
	}
	return ix, nil
}

func encodeIndex(ix index) ([]byte, error) {
	ix.Version = indexVersion
	data, err := json.MarshalIndent(ix, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}

// clone returns a deep copy, so that a cached index is never changed.
func (ix index) clone() index {
	out := index{Version: ix.Version, Images: make([]record, len(ix.Images))}
	for i, r := range ix.Images {
		out.Images[i] = r.clone()
	}
	return out
}

func (r record) clone() record {
	r.RepoTags = slices.Clone(r.RepoTags)
	r.RepoDigests = slices.Clone(r.RepoDigests)
	r.Layers = slices.Clone(r.Layers)
	r.Config.Entrypoint = slices.Clone(r.Config.Entrypoint)
	r.Config.Cmd = slices.Clone(r.Config.Cmd)
	r.Config.Env = slices.Clone(r.Config.Env)
	return r
}

// put adds rec or merges its names into the image with the same ID. Names
// move: a tag or digest that named another image names rec now (that image
// stays, possibly without names, as Docker's dangling images do).
func (ix *index) put(rec record) {
	names := append(slices.Clone(rec.RepoTags), rec.RepoDigests...)
	for i := range ix.Images {
		if ix.Images[i].ID == rec.ID {
			continue
		}
		ix.Images[i].RepoTags = slices.DeleteFunc(ix.Images[i].RepoTags, func(n string) bool { return slices.Contains(names, n) })
		ix.Images[i].RepoDigests = slices.DeleteFunc(ix.Images[i].RepoDigests, func(n string) bool { return slices.Contains(names, n) })
	}
	i := slices.IndexFunc(ix.Images, func(r record) bool { return r.ID == rec.ID })
	if i < 0 {
		ix.Images = append(ix.Images, rec)
		i = len(ix.Images) - 1
	} else {
		old := ix.Images[i]
		rec.RepoTags = append(old.RepoTags, rec.RepoTags...)
		rec.RepoDigests = append(old.RepoDigests, rec.RepoDigests...)
		if rec.Manifest == "" {
			rec.Manifest = old.Manifest
		}
		ix.Images[i] = rec
	}
	r := &ix.Images[i]
	slices.Sort(r.RepoTags)
	r.RepoTags = slices.Compact(r.RepoTags)
	slices.Sort(r.RepoDigests)
	r.RepoDigests = slices.Compact(r.RepoDigests)
	slices.SortFunc(ix.Images, func(a, b record) int { return strings.Compare(a.ID, b.ID) })
}

// find returns the position of the image ref names: an ID ("sha256:<hex>"),
// a unique ID prefix (with or without "sha256:"), or a name in any form
// Normalize accepts, matched against tags and digests. Not found wraps
// runtime.ErrImageNotFound; an ambiguous prefix or a bad name wraps
// runtime.ErrInvalidImage.
func (ix index) find(ref string) (int, error) {
	if ref == "" {
		return -1, fmt.Errorf("empty image reference: %w", runtime.ErrInvalidImage)
	}
	if hex, ok := strings.CutPrefix(ref, "sha256:"); ok {
		if !isHex(hex) {
			return -1, fmt.Errorf("image ID %q: %w", ref, runtime.ErrInvalidImage)
		}
		return ix.findPrefix(ref, hex)
	}
	if n, err := Normalize(ref); err == nil {
		for i, r := range ix.Images {
			if slices.Contains(r.RepoTags, n) || slices.Contains(r.RepoDigests, n) {
				return i, nil
			}
		}
	} else if !isHex(ref) {
		return -1, err
	}
	if isHex(ref) {
		return ix.findPrefix(ref, ref)
	}
	return -1, fmt.Errorf("image %q: %w", ref, runtime.ErrImageNotFound)
}

func (ix index) findPrefix(ref, hex string) (int, error) {
	found := -1
	for i, r := range ix.Images {
		if strings.HasPrefix(strings.TrimPrefix(r.ID, "sha256:"), hex) {
			if found >= 0 {
				return -1, fmt.Errorf("image ID prefix %q matches several images: %w", ref, runtime.ErrInvalidImage)
			}
			found = i
		}
	}
	if found < 0 {
		return -1, fmt.Errorf("image %q: %w", ref, runtime.ErrImageNotFound)
	}
	return found, nil
}

// remove deletes the image ref names (with all its names, as CRI's
// RemoveImage does) and returns it.
func (ix *index) remove(ref string) (record, error) {
	i, err := ix.find(ref)
	if err != nil {
		return record{}, err
	}
	rec := ix.Images[i]
	ix.Images = slices.Delete(ix.Images, i, i+1)
	return rec, nil
}

// layersInUse is the set of diffIDs some image references.
func (ix index) layersInUse() map[string]bool {
	used := map[string]bool{}
	for _, r := range ix.Images {
		for _, l := range r.Layers {
			used[l] = true
		}
	}
	return used
}

func (r record) image() *runtime.Image {
	r = r.clone()
	return &runtime.Image{
		ID:          r.ID,
		RepoTags:    r.RepoTags,
		RepoDigests: r.RepoDigests,
		Size:        r.Size,
		Entrypoint:  r.Config.Entrypoint,
		Cmd:         r.Config.Cmd,
		Env:         r.Config.Env,
		WorkingDir:  r.Config.WorkingDir,
		User:        r.Config.User,
		StopSignal:  r.Config.StopSignal,
	}
}

func isHex(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
