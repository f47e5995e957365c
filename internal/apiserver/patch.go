package apiserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	jsonpatch "github.com/evanphx/json-patch"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"sigs.k8s.io/yaml"

	"github.com/peapod/peapod/internal/storage"
)

// servePatch answers PATCH with JSON patch, JSON merge patch, strategic
// merge patch or server-side apply.
func (s *Server) servePatch(rq *request, sub string) {
	wo, body, err := s.readWrite(rq)
	if err != nil {
		rq.fail(err)
		return
	}
	pt := types.PatchType(mediaType(rq.r))
	if pt == types.ApplyYAMLPatchType {
		s.serveApply(rq, sub, wo, body)
		return
	}
	switch pt {
	case types.JSONPatchType, types.MergePatchType, types.StrategicMergePatchType:
	default:
		rq.fail(unsupportedMediaType(string(pt)))
		return
	}
	if pt == types.StrategicMergePatchType && rq.res.GVR.Group == "settings.k8s.io" {
		rq.fail(unsupportedMediaType(string(pt) + " (strategic merge patch is not supported for " + rq.res.Kind + "; use a merge patch)"))
		return
	}
	var warnings []string
	compute := func(current runtime.Object) (runtime.Object, error) {
		cur, err := json.Marshal(s.withKind(current, rq.res.GVK()))
		if err != nil {
			return nil, apierrors.NewInternalError(err)
		}
		patched, err := applyPatch(pt, cur, body, rq.res.New())
		if err != nil {
			return nil, err
		}
		obj, w, err := s.decoder().decode(patched, "application/json", rq.res.GVK(), rq.res.New(), wo.validation)
		if err != nil {
			return nil, err
		}
		warnings = w
		return obj, nil
	}
	out, err := s.update(rq.r.Context(), rq, sub, wo, compute, true)
	if err != nil {
		rq.fail(err)
		return
	}
	writeWarnings(rq.w, warnings)
	s.respond(rq, http.StatusOK, out)
}

// applyPatch applies a JSON, merge or strategic merge patch to the JSON
// document cur. schema is the typed struct SMP reads patch strategies from.
func applyPatch(pt types.PatchType, cur, patch []byte, dataStruct runtime.Object) (out []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			out, err = nil, badRequest("invalid patch: %v", p)
		}
	}()
	switch pt {
	case types.JSONPatchType:
		p, err := jsonpatch.DecodePatch(patch)
		if err != nil {
			return nil, badRequest("invalid JSON patch: %v", err)
		}
		out, err = p.Apply(cur)
		if err != nil {
			return nil, apierrors.NewGenericServerResponse(http.StatusUnprocessableEntity, "", schema.GroupResource{}, "", err.Error(), 0, false)
		}
		return out, nil
	case types.MergePatchType:
		out, err = jsonpatch.MergePatch(cur, patch)
		if err != nil {
			return nil, badRequest("invalid merge patch: %v", err)
		}
		return out, nil
	case types.StrategicMergePatchType:
		var m map[string]any
		if err := json.Unmarshal(patch, &m); err != nil {
			return nil, badRequest("invalid strategic merge patch: %v", err)
		}
		out, err = strategicpatch.StrategicMergePatch(cur, patch, dataStruct)
		if err != nil {
			return nil, badRequest("invalid strategic merge patch: %v", err)
		}
		return out, nil
	}
	return nil, unsupportedMediaType(string(pt))
}

// serveApply answers server-side apply: the body is merged into the live
// object through the field manager, creating the object when missing.
func (s *Server) serveApply(rq *request, sub string, wo writeOptions, body []byte) {
	q := rq.r.URL.Query()
	if q.Get("fieldManager") == "" {
		rq.fail(badRequest("PATCH with apply type requires fieldManager"))
		return
	}
	force := isTrue(q.Get("force"))
	patchObj := &unstructured.Unstructured{Object: map[string]any{}}
	if err := yaml.Unmarshal(body, &patchObj.Object); err != nil {
		rq.fail(badRequest("error decoding YAML: %v", err))
		return
	}
	if patchObj.Object == nil {
		rq.fail(badRequest("the apply body is empty"))
		return
	}
	if patchObj.GetAPIVersion() != rq.res.GVR.GroupVersion().String() || patchObj.GetKind() != rq.res.Kind {
		rq.fail(badRequest("apiVersion and kind of the applied object (%s, %s) must be %s, %s",
			patchObj.GetAPIVersion(), patchObj.GetKind(), rq.res.GVR.GroupVersion().String(), rq.res.Kind))
		return
	}
	if patchObj.GetName() != "" && patchObj.GetName() != rq.info.Name {
		rq.fail(badRequest("the name of the object (%s) does not match the name on the URL (%s)", patchObj.GetName(), rq.info.Name))
		return
	}
	if patchObj.GetName() == "" {
		patchObj.SetName(rq.info.Name)
	}
	if len(patchObj.GetManagedFields()) > 0 {
		rq.fail(badRequest("metadata.managedFields must be nil"))
		return
	}
	// Check the applied fields exist in the schema (fieldValidation).
	probe, _ := json.Marshal(patchObj.Object)
	_, warnings, err := s.decoder().decode(probe, "application/json", rq.res.GVK(), rq.res.New(), wo.validation)
	if err != nil {
		rq.fail(err)
		return
	}
	ctx := rq.r.Context()
	fm := s.managers.get(rq.res.GVK(), sub)
	key := objectKey(rq.res, rq.info.Namespace, rq.info.Name)
	merge := func(live runtime.Object) (runtime.Object, error) {
		merged, err := fm.Apply(s.withKind(live, rq.res.GVK()), patchObj.DeepCopy(), wo.manager, force)
		if err != nil {
			return nil, err
		}
		return s.toTyped(rq, merged)
	}
	cur := rq.res.New()
	err = s.cfg.Storage.Get(ctx, key, "", cur, false)
	if errors.Is(err, storage.ErrNotFound) && sub == "" {
		live := rq.res.New()
		live.GetObjectKind().SetGroupVersionKind(rq.res.GVK())
		obj, err := merge(live)
		if err != nil {
			rq.fail(err)
			return
		}
		out, err := s.create(ctx, rq, obj, wo, false)
		if err != nil {
			if apierrors.IsAlreadyExists(err) {
				err = apierrors.NewConflict(rq.gr, rq.info.Name, errors.New("the object was created meanwhile; retry"))
			}
			rq.fail(err)
			return
		}
		writeWarnings(rq.w, warnings)
		s.respond(rq, http.StatusCreated, out)
		return
	}
	if err != nil {
		rq.fail(err)
		return
	}
	out, err := s.update(ctx, rq, sub, wo, func(current runtime.Object) (runtime.Object, error) {
		obj, err := merge(current)
		if err != nil {
			return nil, err
		}
		if acc, err := meta.Accessor(obj); err == nil {
			// apply is unconditional unless the body names a resourceVersion
			acc.SetResourceVersion(patchObj.GetResourceVersion())
		}
		return obj, nil
	}, false)
	if err != nil {
		rq.fail(err)
		return
	}
	writeWarnings(rq.w, warnings)
	s.respond(rq, http.StatusOK, out)
}

// toTyped converts the field manager's result to the resource's Go type.
func (s *Server) toTyped(rq *request, obj runtime.Object) (runtime.Object, error) {
	if u, ok := obj.(*unstructured.Unstructured); ok {
		typed := rq.res.New()
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, typed); err != nil {
			return nil, apierrors.NewInternalError(fmt.Errorf("converting applied object: %w", err))
		}
		return typed, nil
	}
	return obj, nil
}
