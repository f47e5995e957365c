package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"strings"
	"time"
)

// Service account tokens are ES256 JWTs shaped like Kubernetes' bound
// service account tokens.

// DefaultIssuer is the "iss" of tokens peapod issues.
const DefaultIssuer = "https://kubernetes.default.svc.cluster.local"

// ServiceAccountPrefix starts the user name of a service account.
const ServiceAccountPrefix = "system:serviceaccount:"

// ErrInvalidToken is returned for tokens that do not verify.
var ErrInvalidToken = errors.New("invalid token")

// SAClaims are the claims of a service account token.
type SAClaims struct {
	Issuer    string    `json:"iss"`
	Subject   string    `json:"sub"`
	Audience  []string  `json:"aud"`
	Expiry    int64     `json:"exp"`
	IssuedAt  int64     `json:"iat"`
	NotBefore int64     `json:"nbf"`
	ID        string    `json:"jti,omitempty"`
	K8s       K8sClaims `json:"kubernetes.io"`
}

// K8sClaims is the private "kubernetes.io" claim.
type K8sClaims struct {
	Namespace      string `json:"namespace"`
	ServiceAccount Ref    `json:"serviceaccount"`
	Pod            *Ref   `json:"pod,omitempty"`
	Node           *Ref   `json:"node,omitempty"`
}

// Ref names an object by name and uid.
type Ref struct {
	Name string `json:"name"`
	UID  string `json:"uid"`
}

// TokenIssuer signs and verifies service account tokens with one ECDSA
// P-256 key kept in the data dir.
type TokenIssuer struct {
	key    *ecdsa.PrivateKey
	kid    string
	Issuer string
}

// EnsureTokenIssuer loads the signing key at path, generating it on first start.
func EnsureTokenIssuer(path string) (*TokenIssuer, error) {
	var signer crypto.Signer
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		blk, _ := pem.Decode(b)
		if blk == nil {
			return nil, fmt.Errorf("%s: not PEM", path)
		}
		if signer, err = parseKey(blk.Bytes); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	case errors.Is(err, os.ErrNotExist):
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		if err := writeKey(path, k); err != nil {
			return nil, err
		}
		signer = k
	default:
		return nil, err
	}
	key, ok := signer.(*ecdsa.PrivateKey)
	if !ok || key.Curve != elliptic.P256() {
		return nil, fmt.Errorf("%s: want an ECDSA P-256 key", path)
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(pub)
	return &TokenIssuer{key: key, kid: base64.RawURLEncoding.EncodeToString(sum[:]), Issuer: DefaultIssuer}, nil
}

// PublicKey returns the verification key (for a JWKS document).
func (t *TokenIssuer) PublicKey() *ecdsa.PublicKey { return &t.key.PublicKey }

// KeyID is the "kid" header of issued tokens.
func (t *TokenIssuer) KeyID() string { return t.kid }

// Issue signs claims; Issuer is filled in when empty.
func (t *TokenIssuer) Issue(c SAClaims) (string, error) {
	if c.Issuer == "" {
		c.Issuer = t.Issuer
	}
	hdr, _ := json.Marshal(map[string]string{"alg": "ES256", "kid": t.kid, "typ": "JWT"})
	body, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	signing := b64(hdr) + "." + b64(body)
	sum := sha256.Sum256([]byte(signing))
	r, s, err := ecdsa.Sign(rand.Reader, t.key, sum[:])
	if err != nil {
		return "", err
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return signing + "." + b64(sig), nil
}

// Verify checks the signature, issuer and time window of token at now and
// returns its claims.
func (t *TokenIssuer) Verify(token string, now time.Time) (*SAClaims, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, ErrInvalidToken
	}
	hdrJSON, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	body, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	sig, err3 := base64.RawURLEncoding.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil || len(sig) != 64 {
		return nil, ErrInvalidToken
	}
	var hdr struct{ Alg string }
	if json.Unmarshal(hdrJSON, &hdr) != nil || hdr.Alg != "ES256" {
		return nil, ErrInvalidToken
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	if !ecdsa.Verify(&t.key.PublicKey, sum[:], r, s) {
		return nil, ErrInvalidToken
	}
	var c SAClaims
	if err := json.Unmarshal(body, &c); err != nil {
		return nil, ErrInvalidToken
	}
	if c.Issuer != t.Issuer {
		return nil, fmt.Errorf("%w: issuer %q", ErrInvalidToken, c.Issuer)
	}
	if now.Unix() >= c.Expiry {
		return nil, fmt.Errorf("%w: expired", ErrInvalidToken)
	}
	if c.NotBefore != 0 && now.Unix()+60 < c.NotBefore {
		return nil, fmt.Errorf("%w: not yet valid", ErrInvalidToken)
	}
	return &c, nil
}

// ServiceAccountUser is the identity of a verified token.
func ServiceAccountUser(c *SAClaims) User {
	ns, name := c.K8s.Namespace, c.K8s.ServiceAccount.Name
	u := User{
		Name:   ServiceAccountPrefix + ns + ":" + name,
		UID:    c.K8s.ServiceAccount.UID,
		Groups: []string{GroupServiceAccounts, GroupServiceAccounts + ":" + ns, GroupAuthenticated},
	}
	if c.K8s.Pod != nil {
		u.Extra = map[string][]string{
			"authentication.kubernetes.io/pod-name": {c.K8s.Pod.Name},
			"authentication.kubernetes.io/pod-uid":  {c.K8s.Pod.UID},
		}
	}
	return u
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
