package apiserver

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/peapod/peapod/internal/apiserver/admission"
	"github.com/peapod/peapod/internal/storage"
)

// writeOptions are the query options shared by create, update and patch.
type writeOptions struct {
	validation string
	dryRun     bool
	manager    string
}

func parseWriteOptions(r *http.Request) (writeOptions, error) {
	var o writeOptions
	var err error
	if o.validation, err = fieldValidation(r); err != nil {
		return o, err
	}
	if o.dryRun, err = dryRun(r); err != nil {
		return o, err
	}
	o.manager, err = fieldManager(r)
	return o, err
}

// readWrite reads a write request's options and body (POST, PUT, PATCH).
func (s *Server) readWrite(rq *request) (writeOptions, []byte, error) {
	wo, err := parseWriteOptions(rq.r)
	if err != nil {
		return wo, nil, err
	}
	body, err := readBody(rq.r, s.cfg.MaxRequestBytes)
	return wo, body, err
}

// serveCreate answers POST to a collection.
func (s *Server) serveCreate(rq *request) {
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
	out, err := s.create(rq.r.Context(), rq, obj, wo, true)
	if err != nil {
		s.writeError(rq.w, rq.r, err, rq.gr, nameOf(obj))
		return
	}
	writeWarnings(rq.w, warnings)
	s.respond(rq, http.StatusCreated, out)
}

// create runs the create pipeline on a decoded object: server metadata,
// PrepareForCreate, admission, validation, managedFields, storage.
// updateManaged is false when server-side apply already set managedFields.
func (s *Server) create(ctx context.Context, rq *request, obj runtime.Object, wo writeOptions, updateManaged bool) (runtime.Object, error) {
	acc, err := meta.Accessor(obj)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	generated := acc.GetName() == "" && acc.GetGenerateName() != ""
	if errs := validateName(rq.res.Kind, acc.GetName(), acc.GetGenerateName()); len(errs) > 0 {
		return nil, invalid(rq.res.GVK().GroupKind(), acc.GetName(), errs)
	}
	if err := prepareCreateMeta(rq.res, obj, acc, rq.info.Namespace, s.cfg.Now()); err != nil {
		return nil, err
	}
	if rq.res.Namespaced {
		if err := s.checkNamespace(ctx, acc.GetNamespace()); err != nil {
			return nil, err
		}
	}
	rq.res.Strategy.PrepareForCreate(ctx, obj)
	// managedFields record what the client sent, before admission defaults
	// (as kube-apiserver's create handler does)
	obj.GetObjectKind().SetGroupVersionKind(rq.res.GVK())
	if updateManaged && wo.manager != "" {
		live := rq.res.New()
		live.GetObjectKind().SetGroupVersionKind(rq.res.GVK())
		obj = s.managers.get(rq.res.GVK(), "").UpdateNoErrors(live, obj, wo.manager)
		if acc, err = meta.Accessor(obj); err != nil {
			return nil, apierrors.NewInternalError(err)
		}
	}
	if err := s.admit(ctx, rq, admission.Create, obj, nil, wo.dryRun); err != nil {
		return nil, err
	}
	if errs := rq.res.Strategy.Validate(ctx, obj); len(errs) > 0 {
		return nil, invalid(rq.res.GVK().GroupKind(), acc.GetName(), errs)
	}
	if errs := validateName(rq.res.Kind, acc.GetName(), ""); len(errs) > 0 {
		return nil, invalid(rq.res.GVK().GroupKind(), acc.GetName(), errs)
	}
	if wo.dryRun {
		return obj, nil
	}
	for attempt := 0; ; attempt++ {
		out := rq.res.New()
		err := s.cfg.Storage.Create(ctx, objectKey(rq.res, acc.GetNamespace(), acc.GetName()), obj, out)
		if err == nil {
			return out, nil
		}
		if generated && errors.Is(err, storage.ErrKeyExists) && attempt < 8 {
			acc.SetName(generateName(acc.GetGenerateName()))
			continue
		}
		return nil, toAPIError(err, rq.gr, acc.GetName())
	}
}

// checkNamespace refuses creation in a missing or terminating namespace
// (kube's NamespaceLifecycle admission).
func (s *Server) checkNamespace(ctx context.Context, ns string) error {
	nsRes := s.lookup(schema.GroupVersion{Version: "v1"}, "namespaces")
	if nsRes == nil {
		return nil
	}
	if exists, terminating, known := s.nsCache.lookup(ns); known && exists {
		if terminating {
			return apierrors.NewForbidden(schema.GroupResource{Resource: "namespaces"}, ns,
				fmt.Errorf("unable to create new content in namespace %s because it is being terminated", ns))
		}
		return nil
	}
	obj := nsRes.New()
	if err := s.cfg.Storage.Get(ctx, objectKey(nsRes, "", ns), "", obj, false); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return apierrors.NewNotFound(schema.GroupResource{Resource: "namespaces"}, ns)
		}
		return err
	}
	if acc, err := meta.Accessor(obj); err == nil && acc.GetDeletionTimestamp() != nil {
		return apierrors.NewForbidden(schema.GroupResource{Resource: "namespaces"}, ns,
			fmt.Errorf("unable to create new content in namespace %s because it is being terminated", ns))
	}
	return nil
}

func nameOf(obj runtime.Object) string {
	if acc, err := meta.Accessor(obj); err == nil {
		return acc.GetName()
	}
	return ""
}

// writeWarnings adds one Warning header per message (RFC 7234 format kube uses).
func writeWarnings(w http.ResponseWriter, warnings []string) {
	for _, msg := range warnings {
		w.Header().Add("Warning", fmt.Sprintf("299 - %q", msg))
	}
}
