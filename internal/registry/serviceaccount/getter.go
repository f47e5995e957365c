package serviceaccount

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/peapod/peapod/internal/storage"
)

// StoreGetter reads ServiceAccounts straight from storage (for admission
// and token validation).
type StoreGetter struct{ store storage.Interface }

// NewStoreGetter returns a getter over store.
func NewStoreGetter(store storage.Interface) *StoreGetter { return &StoreGetter{store: store} }

// GetServiceAccount returns the ServiceAccount; a missing one is a
// NotFound API error (`serviceaccount "x" not found`, as kube's admission).
func (g *StoreGetter) GetServiceAccount(ctx context.Context, namespace, name string) (*corev1.ServiceAccount, error) {
	sa := &corev1.ServiceAccount{}
	if err := g.store.Get(ctx, "/registry/serviceaccounts/"+namespace+"/"+name, "", sa, false); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "serviceaccount"}, name)
		}
		return nil, fmt.Errorf("getting serviceaccount %s/%s: %w", namespace, name, err)
	}
	return sa, nil
}
