package storage

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// AESGCMPrefix starts every value encrypted by AESGCMTransformer; the key
// name and a colon follow, then the 12-byte nonce and the ciphertext. It is
// the format of kube-apiserver's aesgcm provider.
const AESGCMPrefix = "k8s:enc:aesgcm:v1:"

// ErrDecrypt is returned when an encrypted value cannot be decrypted (an
// unknown key name or a corrupted value).
var ErrDecrypt = errors.New("cannot decrypt value")

// AESKey is one named encryption key (16, 24 or 32 bytes).
type AESKey struct {
	Name   string
	Secret []byte
}

var keyNameRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// AESGCMTransformer encrypts with the first key and decrypts with any of
// its keys. Values without the prefix are returned unchanged (and reported
// stale), so encryption can be switched on over existing plain data.
type AESGCMTransformer struct {
	rand    io.Reader
	primary string
	aeads   map[string]cipher.AEAD
}

var _ Transformer = (*AESGCMTransformer)(nil)

// NewAESGCMTransformer returns a transformer over keys (the first encrypts).
// rand supplies nonces (crypto/rand.Reader in production).
func NewAESGCMTransformer(keys []AESKey, rand io.Reader) (*AESGCMTransformer, error) {
	if len(keys) == 0 {
		return nil, errors.New("aesgcm: no keys")
	}
	t := &AESGCMTransformer{rand: rand, primary: keys[0].Name, aeads: map[string]cipher.AEAD{}}
	var errs []error
	for _, k := range keys {
		if !keyNameRE.MatchString(k.Name) {
			errs = append(errs, fmt.Errorf("aesgcm: key name %q: must match %s", k.Name, keyNameRE))
			continue
		}
		if _, dup := t.aeads[k.Name]; dup {
			errs = append(errs, fmt.Errorf("aesgcm: key name %q appears twice", k.Name))
			continue
		}
		block, err := aes.NewCipher(k.Secret)
		if err != nil {
			errs = append(errs, fmt.Errorf("aesgcm: key %q: %w", k.Name, err))
			continue
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			errs = append(errs, fmt.Errorf("aesgcm: key %q: %w", k.Name, err))
			continue
		}
		t.aeads[k.Name] = aead
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return t, nil
}

// PrimaryKey is the name of the key that encrypts.
func (t *AESGCMTransformer) PrimaryKey() string { return t.primary }

// TransformToStorage implements Transformer. The etcd key is the
// additional authenticated data.
func (t *AESGCMTransformer) TransformToStorage(_ context.Context, data []byte, key string) ([]byte, error) {
	aead := t.aeads[t.primary]
	prefix := AESGCMPrefix + t.primary + ":"
	out := make([]byte, len(prefix)+aead.NonceSize(), len(prefix)+aead.NonceSize()+len(data)+aead.Overhead())
	copy(out, prefix)
	nonce := out[len(prefix):]
	if _, err := io.ReadFull(t.rand, nonce); err != nil {
		return nil, fmt.Errorf("aesgcm: reading nonce: %w", err)
	}
	return aead.Seal(out, nonce, data, []byte(key)), nil
}

// TransformFromStorage implements Transformer.
func (t *AESGCMTransformer) TransformFromStorage(_ context.Context, data []byte, key string) ([]byte, bool, error) {
	if !bytes.HasPrefix(data, []byte(AESGCMPrefix)) {
		return data, true, nil
	}
	rest := data[len(AESGCMPrefix):]
	i := bytes.IndexByte(rest, ':')
	if i < 0 {
		return nil, false, fmt.Errorf("%w: no key name", ErrDecrypt)
	}
	name := string(rest[:i])
	aead, ok := t.aeads[name]
	if !ok {
		return nil, false, fmt.Errorf("%w: unknown key %q", ErrDecrypt, name)
	}
	sealed := rest[i+1:]
	if len(sealed) < aead.NonceSize()+aead.Overhead() {
		return nil, false, fmt.Errorf("%w: value too short", ErrDecrypt)
	}
	plain, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], []byte(key))
	if err != nil {
		return nil, false, fmt.Errorf("%w with key %q: %v", ErrDecrypt, name, err)
	}
	return plain, name != t.primary, nil
}

// ParseKeys reads the keys file format: one key per line,
// "<name>:<base64 of 32 random bytes>"; blank lines and lines starting with
// # are ignored. The first key encrypts, every key decrypts.
func ParseKeys(data []byte) ([]AESKey, error) {
	var (
		keys []AESKey
		errs []error
	)
	for n, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, b64, ok := strings.Cut(line, ":")
		if !ok {
			errs = append(errs, fmt.Errorf("line %d: want <name>:<base64 key>", n+1))
			continue
		}
		secret, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
		if err != nil {
			errs = append(errs, fmt.Errorf("line %d: key %q: %w", n+1, name, err))
			continue
		}
		if l := len(secret); l != 16 && l != 24 && l != 32 {
			errs = append(errs, fmt.Errorf("line %d: key %q: %d bytes, want 16, 24 or 32", n+1, name, l))
			continue
		}
		keys = append(keys, AESKey{Name: strings.TrimSpace(name), Secret: secret})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(keys) == 0 {
		return nil, errors.New("no keys")
	}
	return keys, nil
}

// FormatKeys writes keys in the format ParseKeys reads.
func FormatKeys(keys []AESKey) []byte {
	var b strings.Builder
	b.WriteString("# peapod encryption keys for Secrets at rest (AES-GCM).\n")
	b.WriteString("# The first key encrypts; every key decrypts. See docs/storage.md.\n")
	for _, k := range keys {
		fmt.Fprintf(&b, "%s:%s\n", k.Name, base64.StdEncoding.EncodeToString(k.Secret))
	}
	return []byte(b.String())
}

// LoadOrCreateKeys reads the keys file at path, creating it (mode 0600)
// with one new 32-byte key named "key1" from rand when it does not exist.
func LoadOrCreateKeys(path string, rand io.Reader) ([]AESKey, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		secret := make([]byte, 32)
		if _, err := io.ReadFull(rand, secret); err != nil {
			return nil, fmt.Errorf("generating encryption key: %w", err)
		}
		keys := []AESKey{{Name: "key1", Secret: secret}}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("creating %s: %w", path, err)
		}
		if _, err := f.Write(FormatKeys(keys)); err != nil {
			f.Close()
			return nil, fmt.Errorf("writing %s: %w", path, err)
		}
		if err := f.Close(); err != nil {
			return nil, err
		}
		return keys, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	keys, err := ParseKeys(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return keys, nil
}

// SecretsEncryption returns the transformer the server installs: AES-GCM
// for keys under /registry/secrets/, identity elsewhere.
func SecretsEncryption(t *AESGCMTransformer) KeyPrefixTransformers {
	return KeyPrefixTransformers{{KeyPrefix: "/registry/secrets/", Transformer: t}}
}
