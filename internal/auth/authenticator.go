package auth

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"
	"time"
)

// ErrUnauthenticated means the request carried no valid credentials.
var ErrUnauthenticated = errors.New("unauthenticated")

// NodeNameHeader names the node a request made with the node join token
// speaks for. The node token already grants the system:nodes group; the
// header only picks the user name system:node:<name>.
const NodeNameHeader = "X-Peapod-Node-Name"

// TokenAuthenticator authenticates bearer tokens: the admin token, the node
// join token and service account JWTs.
type TokenAuthenticator struct {
	AdminToken string
	NodeToken  string
	Issuer     *TokenIssuer // may be nil
	// Bound re-checks service account tokens against the live service
	// account and bound pod; nil skips the check (tests).
	Bound BoundObjects
	Now   func() time.Time
}

// AuthenticateRequest returns the user a request authenticates as.
func (a *TokenAuthenticator) AuthenticateRequest(r *http.Request) (User, error) {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		if tok, ok = strings.CutPrefix(h, "bearer "); !ok {
			return User{}, ErrUnauthenticated
		}
	}
	tok = strings.TrimSpace(tok)
	if tok == "" {
		return User{}, ErrUnauthenticated
	}
	if a.AdminToken != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(a.AdminToken)) == 1 {
		return User{Name: AdminUser, Groups: []string{GroupMasters, GroupAuthenticated}}, nil
	}
	if a.NodeToken != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(a.NodeToken)) == 1 {
		name := r.Header.Get(NodeNameHeader)
		if name == "" {
			name = "unknown"
		}
		return User{Name: NodeUserPrefix + name, Groups: []string{GroupNodes, GroupAuthenticated}}, nil
	}
	if a.Issuer != nil && strings.Count(tok, ".") == 2 {
		now := time.Now
		if a.Now != nil {
			now = a.Now
		}
		c, err := a.Issuer.Verify(tok, now())
		if err == nil {
			err = CheckBound(r.Context(), a.Bound, c, a.Issuer.Issuer)
		}
		if err == nil {
			return ServiceAccountUser(c), nil
		}
	}
	return User{}, ErrUnauthenticated
}
