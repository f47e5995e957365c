package apiserver

import (
	"context"
	"reflect"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/validation/path"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/peapod/peapod/internal/apiserver/admission"
	"github.com/peapod/peapod/internal/auth"
	"github.com/peapod/peapod/internal/registry"
)

// prepareCreateMeta sets what the server owns on a new object (after
// k8s.io/apiserver rest.BeforeCreate): namespace, uid, creationTimestamp,
// generation, a name from generateName; it clears what clients may not set.
func prepareCreateMeta(res *registry.Resource, obj runtime.Object, acc metav1.Object, namespace string, now time.Time) error {
	if res.Namespaced {
		if acc.GetNamespace() == "" {
			acc.SetNamespace(namespace)
		} else if acc.GetNamespace() != namespace {
			return badRequest("the namespace of the provided object does not match the namespace sent on the request")
		}
	} else {
		acc.SetNamespace("")
	}
	if acc.GetName() == "" && acc.GetGenerateName() != "" {
		acc.SetName(generateName(acc.GetGenerateName()))
	}
	acc.SetUID(uuid.NewUUID())
	acc.SetCreationTimestamp(metav1.NewTime(now.Truncate(time.Second)))
	acc.SetResourceVersion("")
	acc.SetDeletionTimestamp(nil)
	acc.SetDeletionGracePeriodSeconds(nil)
	acc.SetSelfLink("")
	acc.SetGeneration(0)
	if _, ok := specOf(obj); ok {
		acc.SetGeneration(1) // kinds with a spec track its changes
	}
	return nil
}

// generateName appends 5 random characters to base (cut to fit 63).
func generateName(base string) string {
	const maxGeneratedNameLength = 63 - 5
	if len(base) > maxGeneratedNameLength {
		base = base[:maxGeneratedNameLength]
	}
	return base + utilrand.String(5)
}

// validateName checks what the storage key needs before the strategy
// validates the rest: a name that is a valid path segment.
func validateName(kind string, name string, generateName string) field.ErrorList {
	var errs field.ErrorList
	p := field.NewPath("metadata", "name")
	if name == "" {
		if generateName == "" {
			errs = append(errs, field.Required(p, "name or generateName is required"))
		}
		return errs
	}
	for _, msg := range path.IsValidPathSegmentName(name) {
		errs = append(errs, field.Invalid(p, name, msg))
	}
	if strings.ContainsAny(name, "\x00") {
		errs = append(errs, field.Invalid(p, name, "may not contain NUL"))
	}
	return errs
}

// prepareUpdateMeta copies the server-owned metadata of old into obj
// (rest.BeforeUpdate) and bumps generation when the object outside
// metadata and status changed.
func prepareUpdateMeta(acc, oldAcc metav1.Object, obj, old runtime.Object, mainResource bool) {
	acc.SetUID(oldAcc.GetUID())
	acc.SetCreationTimestamp(oldAcc.GetCreationTimestamp())
	acc.SetDeletionTimestamp(oldAcc.GetDeletionTimestamp())
	acc.SetDeletionGracePeriodSeconds(oldAcc.GetDeletionGracePeriodSeconds())
	acc.SetNamespace(oldAcc.GetNamespace())
	acc.SetSelfLink("")
	if acc.GetGenerateName() == "" {
		acc.SetGenerateName(oldAcc.GetGenerateName())
	}
	gen := oldAcc.GetGeneration()
	if mainResource && specChanged(obj, old) && gen > 0 {
		gen++
	}
	acc.SetGeneration(gen)
}

// specOf returns the object's Spec field, if its type has one.
func specOf(obj runtime.Object) (reflect.Value, bool) {
	v := reflect.ValueOf(obj)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return reflect.Value{}, false
	}
	f := v.Elem().FieldByName("Spec")
	return f, f.IsValid()
}

// specChanged reports whether obj's spec differs from old's. Kinds without
// a spec (ConfigMap, Secret, ...) have no generation to bump.
func specChanged(obj, old runtime.Object) bool {
	a, ok1 := specOf(obj)
	b, ok2 := specOf(old)
	if !ok1 || !ok2 {
		return false
	}
	return !equality.Semantic.DeepEqual(a.Interface(), b.Interface())
}

// shouldDeleteOnUpdate: an object already marked for deletion whose last
// finalizer was removed (and whose grace period has run out) goes away.
func shouldDeleteOnUpdate(acc metav1.Object, obj runtime.Object) bool {
	if acc.GetDeletionTimestamp() == nil || len(acc.GetFinalizers()) > 0 || len(specFinalizers(obj)) > 0 {
		return false
	}
	g := acc.GetDeletionGracePeriodSeconds()
	return g == nil || *g == 0
}

// specFinalizers are a namespace's spec.finalizers (the namespace
// controller's), which hold a namespace like metadata finalizers.
func specFinalizers(obj runtime.Object) []corev1.FinalizerName {
	if ns, ok := obj.(*corev1.Namespace); ok {
		return ns.Spec.Finalizers
	}
	return nil
}

// admit runs the admission chain.
func (s *Server) admit(ctx context.Context, rq *request, op admission.Operation, obj, old runtime.Object, dry bool) error {
	u, _ := auth.UserFrom(ctx)
	acc, _ := meta.Accessor(obj)
	ns, name := rq.info.Namespace, rq.info.Name
	if acc != nil {
		ns, name = acc.GetNamespace(), acc.GetName()
	}
	return s.cfg.Admission.Admit(ctx, &admission.Attributes{
		Operation: op, Resource: rq.res.GVR, Kind: rq.res.GVK(), Subresource: rq.info.Subresource,
		Namespace: ns, Name: name, Object: obj, OldObject: old, User: u, DryRun: dry,
	})
}
