package server

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// benchLog writes a CRI log of n 100-byte lines, one in ten split in two
// partial lines.
func benchLog(b *testing.B, n int) string {
	b.Helper()
	var buf bytes.Buffer
	ts := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	msg := bytes.Repeat([]byte("x"), 60)
	for i := 0; i < n; i++ {
		t := ts.Add(time.Duration(i) * time.Millisecond).Format(time.RFC3339Nano)
		if i%10 == 0 {
			fmt.Fprintf(&buf, "%s stdout P %s\n%s stdout F %s\n", t, msg[:30], t, msg[30:])
			continue
		}
		fmt.Fprintf(&buf, "%s stdout F %s\n", t, msg)
	}
	path := filepath.Join(b.TempDir(), "0.log")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
	return path
}

func benchServe(b *testing.B, query string) {
	path := benchLog(b, 500_000)
	fi, _ := os.Stat(path)
	h := New(Config{
		Pods:    &fakeLookup{refs: map[string]ContainerRef{"default/web/c": {ID: "c1", LogPath: path}}, sandboxes: map[string]string{"default/web": "sb"}},
		Runtime: &fakeStreamer{running: map[string]bool{"c1": false}},
	})
	b.SetBytes(fi.Size())
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w := httptest.NewRecorder()
		w.Body = nil
		h.ServeHTTP(discardRecorder{w}, httptestRequest("/containerLogs/default/web/c"+query))
	}
}

type discardRecorder struct{ *httptest.ResponseRecorder }

func (d discardRecorder) Write(p []byte) (int, error) { return io.Discard.Write(p) }

func httptestRequest(path string) *http.Request { return httptest.NewRequest("GET", path, nil) }

// BenchmarkLogsAll: a whole 45 MB log (bytes/s of log file read).
func BenchmarkLogsAll(b *testing.B) { benchServe(b, "") }

// BenchmarkLogsTail: the last 10 lines of the same log (the file is
// scanned once to find them).
func BenchmarkLogsTail(b *testing.B) { benchServe(b, "?tailLines=10") }

// BenchmarkLogsTimestamps: the whole log with timestamps.
func BenchmarkLogsTimestamps(b *testing.B) { benchServe(b, "?timestamps=true") }
