package image

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// pinLayers records, for the duration of a pull or import, the layers it
// is about to use, so that a concurrent Remove (in any process) does not
// delete them between unpacking and the commit. The pin file is written
// under the shared lock: a Remove either finished before (and the layer is
// unpacked again) or sees the pin. Pins of dead processes are ignored.
func (s *Store) pinLayers(layers []string) (unpin func(), err error) {
	data, err := json.Marshal(layers)
	if err != nil {
		return nil, err
	}
	unlock, err := s.lock(unix.LOCK_SH)
	if err != nil {
		return nil, err
	}
	defer unlock()
	f, err := os.CreateTemp(s.path("pins"), fmt.Sprintf("%d-", os.Getpid()))
	if err != nil {
		return nil, fmt.Errorf("pinning layers: %w", err)
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return nil, fmt.Errorf("pinning layers: %w", err)
	}
	return func() { os.Remove(f.Name()) }, nil
}

// pinnedLayers returns the layers live pulls and imports have pinned, and
// deletes the pins of dead processes. Call it under the exclusive lock.
func (s *Store) pinnedLayers() (map[string]bool, error) {
	entries, err := os.ReadDir(s.path("pins"))
	if err != nil {
		return nil, fmt.Errorf("reading layer pins: %w", err)
	}
	pinned := map[string]bool{}
	for _, e := range entries {
		p := s.path("pins", e.Name())
		pid, _, _ := strings.Cut(e.Name(), "-")
		if n, err := strconv.Atoi(pid); err != nil || !processAlive(n) {
			os.Remove(p)
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			continue // unpinned meanwhile
		}
		var layers []string
		if err := json.Unmarshal(data, &layers); err != nil {
			continue
		}
		for _, l := range layers {
			pinned[l] = true
		}
	}
	return pinned, nil
}
