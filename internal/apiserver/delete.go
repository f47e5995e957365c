package apiserver

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/peapod/peapod/internal/apiserver/admission"
	"github.com/peapod/peapod/internal/registry"
	"github.com/peapod/peapod/internal/storage"
)

// deleteOptions reads DeleteOptions from the body (JSON, YAML or
// protobuf) and the query.
func (s *Server) deleteOptions(r *http.Request) (*metav1.DeleteOptions, error) {
	body, err := readBody(r, s.cfg.MaxRequestBytes)
	if err != nil {
		return nil, err
	}
	opts, err := s.decoder().decodeDeleteOptions(body, mediaType(r))
	if err != nil {
		return nil, err
	}
	if err := deleteOptionsFromQuery(r, opts); err != nil {
		return nil, err
	}
	return opts, nil
}

// serveDelete answers DELETE of one object.
func (s *Server) serveDelete(rq *request) {
	opts, err := s.deleteOptions(rq.r)
	if err != nil {
		rq.fail(err)
		return
	}
	out, deleted, err := s.delete(rq.r.Context(), rq, rq.info.Namespace, rq.info.Name, opts)
	if err != nil {
		rq.fail(err)
		return
	}
	_, returnsObject := rq.res.Strategy.(registry.GracefulDeleter)
	if !deleted || returnsObject {
		s.respond(rq, http.StatusOK, out)
		return
	}
	acc, _ := meta.Accessor(out)
	st := &metav1.Status{Status: metav1.StatusSuccess, Code: http.StatusOK,
		Details: &metav1.StatusDetails{Name: rq.info.Name, Group: rq.res.GVR.Group, Kind: rq.res.GVR.Resource}}
	if acc != nil {
		st.Details.UID = acc.GetUID()
	}
	s.writeStatus(rq.w, rq.r, st)
}

// delete deletes or marks one object; deleted reports whether it is gone.
func (s *Server) delete(ctx context.Context, rq *request, namespace, name string, opts *metav1.DeleteOptions) (runtime.Object, bool, error) {
	if rq.res.GVR.Group == "" && rq.res.GVR.Resource == "namespaces" && immortalNamespaces[name] {
		return nil, false, apierrors.NewForbidden(rq.gr, name, errors.New("this namespace may not be deleted"))
	}
	key := objectKey(rq.res, namespace, name)
	dry := len(opts.DryRun) > 0
	for attempt := 0; attempt < 10; attempt++ {
		cur := rq.res.New()
		if err := s.cfg.Storage.Get(ctx, key, "", cur, false); err != nil {
			return nil, false, toAPIError(err, rq.gr, name)
		}
		acc, err := meta.Accessor(cur)
		if err != nil {
			return nil, false, apierrors.NewInternalError(err)
		}
		if err := checkPreconditions(rq, acc, opts.Preconditions); err != nil {
			return nil, false, err
		}
		if err := s.admit(ctx, rq, admission.Delete, nil, cur, dry); err != nil {
			return nil, false, err
		}
		o := *opts
		if o.GracePeriodSeconds != nil {
			g := *o.GracePeriodSeconds
			o.GracePeriodSeconds = &g
		}
		graceful := false
		if gd, ok := rq.res.Strategy.(registry.GracefulDeleter); ok && acc.GetDeletionTimestamp() == nil {
			graceful = gd.CheckGracefulDelete(ctx, cur, &o)
		}
		obj := cur.DeepCopyObject()
		objAcc, _ := meta.Accessor(obj)
		rv, uid := acc.GetResourceVersion(), acc.GetUID()
		pre := &storage.Preconditions{UID: &uid, ResourceVersion: &rv}
		switch planDelete(obj, objAcc, &o, graceful, s.cfg.Now()) {
		case deletePending:
			return cur, false, nil
		case deleteMark:
			if dry {
				return obj, false, nil
			}
			out := rq.res.New()
			err := s.cfg.Storage.GuaranteedUpdate(ctx, key, out, false, pre, func(runtime.Object) (runtime.Object, error) {
				return obj.DeepCopyObject(), nil
			})
			if errors.Is(err, storage.ErrConflict) {
				continue // changed meanwhile: decide again
			}
			if err != nil {
				return nil, false, toAPIError(err, rq.gr, name)
			}
			return out, false, nil
		case deleteNow:
			if dry {
				return cur, true, nil
			}
			out := rq.res.New()
			err := s.cfg.Storage.Delete(ctx, key, out, pre, nil)
			if errors.Is(err, storage.ErrConflict) {
				continue
			}
			if err != nil {
				return nil, false, toAPIError(err, rq.gr, name)
			}
			return out, true, nil
		}
	}
	return nil, false, apierrors.NewConflict(rq.gr, name, errors.New("the object kept changing; please retry"))
}

// immortalNamespaces may not be deleted (kube's NamespaceLifecycle).
var immortalNamespaces = map[string]bool{"default": true, "kube-system": true, "kube-public": true}

func checkPreconditions(rq *request, acc metav1.Object, p *metav1.Preconditions) error {
	if p == nil {
		return nil
	}
	if p.UID != nil && *p.UID != acc.GetUID() {
		return apierrors.NewConflict(rq.gr, acc.GetName(), fmt.Errorf("Precondition failed: UID in precondition: %v, UID in object meta: %v", *p.UID, acc.GetUID()))
	}
	if p.ResourceVersion != nil && *p.ResourceVersion != acc.GetResourceVersion() {
		return apierrors.NewConflict(rq.gr, acc.GetName(), fmt.Errorf("Precondition failed: ResourceVersion in precondition: %v, ResourceVersion in object meta: %v", *p.ResourceVersion, acc.GetResourceVersion()))
	}
	return nil
}

// serveDeleteCollection deletes every object the selectors match.
func (s *Server) serveDeleteCollection(rq *request) {
	opts, err := s.deleteOptions(rq.r)
	if err != nil {
		rq.fail(err)
		return
	}
	lo, err := listOptions(rq.r, rq.res)
	if err != nil {
		rq.fail(err)
		return
	}
	lo.Predicate.Limit, lo.Predicate.Continue = 0, ""
	ctx := rq.r.Context()
	list := rq.res.NewList()
	if err := s.cfg.Storage.GetList(ctx, collectionKey(rq.res, rq.info.Namespace), lo, list); err != nil {
		rq.fail(err)
		return
	}
	items, err := meta.ExtractList(list)
	if err != nil {
		rq.fail(apierrors.NewInternalError(err))
		return
	}
	var deleted []runtime.Object
	for _, it := range items {
		acc, err := meta.Accessor(it)
		if err != nil {
			continue
		}
		out, _, err := s.delete(ctx, rq, acc.GetNamespace(), acc.GetName(), opts)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			rq.fail(err)
			return
		}
		deleted = append(deleted, out)
	}
	result := rq.res.NewList()
	if deleted == nil {
		deleted = []runtime.Object{}
	}
	if err := meta.SetList(result, deleted); err != nil {
		rq.fail(apierrors.NewInternalError(err))
		return
	}
	s.respond(rq, http.StatusOK, result)
}
