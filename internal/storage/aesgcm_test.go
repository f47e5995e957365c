package storage

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func testKey(name string, b byte) AESKey {
	return AESKey{Name: name, Secret: bytes.Repeat([]byte{b}, 32)}
}

func TestAESGCMRoundTripAndFormat(t *testing.T) {
	ctx := context.Background()
	// A fixed nonce source: time and randomness are inputs.
	tr, err := NewAESGCMTransformer([]AESKey{testKey("k1", 1)}, bytes.NewReader(bytes.Repeat([]byte{7}, 12)))
	if err != nil {
		t.Fatal(err)
	}
	key := "/registry/secrets/ns/s"
	enc, err := tr.TransformToStorage(ctx, []byte("plaintext-password"), key)
	if err != nil {
		t.Fatal(err)
	}
	wantPrefix := append([]byte("k8s:enc:aesgcm:v1:k1:"), bytes.Repeat([]byte{7}, 12)...)
	if !bytes.HasPrefix(enc, wantPrefix) || bytes.Contains(enc, []byte("plaintext")) {
		t.Fatalf("stored %q", enc)
	}
	plain, stale, err := tr.TransformFromStorage(ctx, enc, key)
	if err != nil || stale || string(plain) != "plaintext-password" {
		t.Fatalf("decrypt: %q stale=%v %v", plain, stale, err)
	}
	// The key is authenticated: a value copied to another key does not open.
	if _, _, err := tr.TransformFromStorage(ctx, enc, "/registry/secrets/ns/other"); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("moved value: %v, want ErrDecrypt", err)
	}
	// Plain values pass through and are stale.
	plain, stale, err = tr.TransformFromStorage(ctx, []byte("k8s\x00old"), key)
	if err != nil || !stale || string(plain) != "k8s\x00old" {
		t.Fatalf("plain value: %q stale=%v %v", plain, stale, err)
	}
}

func TestAESGCMRotationAndErrors(t *testing.T) {
	ctx := context.Background()
	key := "/registry/secrets/ns/s"
	old, _ := NewAESGCMTransformer([]AESKey{testKey("k1", 1)}, rand.Reader)
	enc, _ := old.TransformToStorage(ctx, []byte("v"), key)
	rotated, err := NewAESGCMTransformer([]AESKey{testKey("k2", 2), testKey("k1", 1)}, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if plain, stale, err := rotated.TransformFromStorage(ctx, enc, key); err != nil || !stale || string(plain) != "v" {
		t.Fatalf("old key after rotation: %q stale=%v %v", plain, stale, err)
	}
	enc2, _ := rotated.TransformToStorage(ctx, []byte("v"), key)
	if !strings.HasPrefix(string(enc2), "k8s:enc:aesgcm:v1:k2:") {
		t.Fatalf("new writes use %q", enc2[:25])
	}
	if _, _, err := old.TransformFromStorage(ctx, enc2, key); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("unknown key: %v", err)
	}
	corrupt := append([]byte{}, enc2...)
	corrupt[len(corrupt)-1] ^= 1
	for name, v := range map[string][]byte{
		"corrupt": corrupt, "no key name": []byte("k8s:enc:aesgcm:v1:nocolon"), "short": []byte("k8s:enc:aesgcm:v1:k2:abc"),
	} {
		if _, _, err := rotated.TransformFromStorage(ctx, v, key); !errors.Is(err, ErrDecrypt) {
			t.Errorf("%s: %v, want ErrDecrypt", name, err)
		}
	}
	for name, keys := range map[string][]AESKey{
		"none":      nil,
		"bad name":  {{Name: "a:b", Secret: make([]byte, 32)}},
		"bad size":  {{Name: "a", Secret: make([]byte, 7)}},
		"duplicate": {testKey("a", 1), testKey("a", 2)},
	} {
		if _, err := NewAESGCMTransformer(keys, rand.Reader); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestParseKeys(t *testing.T) {
	good := FormatKeys([]AESKey{testKey("new", 2), testKey("old", 1)})
	keys, err := ParseKeys(good)
	if err != nil || len(keys) != 2 || keys[0].Name != "new" || !bytes.Equal(keys[1].Secret, testKey("old", 1).Secret) {
		t.Fatalf("%v %+v", err, keys)
	}
	for name, in := range map[string]string{
		"empty":      "# only a comment\n\n",
		"no colon":   "key1\n",
		"bad base64": "key1:!!!\n",
		"bad length": "key1:AAAA\n",
	} {
		if _, err := ParseKeys([]byte(in)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	// Every bad line is reported at once.
	_, err = ParseKeys([]byte("a\nb:!!\n"))
	if err == nil || !strings.Contains(err.Error(), "line 1") || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("want both lines reported: %v", err)
	}
}

func TestLoadOrCreateKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "encryption-keys")
	created, err := LoadOrCreateKeys(path, bytes.NewReader(bytes.Repeat([]byte{9}, 32)))
	if err != nil || len(created) != 1 || created[0].Name != "key1" {
		t.Fatalf("%v %+v", err, created)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v %v", st.Mode(), err)
	}
	loaded, err := LoadOrCreateKeys(path, rand.Reader)
	if err != nil || !bytes.Equal(loaded[0].Secret, created[0].Secret) {
		t.Fatalf("reload: %v", err)
	}
	if err := os.WriteFile(path, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateKeys(path, rand.Reader); err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("bad file: %v", err)
	}
}

func TestKeyPrefixTransformers(t *testing.T) {
	ctx := context.Background()
	aes, _ := NewAESGCMTransformer([]AESKey{testKey("k1", 1)}, rand.Reader)
	tr := SecretsEncryption(aes)
	out, _ := tr.TransformToStorage(ctx, []byte("x"), "/registry/secrets/ns/a")
	if !bytes.HasPrefix(out, []byte(AESGCMPrefix)) {
		t.Fatal("secret not encrypted")
	}
	out, _ = tr.TransformToStorage(ctx, []byte("x"), "/registry/secretsx/ns/a")
	if string(out) != "x" {
		t.Fatal("other prefix transformed")
	}
	if _, stale, _ := tr.TransformFromStorage(ctx, []byte("x"), "/registry/pods/ns/a"); stale {
		t.Fatal("plain pod reported stale")
	}
}

// FuzzAESGCMFromStorage: stored bytes never panic the decrypter, and only
// unprefixed values come back unchanged.
func FuzzAESGCMFromStorage(f *testing.F) {
	tr, _ := NewAESGCMTransformer([]AESKey{testKey("k1", 1)}, rand.Reader)
	enc, _ := tr.TransformToStorage(context.Background(), []byte("v"), "/k")
	f.Add(enc)
	f.Add([]byte("k8s:enc:aesgcm:v1:"))
	f.Add([]byte("plain"))
	f.Fuzz(func(t *testing.T, data []byte) {
		out, _, err := tr.TransformFromStorage(context.Background(), data, "/k")
		if err == nil && bytes.HasPrefix(data, []byte(AESGCMPrefix)) && bytes.Equal(out, data) {
			t.Fatal("an encrypted-looking value passed through unchanged")
		}
	})
}
