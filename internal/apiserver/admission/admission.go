// Package admission is the API server's admission chain: mutating plugins
// run first, in order, then validating plugins. One file per plugin
// (defaults.go, serviceaccount.go, podpreset.go, noderestriction.go).
package admission

import (
	"context"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/peapod/peapod/internal/auth"
)

// Operation is the verb being admitted.
type Operation string

const (
	Create  Operation = "CREATE"
	Update  Operation = "UPDATE"
	Delete  Operation = "DELETE"
	Connect Operation = "CONNECT"
)

// Attributes describe the request being admitted. Object is the decoded,
// typed object (mutating plugins change it in place); OldObject is set on
// Update and Delete.
type Attributes struct {
	Operation   Operation
	Resource    schema.GroupVersionResource
	Kind        schema.GroupVersionKind
	Subresource string
	Namespace   string
	Name        string
	Object      runtime.Object
	OldObject   runtime.Object
	User        auth.User
	DryRun      bool
}

// MutationInterface changes objects. Errors that the client should see are
// k8s.io/apimachinery/pkg/api/errors values (e.g. NewInvalid, NewForbidden);
// any other error becomes 500.
type MutationInterface interface {
	Name() string
	Admit(ctx context.Context, a *Attributes) error
}

// ValidationInterface may reject objects but never changes them.
type ValidationInterface interface {
	Name() string
	Validate(ctx context.Context, a *Attributes) error
}

// Chain runs the plugins: every mutating plugin, then every validating one.
type Chain struct {
	Mutating   []MutationInterface
	Validating []ValidationInterface
}

// Admit runs the chain and returns the first error.
func (c *Chain) Admit(ctx context.Context, a *Attributes) error {
	for _, p := range c.Mutating {
		if err := p.Admit(ctx, a); err != nil {
			return err
		}
	}
	for _, p := range c.Validating {
		if err := p.Validate(ctx, a); err != nil {
			return err
		}
	}
	return nil
}
