package storage

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"path"
	"strings"
)

// continueToken is the content of a list continue token, in the format
// kube-apiserver uses: the revision the first page was read at and the
// key, relative to the listed prefix, where the next page starts.
type continueToken struct {
	APIVersion      string `json:"v"`
	ResourceVersion int64  `json:"rv"`
	StartKey        string `json:"start"`
}

const continueTokenVersion = "meta.k8s.io/v1"

// ErrInvalidContinue is returned for a malformed continue token. It wraps
// ErrInvalidRV, so the API edge answers 400.
var ErrInvalidContinue = fmt.Errorf("invalid continue token: %w", ErrInvalidRV)

// encodeContinue returns the token that resumes a list of keyPrefix at
// nextKey (a full key under keyPrefix) and revision rv.
func encodeContinue(nextKey, keyPrefix string, rv int64) (string, error) {
	if !strings.HasPrefix(nextKey, keyPrefix) {
		return "", fmt.Errorf("continue key %q is not under %q", nextKey, keyPrefix)
	}
	out, err := json.Marshal(continueToken{APIVersion: continueTokenVersion, ResourceVersion: rv, StartKey: nextKey[len(keyPrefix):]})
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(out), nil
}

// decodeContinue returns the full key to resume at and the revision of
// the list. Tokens that are malformed or try to leave keyPrefix are
// rejected with ErrInvalidContinue.
func decodeContinue(token, keyPrefix string) (fromKey string, rv int64, err error) {
	data, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return "", 0, fmt.Errorf("continue token is not valid base64: %w", ErrInvalidContinue)
	}
	var c continueToken
	if err := json.Unmarshal(data, &c); err != nil {
		return "", 0, fmt.Errorf("continue token is not valid JSON: %w", ErrInvalidContinue)
	}
	if c.APIVersion != continueTokenVersion {
		return "", 0, fmt.Errorf("continue token version %q is not supported: %w", c.APIVersion, ErrInvalidContinue)
	}
	if c.ResourceVersion <= 0 {
		return "", 0, fmt.Errorf("continue token has no resource version: %w", ErrInvalidContinue)
	}
	if c.StartKey == "" {
		return "", 0, fmt.Errorf("continue token has no start key: %w", ErrInvalidContinue)
	}
	// Keep the key inside the prefix: "a/../../b" must not escape it.
	cleaned := path.Clean("/" + c.StartKey)
	if strings.Contains(c.StartKey, "..") || cleaned == "/" {
		return "", 0, fmt.Errorf("continue token start key %q is invalid: %w", c.StartKey, ErrInvalidContinue)
	}
	return keyPrefix + c.StartKey, c.ResourceVersion, nil
}
