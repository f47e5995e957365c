package apiserver

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkCreatePod measures the edge's create path (decode, admission,
// validation, managedFields, encode) over the in-memory store.
func BenchmarkCreatePod(b *testing.B) {
	e := newTestEnv(b)
	_ = context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		body := fmt.Sprintf(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p%d","labels":{"app":"x"}},"spec":{"containers":[{"name":"c","image":"busybox","command":["sleep","3600"]}]}}`, i)
		req := httptest.NewRequest(http.MethodPost, "/api/v1/namespaces/default/pods?fieldManager=bench", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		e.api.ServeHTTP(rec, req)
		if rec.Code != 201 {
			b.Fatal(rec.Code, rec.Body.String())
		}
	}
}

// BenchmarkListPods measures encoding a LIST of 10,000 pods.
func BenchmarkListPods(b *testing.B) {
	e := newTestEnv(b)
	for i := 0; i < 10000; i++ {
		body := fmt.Sprintf(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p%d","labels":{"app":"x"}},"spec":{"containers":[{"name":"c","image":"busybox","command":["sleep","3600"]}]}}`, i)
		req := httptest.NewRequest(http.MethodPost, "/api/v1/namespaces/default/pods?fieldManager=bench", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		e.api.ServeHTTP(httptest.NewRecorder(), req)
	}
	for _, accept := range []string{"application/json", "application/vnd.kubernetes.protobuf"} {
		b.Run(accept, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				req := httptest.NewRequest(http.MethodGet, "/api/v1/namespaces/default/pods", nil)
				req.Header.Set("Accept", accept)
				rec := httptest.NewRecorder()
				e.api.ServeHTTP(rec, req)
				if rec.Code != 200 {
					b.Fatal(rec.Code)
				}
				b.SetBytes(int64(rec.Body.Len()))
			}
		})
	}
}
