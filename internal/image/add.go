package image

import (
	"context"
	"fmt"
	"os"
	"slices"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sync/errgroup"

	"github.com/peapod/peapod/internal/runtime"
)

// parallelLayers is how many layers one pull or import fetches and unpacks
// at once.
const parallelLayers = 3

// addImage unpacks img's layers into the store and records it with the
// given names (normalised) and manifest digest (if known).
func (s *Store) addImage(ctx context.Context, img v1.Image, tags, digests []string, manifest string) (*runtime.Image, error) {
	cfgName, err := img.ConfigName()
	if err != nil {
		return nil, fmt.Errorf("reading image config: %w", err)
	}
	rawCfg, err := img.RawConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading image config: %w", err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading image config: %w", err)
	}
	if cfg.OS != "" && cfg.OS != "linux" {
		return nil, fmt.Errorf("image %s is for %s, not linux", cfgName, cfg.OS)
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("reading image layers: %w", err)
	}
	if len(layers) != len(cfg.RootFS.DiffIDs) {
		return nil, fmt.Errorf("image %s has %d layers but its config lists %d", cfgName, len(layers), len(cfg.RootFS.DiffIDs))
	}
	rec := record{
		ID:          cfgName.String(),
		RepoTags:    tags,
		RepoDigests: digests,
		Manifest:    manifest,
		Config: imageConfig{
			Entrypoint: cfg.Config.Entrypoint,
			Cmd:        cfg.Config.Cmd,
			Env:        cfg.Config.Env,
			WorkingDir: cfg.Config.WorkingDir,
			User:       cfg.Config.User,
			StopSignal: cfg.Config.StopSignal,
		},
	}
	for _, d := range cfg.RootFS.DiffIDs {
		rec.Layers = append(rec.Layers, d.String())
	}
	unpin, err := s.pinLayers(rec.Layers)
	if err != nil {
		return nil, err
	}
	defer unpin()
	// Layers are fetched and unpacked a few at a time.
	ensure := func() error {
		sizes := make([]int64, len(layers))
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(parallelLayers)
		for i, l := range layers {
			g.Go(func() error {
				n, err := s.ensureLayer(gctx, rec.Layers[i], l.Uncompressed)
				sizes[i] = n
				return err
			})
		}
		if err := g.Wait(); err != nil {
			return err
		}
		rec.Size = 0
		for _, n := range sizes {
			rec.Size += n
		}
		return nil
	}
	if err := ensure(); err != nil {
		return nil, err
	}
	var rawManifest []byte
	if manifest != "" {
		if rawManifest, err = img.RawManifest(); err != nil {
			return nil, fmt.Errorf("reading image manifest: %w", err)
		}
	}
	// The pin keeps a concurrent Remove from deleting our layers; the
	// commit still checks them under the lock and unpacks again if one is
	// missing (a pin lost with its file, say).
	var stored *runtime.Image
	for attempt := 0; ; attempt++ {
		missing := false
		err := s.update(func(ix *index) error {
			for _, l := range rec.Layers {
				if _, ok := s.layerSize(l); !ok {
					missing = true
					return fmt.Errorf("layer %s vanished while storing image %s", l, rec.ID)
				}
			}
			if err := writeBlob(s.blobPath(rec.ID), rawCfg); err != nil {
				return err
			}
			if manifest != "" {
				if err := writeBlob(s.blobPath(manifest), rawManifest); err != nil {
					return err
				}
			}
			ix.put(rec.clone())
			i, err := ix.find(rec.ID)
			if err != nil {
				return err
			}
			stored = ix.Images[i].image()
			return nil
		})
		if err == nil {
			break
		}
		if !missing || attempt == 2 {
			return nil, err
		}
		if err := ensure(); err != nil {
			return nil, err
		}
	}
	return stored, nil
}

func writeBlob(path string, data []byte) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	return writeFileAtomic(path, data)
}

// normalizeAll normalises names, dropping duplicates; a name that does not
// parse is an error.
func normalizeAll(names []string) ([]string, error) {
	var out []string
	for _, n := range names {
		nn, err := Normalize(n)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(out, nn) {
			out = append(out, nn)
		}
	}
	return out, nil
}
