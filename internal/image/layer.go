package image

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// layerSize returns the recorded size of an unpacked layer, and whether it
// is present. A layer directory appears only complete (by rename).
func (s *Store) layerSize(diffID string) (int64, bool) {
	data, err := os.ReadFile(filepath.Join(s.layerDir(diffID), "size"))
	if err != nil {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
	if err != nil {
		return 0, false
	}
	return n, true
}

// ensureLayer unpacks the layer diffID ("sha256:<hex>") unless it is
// already in the store, and returns its uncompressed size. open gives the
// uncompressed tar stream; its sha256 must equal diffID. Concurrent calls
// for one diffID in this process unpack it once; across processes, the
// first rename wins and the other copy is dropped.
func (s *Store) ensureLayer(ctx context.Context, diffID string, open func() (io.ReadCloser, error)) (int64, error) {
	hexID, ok := strings.CutPrefix(diffID, "sha256:")
	if !ok || len(hexID) != 64 || !isHex(hexID) {
		return 0, fmt.Errorf("layer diffID %q is not a sha256 digest", diffID)
	}
	unlock := s.layerLocks.lock(hexID)
	defer unlock()
	if n, ok := s.layerSize(diffID); ok {
		return n, nil
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	tmp, err := s.tempDir("layer")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(tmp)
	rootfs := filepath.Join(tmp, "rootfs")
	if err := os.Mkdir(rootfs, 0o755); err != nil {
		return 0, err
	}
	rc, err := open()
	if err != nil {
		return 0, fmt.Errorf("layer %s: %w", diffID, err)
	}
	defer rc.Close()
	h := sha256.New()
	counted := &countingReader{r: io.TeeReader(ctxReader{ctx, rc}, h)}
	if err := unpackLayer(counted, rootfs); err != nil {
		return 0, fmt.Errorf("unpacking layer %s: %w", diffID, err)
	}
	// The tar reader stops at the end-of-archive marker; the digest covers
	// the whole stream.
	if _, err := io.Copy(io.Discard, counted); err != nil {
		return 0, fmt.Errorf("reading layer %s: %w", diffID, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != hexID {
		return 0, fmt.Errorf("layer %s: content has digest sha256:%s", diffID, got)
	}
	if err := os.WriteFile(filepath.Join(tmp, "size"), []byte(strconv.FormatInt(counted.n, 10)+"\n"), 0o600); err != nil {
		return 0, err
	}
	if err := os.Chmod(tmp, 0o711); err != nil {
		return 0, err
	}
	if err := os.Rename(tmp, s.layerDir(diffID)); err != nil {
		if errors.Is(err, unix.EEXIST) || errors.Is(err, unix.ENOTEMPTY) {
			// Another process unpacked it first.
			if n, ok := s.layerSize(diffID); ok {
				return n, nil
			}
		}
		return 0, fmt.Errorf("storing layer %s: %w", diffID, err)
	}
	return counted.n, nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// ctxReader stops reading when ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
