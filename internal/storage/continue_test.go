package storage

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

func TestContinueTokenRoundTrip(t *testing.T) {
	tok, err := encodeContinue("/registry/pods/ns/b\x00", "/registry/pods/", 42)
	if err != nil {
		t.Fatal(err)
	}
	key, rv, err := decodeContinue(tok, "/registry/pods/")
	if err != nil || key != "/registry/pods/ns/b\x00" || rv != 42 {
		t.Fatalf("%q %d %v", key, rv, err)
	}
	if _, err := encodeContinue("/registry/other/x", "/registry/pods/", 1); err == nil {
		t.Fatal("key outside the prefix encoded")
	}
}

func TestContinueTokenRejects(t *testing.T) {
	raw := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	for name, tok := range map[string]string{
		"not base64":   "%%%",
		"not json":     raw("nope"),
		"old version":  raw(`{"v":"v0","rv":1,"start":"a"}`),
		"no rv":        raw(`{"v":"meta.k8s.io/v1","start":"a"}`),
		"no start":     raw(`{"v":"meta.k8s.io/v1","rv":3}`),
		"escapes":      raw(`{"v":"meta.k8s.io/v1","rv":3,"start":"../secrets/x"}`),
		"escapes deep": raw(`{"v":"meta.k8s.io/v1","rv":3,"start":"ns/../../x"}`),
	} {
		_, _, err := decodeContinue(tok, "/registry/pods/")
		if !errors.Is(err, ErrInvalidContinue) || !errors.Is(err, ErrInvalidRV) {
			t.Errorf("%s: %v, want ErrInvalidContinue (an ErrInvalidRV)", name, err)
		}
	}
}

// FuzzDecodeContinue: any token either fails cleanly or resumes inside the
// listed prefix.
func FuzzDecodeContinue(f *testing.F) {
	good, _ := encodeContinue("/registry/pods/ns/b\x00", "/registry/pods/", 42)
	f.Add(good)
	f.Add("")
	f.Add(base64.RawURLEncoding.EncodeToString([]byte(`{"v":"meta.k8s.io/v1","rv":3,"start":"../x"}`)))
	f.Fuzz(func(t *testing.T, tok string) {
		key, rv, err := decodeContinue(tok, "/registry/pods/")
		if err != nil {
			if !errors.Is(err, ErrInvalidContinue) {
				t.Fatalf("error %v is not ErrInvalidContinue", err)
			}
			return
		}
		if !strings.HasPrefix(key, "/registry/pods/") || strings.Contains(key, "..") || rv <= 0 {
			t.Fatalf("token %q resumes at %q rv %d", tok, key, rv)
		}
	})
}
