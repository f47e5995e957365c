// Package storage keeps API objects in etcd.
//
// Keys are /registry/<resource>/<namespace>/<name> for namespaced resources
// and /registry/<resource>/<name> for cluster-scoped ones (the "group" of a
// non-core resource is not part of the key, as in kube-apiserver, except
// where two groups share a resource name). The resourceVersion of an object
// is the etcd ModRevision of its key; the resourceVersion of a list is the
// etcd revision the list was read at.
//
// The semantics follow k8s.io/apiserver/pkg/storage.Interface, simplified.
package storage

import (
	"context"
	"errors"

	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
)

// Sentinel errors. Implementations wrap them with the key (fmt.Errorf("%q: %w", key, ErrNotFound));
// callers test with errors.Is and the API edge maps them to metav1.Status once.
var (
	ErrNotFound  = errors.New("not found")                // 404
	ErrKeyExists = errors.New("already exists")           // 409 AlreadyExists
	ErrConflict  = errors.New("conflict")                 // 409 Conflict: resourceVersion or UID precondition failed
	ErrExpired   = errors.New("resource expired")         // 410 Gone/Expired: the requested resourceVersion was compacted
	ErrTooLarge  = errors.New("object too large")         // 413 RequestEntityTooLarge
	ErrTimeout   = errors.New("storage timeout")          // 504/500
	ErrInvalidRV = errors.New("invalid resource version") // 400
)

// Preconditions must hold for a delete or update to proceed; a failed
// precondition returns ErrConflict.
type Preconditions struct {
	UID             *types.UID
	ResourceVersion *string
}

// SelectionPredicate filters objects by label and field selectors.
// GetAttrs returns the object's labels and selectable fields (for example
// metadata.name, metadata.namespace, spec.nodeName, status.phase).
type SelectionPredicate struct {
	Label    labels.Selector
	Field    fields.Selector
	GetAttrs func(obj runtime.Object) (labels.Set, fields.Set, error)
	// Limit and Continue implement chunked lists; Limit 0 means all.
	Limit    int64
	Continue string
}

// Empty reports whether the predicate selects everything.
func (p SelectionPredicate) Empty() bool {
	return (p.Label == nil || p.Label.Empty()) && (p.Field == nil || p.Field.Empty())
}

// Matches reports whether obj is selected by p.
func (p SelectionPredicate) Matches(obj runtime.Object) (bool, error) {
	if p.Empty() {
		return true, nil
	}
	if p.GetAttrs == nil {
		return false, errors.New("selection predicate has selectors but no GetAttrs")
	}
	ls, fs, err := p.GetAttrs(obj)
	if err != nil {
		return false, err
	}
	if p.Label != nil && !p.Label.Matches(ls) {
		return false, nil
	}
	if p.Field != nil && !p.Field.Matches(fs) {
		return false, nil
	}
	return true, nil
}

// ListOptions are the options of GetList and Watch.
type ListOptions struct {
	// ResourceVersion as in the Kubernetes API: "" = most recent (quorum read),
	// "0" = any (the watch cache may serve it), otherwise "not older than" for
	// lists and "start after" for watches.
	ResourceVersion string
	// ResourceVersionMatch: "", "NotOlderThan" or "Exact".
	ResourceVersionMatch string
	Predicate            SelectionPredicate
	// Recursive lists or watches every key under the prefix (a collection).
	Recursive bool
	// ProgressNotify asks the watch to send BOOKMARK events (allowWatchBookmarks).
	ProgressNotify bool
	// SendInitialEvents (watch only): start with ADDED events for the current
	// state, then a BOOKMARK annotated k8s.io/initial-events-end: "true".
	SendInitialEvents *bool
}

// UpdateFunc computes the new object from the current one. Returning an
// error aborts the update and returns that error unchanged.
type UpdateFunc func(current runtime.Object) (updated runtime.Object, err error)

// ValidateDeleteFunc may veto a delete after reading the current object.
type ValidateDeleteFunc func(ctx context.Context, current runtime.Object) error

// Interface is the object store. Objects are typed (registered in the
// store's scheme); out arguments are filled in with what was stored,
// including metadata.resourceVersion.
type Interface interface {
	// Create stores obj at key. It fails with ErrKeyExists if the key exists.
	// obj must have an empty resourceVersion.
	Create(ctx context.Context, key string, obj, out runtime.Object) error

	// Get reads key into out. ErrNotFound if absent (unless ignoreNotFound,
	// then out is left zero). opts.ResourceVersion as in ListOptions.
	Get(ctx context.Context, key string, resourceVersion string, out runtime.Object, ignoreNotFound bool) error

	// GetList reads every object under the prefix key (opts.Recursive) or the
	// single object at key into listObj (a *XxxList), applying the predicate,
	// and sets the list's resourceVersion (and continue token with Limit).
	GetList(ctx context.Context, key string, opts ListOptions, listObj runtime.Object) error

	// GuaranteedUpdate reads key, calls tryUpdate, and writes the result if the
	// key did not change meanwhile, retrying tryUpdate on a race. If
	// preconditions are set and fail, it returns ErrConflict without retrying.
	// An object whose resourceVersion (as returned by tryUpdate) is set and
	// differs from the stored one is a conflict (ErrConflict), as an Update
	// with a stale resourceVersion is in Kubernetes. If the update does not
	// change the object, nothing is written and out holds the current object.
	GuaranteedUpdate(ctx context.Context, key string, out runtime.Object, ignoreNotFound bool,
		preconditions *Preconditions, tryUpdate UpdateFunc) error

	// Delete removes key, filling out with the last state. ErrNotFound if
	// absent, ErrConflict if preconditions fail.
	Delete(ctx context.Context, key string, out runtime.Object, preconditions *Preconditions,
		validate ValidateDeleteFunc) error

	// Watch streams changes under key (a prefix when opts.Recursive) after
	// opts.ResourceVersion. "" or "0" starts with synthetic ADDED events for
	// the current state. Objects that stop or start matching the predicate
	// are delivered as DELETED or ADDED. A compacted resourceVersion yields
	// ErrExpired (before the watch starts) or an ERROR event carrying a 410
	// Status. Many watchers share one etcd watch through the watch cache.
	Watch(ctx context.Context, key string, opts ListOptions) (watch.Interface, error)

	// Versioner-like helper: the current etcd revision.
	CurrentRevision(ctx context.Context) (int64, error)
}
