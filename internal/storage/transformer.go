package storage

import (
	"context"
	"strings"
)

// Transformer changes values on their way into and out of etcd (encryption
// at rest). key is the etcd key, which an implementation may bind into the
// ciphertext so a value cannot be moved to another key.
type Transformer interface {
	// TransformToStorage returns the bytes to store for data.
	TransformToStorage(ctx context.Context, data []byte, key string) ([]byte, error)
	// TransformFromStorage returns the plain value. stale reports that the
	// stored value should be rewritten (written without encryption or with
	// a key that is no longer the primary one).
	TransformFromStorage(ctx context.Context, data []byte, key string) (out []byte, stale bool, err error)
}

// IdentityTransformer stores values as they are.
type IdentityTransformer struct{}

var _ Transformer = IdentityTransformer{}

// TransformToStorage implements Transformer.
func (IdentityTransformer) TransformToStorage(_ context.Context, data []byte, _ string) ([]byte, error) {
	return data, nil
}

// TransformFromStorage implements Transformer.
func (IdentityTransformer) TransformFromStorage(_ context.Context, data []byte, _ string) ([]byte, bool, error) {
	return data, false, nil
}

// PrefixTransformer applies a Transformer to the keys under one prefix.
type PrefixTransformer struct {
	KeyPrefix   string // for example "/registry/secrets/"
	Transformer Transformer
}

// KeyPrefixTransformers picks the transformer of the first matching key
// prefix; keys that match none are stored as they are.
type KeyPrefixTransformers []PrefixTransformer

var _ Transformer = KeyPrefixTransformers(nil)

func (t KeyPrefixTransformers) pick(key string) Transformer {
	for _, p := range t {
		if strings.HasPrefix(key, p.KeyPrefix) {
			return p.Transformer
		}
	}
	return IdentityTransformer{}
}

// TransformToStorage implements Transformer.
func (t KeyPrefixTransformers) TransformToStorage(ctx context.Context, data []byte, key string) ([]byte, error) {
	return t.pick(key).TransformToStorage(ctx, data, key)
}

// TransformFromStorage implements Transformer.
func (t KeyPrefixTransformers) TransformFromStorage(ctx context.Context, data []byte, key string) ([]byte, bool, error) {
	return t.pick(key).TransformFromStorage(ctx, data, key)
}
