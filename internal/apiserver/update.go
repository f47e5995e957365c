package apiserver

import (
	"context"
	"errors"
	"net/http"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/peapod/peapod/internal/apiserver/admission"
	"github.com/peapod/peapod/internal/registry"
	"github.com/peapod/peapod/internal/storage"
)

// serveUpdate answers PUT of an object or of its status, finalize or
// ephemeralcontainers subresource.
func (s *Server) serveUpdate(rq *request, sub string) {
	wo, body, err := s.readWrite(rq)
	if err != nil {
		rq.fail(err)
		return
	}
	obj, warnings, err := s.decoder().decode(body, mediaType(rq.r), rq.res.GVK(), rq.res.New(), wo.validation)
	if err != nil {
		rq.fail(err)
		return
	}
	if n := nameOf(obj); n != rq.info.Name {
		rq.fail(badRequest("the name of the object (%s) does not match the name on the URL (%s)", n, rq.info.Name))
		return
	}
	ctx := rq.r.Context()
	if sub == "" && rq.res.Strategy.AllowCreateOnUpdate() {
		cur := rq.res.New()
		err := s.cfg.Storage.Get(ctx, objectKey(rq.res, rq.info.Namespace, rq.info.Name), "", cur, false)
		if errors.Is(err, storage.ErrNotFound) {
			out, err := s.create(ctx, rq, obj, wo, true)
			if err != nil {
				rq.fail(err)
				return
			}
			writeWarnings(rq.w, warnings)
			s.respond(rq, http.StatusCreated, out)
			return
		}
	}
	out, err := s.update(ctx, rq, sub, wo, func(runtime.Object) (runtime.Object, error) { return obj.DeepCopyObject(), nil }, true)
	if err != nil {
		rq.fail(err)
		return
	}
	writeWarnings(rq.w, warnings)
	s.respond(rq, http.StatusOK, out)
}

// computeFunc returns the object a request asks for, given the current one.
// It must not change current and must return a fresh object each call.
type computeFunc func(current runtime.Object) (runtime.Object, error)

// update runs the update pipeline inside storage's GuaranteedUpdate:
// compute, server metadata, PrepareForUpdate (or the status split),
// admission, validation, managedFields. updateManaged is false for
// server-side apply, which maintains managedFields itself.
func (s *Server) update(ctx context.Context, rq *request, sub string, wo writeOptions, compute computeFunc, updateManaged bool) (runtime.Object, error) {
	try := func(current runtime.Object) (runtime.Object, error) {
		obj, err := compute(current)
		if err != nil {
			return nil, err
		}
		return s.prepareUpdate(ctx, rq, sub, wo, obj, current, updateManaged)
	}
	key := objectKey(rq.res, rq.info.Namespace, rq.info.Name)
	if wo.dryRun {
		cur := rq.res.New()
		if err := s.cfg.Storage.Get(ctx, key, "", cur, false); err != nil {
			return nil, err
		}
		return try(cur)
	}
	out := rq.res.New()
	if err := s.cfg.Storage.GuaranteedUpdate(ctx, key, out, false, nil, try); err != nil {
		return nil, err
	}
	if acc, err := meta.Accessor(out); err == nil && shouldDeleteOnUpdate(acc, out) {
		rv := acc.GetResourceVersion()
		uid := acc.GetUID()
		gone := rq.res.New()
		err := s.cfg.Storage.Delete(ctx, key, gone, &storage.Preconditions{UID: &uid, ResourceVersion: &rv}, nil)
		if err != nil && !errors.Is(err, storage.ErrNotFound) && !errors.Is(err, storage.ErrConflict) {
			return nil, err
		}
	}
	return out, nil
}

func (s *Server) prepareUpdate(ctx context.Context, rq *request, sub string, wo writeOptions, obj, current runtime.Object, updateManaged bool) (runtime.Object, error) {
	acc, err := meta.Accessor(obj)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	oldAcc, err := meta.Accessor(current)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	if rv := acc.GetResourceVersion(); rv != "" && rv != oldAcc.GetResourceVersion() {
		return nil, apierrors.NewConflict(rq.gr, rq.info.Name, errors.New(conflictMessage))
	}
	if acc.GetName() != rq.info.Name {
		return nil, badRequest("the name of the object (%s) does not match the name on the URL (%s)", acc.GetName(), rq.info.Name)
	}
	if rq.res.Namespaced && acc.GetNamespace() != "" && acc.GetNamespace() != rq.info.Namespace {
		return nil, badRequest("the namespace of the provided object does not match the namespace sent on the request")
	}
	if oldAcc.GetUID() != "" && acc.GetUID() != "" && acc.GetUID() != oldAcc.GetUID() {
		return nil, apierrors.NewConflict(rq.gr, rq.info.Name, errors.New("Precondition failed: UID in precondition: "+string(acc.GetUID())+", UID in object meta: "+string(oldAcc.GetUID())))
	}
	prepareUpdateMeta(acc, oldAcc, obj, current, sub == "")
	if sub == "binding" {
		// the binding subresource changes spec.nodeName only; it bypasses
		// the pod's update validation, as kube's BindingREST does
		return s.manage(rq, "", wo, acc, obj, current, updateManaged)
	}
	var errs field.ErrorList
	switch sub {
	case "":
		rq.res.Strategy.PrepareForUpdate(ctx, obj, current)
	case "status":
		ss, ok := rq.res.Strategy.(registry.StatusStrategy)
		if !ok {
			return nil, apierrors.NewMethodNotSupported(rq.gr, "update status")
		}
		ss.PrepareForStatusUpdate(ctx, obj, current)
	case "finalize":
		obj = finalizeOnly(obj, current)
		if acc, err = meta.Accessor(obj); err != nil {
			return nil, apierrors.NewInternalError(err)
		}
	case "ephemeralcontainers":
		es, ok := rq.res.Strategy.(registry.EphemeralContainersStrategy)
		if !ok {
			return nil, apierrors.NewMethodNotSupported(rq.gr, "update ephemeralcontainers")
		}
		es.PrepareForEphemeralContainersUpdate(ctx, obj, current)
	}
	// managedFields record the request before admission defaults, as kube does
	if obj, err = s.manage(rq, sub, wo, acc, obj, current, updateManaged); err != nil {
		return nil, err
	}
	if err := s.admit(ctx, rq, admission.Update, obj, current, wo.dryRun); err != nil {
		return nil, err
	}
	switch sub {
	case "status":
		errs = rq.res.Strategy.(registry.StatusStrategy).ValidateStatusUpdate(ctx, obj, current)
	case "ephemeralcontainers":
		errs = rq.res.Strategy.(registry.EphemeralContainersStrategy).ValidateEphemeralContainersUpdate(ctx, obj, current)
	default:
		errs = rq.res.Strategy.ValidateUpdate(ctx, obj, current)
	}
	if len(errs) > 0 {
		return nil, invalid(rq.res.GVK().GroupKind(), rq.info.Name, errs)
	}
	return obj, nil
}

// manage records the write in managedFields.
func (s *Server) manage(rq *request, sub string, wo writeOptions, acc metav1.Object, obj, current runtime.Object, updateManaged bool) (runtime.Object, error) {
	obj.GetObjectKind().SetGroupVersionKind(rq.res.GVK())
	if !updateManaged || wo.manager == "" {
		return obj, nil
	}
	rv := acc.GetResourceVersion()
	live := s.withKind(current, rq.res.GVK())
	obj = s.managers.get(rq.res.GVK(), sub).UpdateNoErrors(live, obj, wo.manager)
	acc, err := meta.Accessor(obj)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	acc.SetResourceVersion(rv)
	return obj, nil
}

// finalizeOnly is the namespaces/finalize update: only spec.finalizers
// of the request is taken.
func finalizeOnly(obj, current runtime.Object) runtime.Object {
	req, ok1 := obj.(*corev1.Namespace)
	cur, ok2 := current.(*corev1.Namespace)
	if !ok1 || !ok2 {
		return obj
	}
	out := cur.DeepCopy()
	out.Spec.Finalizers = req.Spec.Finalizers
	out.ResourceVersion = req.ResourceVersion
	return out
}
