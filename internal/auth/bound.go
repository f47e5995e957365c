package auth

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// ErrTokenInvalidated is returned for a well-signed token whose service
// account or bound pod is gone, recreated (other UID) or being deleted.
var ErrTokenInvalidated = errors.New("service account token has been invalidated")

// ObjectState is what token validation needs to know about an object.
type ObjectState struct {
	UID      string
	Deleting bool // deletionTimestamp set
}

// BoundObjects looks up the objects a token is bound to. A missing object
// is (ObjectState{}, false, nil); err is for lookups that failed.
type BoundObjects interface {
	ServiceAccount(ctx context.Context, namespace, name string) (ObjectState, bool, error)
	Pod(ctx context.Context, namespace, name string) (ObjectState, bool, error)
}

// CheckBound re-checks, as kube's validator does, that the token's
// service account and bound pod still exist with the same UID and are not
// being deleted, and that the token is meant for the API (audience).
func CheckBound(ctx context.Context, objs BoundObjects, c *SAClaims, apiAudience string) error {
	if apiAudience != "" && !slices.Contains(c.Audience, apiAudience) {
		return fmt.Errorf("%w: token audiences %q do not include %q", ErrInvalidToken, c.Audience, apiAudience)
	}
	if objs == nil {
		return nil
	}
	ns := c.K8s.Namespace
	st, ok, err := objs.ServiceAccount(ctx, ns, c.K8s.ServiceAccount.Name)
	if err != nil {
		return err
	}
	if !ok || st.Deleting || (c.K8s.ServiceAccount.UID != "" && st.UID != c.K8s.ServiceAccount.UID) {
		return fmt.Errorf("%w: service account %s/%s", ErrTokenInvalidated, ns, c.K8s.ServiceAccount.Name)
	}
	if p := c.K8s.Pod; p != nil {
		st, ok, err := objs.Pod(ctx, ns, p.Name)
		if err != nil {
			return err
		}
		if !ok || st.Deleting || st.UID != p.UID {
			return fmt.Errorf("%w: pod %s/%s", ErrTokenInvalidated, ns, p.Name)
		}
	}
	return nil
}
