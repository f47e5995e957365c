package objects

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	authv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// maxTokenAge renews tokens older than this whatever their expiry.
const maxTokenAge = 24 * time.Hour

// tokenCache holds issued tokens by request and renews them as the
// kubelet's token manager does: past 80% of the life, or after 24 h.
type tokenCache struct {
	client kubernetes.Interface
	now    func() time.Time

	mu     sync.Mutex
	tokens map[string]cachedToken
}

type cachedToken struct {
	tr       *authv1.TokenRequest
	obtained time.Time
}

func newTokenCache(client kubernetes.Interface, now func() time.Time) *tokenCache {
	return &tokenCache{client: client, now: now, tokens: map[string]cachedToken{}}
}

// RequestToken returns a cached token for the request, or a new one from
// serviceaccounts/<sa>/token.
func (s *Source) RequestToken(namespace, sa string, req *authv1.TokenRequest) (*authv1.TokenRequest, error) {
	return s.tokens.get(namespace, sa, req)
}

func tokenKey(ns, sa string, req *authv1.TokenRequest) string {
	var exp int64
	if req.Spec.ExpirationSeconds != nil {
		exp = *req.Spec.ExpirationSeconds
	}
	var bound string
	if r := req.Spec.BoundObjectRef; r != nil {
		bound = r.Kind + "/" + r.Name + "/" + string(r.UID)
	}
	return fmt.Sprintf("%s/%s/%s/%d/%s", ns, sa, strings.Join(req.Spec.Audiences, ","), exp, bound)
}

// needsRenewal: past 80% of the token's life, or older than 24 h.
func needsRenewal(t cachedToken, now time.Time) bool {
	exp := t.tr.Status.ExpirationTimestamp.Time
	life := exp.Sub(t.obtained)
	return now.After(t.obtained.Add(life*8/10)) || now.Sub(t.obtained) > maxTokenAge
}

func (c *tokenCache) get(ns, sa string, req *authv1.TokenRequest) (*authv1.TokenRequest, error) {
	key := tokenKey(ns, sa, req)
	now := c.now()
	c.mu.Lock()
	t, ok := c.tokens[key]
	for k, old := range c.tokens {
		if now.After(old.tr.Status.ExpirationTimestamp.Time) {
			delete(c.tokens, k)
		}
	}
	c.mu.Unlock()
	if ok && !needsRenewal(t, now) {
		return t.tr, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tr, err := c.client.CoreV1().ServiceAccounts(ns).CreateToken(ctx, sa, req, metav1.CreateOptions{})
	if err != nil {
		if ok && now.Before(t.tr.Status.ExpirationTimestamp.Time) {
			return t.tr, nil // still valid: keep it and try again next time
		}
		return nil, fmt.Errorf("requesting a token for service account %s/%s: %w", ns, sa, err)
	}
	c.mu.Lock()
	c.tokens[key] = cachedToken{tr: tr, obtained: now}
	c.mu.Unlock()
	return tr, nil
}
