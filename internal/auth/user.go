// Package auth holds peapod's security pieces: the PKI generated on first
// start, bearer-token authentication, service account tokens and the
// authorizer.
package auth

import "context"

// Well-known groups and users.
const (
	GroupMasters         = "system:masters"
	GroupNodes           = "system:nodes"
	GroupAuthenticated   = "system:authenticated"
	GroupServiceAccounts = "system:serviceaccounts"
	NodeUserPrefix       = "system:node:"
	AdminUser            = "admin"
)

// User is an authenticated identity.
type User struct {
	Name   string
	UID    string
	Groups []string
	Extra  map[string][]string
}

type userKey struct{}

// WithUser returns ctx carrying u.
func WithUser(ctx context.Context, u User) context.Context {
	return context.WithValue(ctx, userKey{}, u)
}

// UserFrom returns the user in ctx, if any.
func UserFrom(ctx context.Context) (User, bool) {
	u, ok := ctx.Value(userKey{}).(User)
	return u, ok
}
