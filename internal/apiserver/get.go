package apiserver

import (
	"net/http"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// serveGet answers GET of one object (also of its status subresource).
func (s *Server) serveGet(rq *request) {
	out := rq.res.New()
	key := objectKey(rq.res, rq.info.Namespace, rq.info.Name)
	if err := s.cfg.Storage.Get(rq.r.Context(), key, rq.r.URL.Query().Get("resourceVersion"), out, false); err != nil {
		rq.fail(err)
		return
	}
	s.respond(rq, http.StatusOK, out)
}

// serveList answers a collection GET.
func (s *Server) serveList(rq *request) {
	opts, err := listOptions(rq.r, rq.res)
	if err != nil {
		rq.fail(err)
		return
	}
	list := rq.res.NewList()
	if err := s.cfg.Storage.GetList(rq.r.Context(), collectionKey(rq.res, rq.info.Namespace), opts, list); err != nil {
		rq.fail(err)
		return
	}
	if items, err := meta.ExtractList(list); err == nil && len(items) == 0 {
		// an empty list encodes "items": [] as kube does, not null
		meta.SetList(list, []runtime.Object{})
	}
	s.respond(rq, http.StatusOK, list)
}

// respond writes obj (an object or a list of the request's resource) as a
// Table when the client asked for one, else as itself.
func (s *Server) respond(rq *request, code int, obj runtime.Object) {
	if a := parseAccept(rq.r.Header.Get("Accept")); a.Table {
		table, err := s.toTable(rq, obj, a.TableVersion)
		if err != nil {
			rq.fail(err)
			return
		}
		s.writeJSON(rq.w, rq.r, code, table)
		return
	}
	if a := parseAccept(rq.r.Header.Get("Accept")); a.Metadata {
		s.writeObject(rq.w, rq.r, code, partialMetadata(obj))
		return
	}
	// obj was filled in for this request (never shared): set its kind in place
	obj.GetObjectKind().SetGroupVersionKind(s.kindOf(rq, obj))
	s.writeObject(rq.w, rq.r, code, obj)
}

// kindOf is the kind obj is written as: the resource's kind or list kind.
func (s *Server) kindOf(rq *request, obj runtime.Object) (gvk schemaGVK) {
	if meta.IsListType(obj) {
		return rq.res.GVR.GroupVersion().WithKind(rq.res.ListKind)
	}
	if _, ok := obj.(*metav1.Status); ok {
		return schemaGVK{Version: "v1", Kind: "Status"}
	}
	return rq.res.GVK()
}

// partialMetadata reduces an object or a list to PartialObjectMetadata(List).
func partialMetadata(obj runtime.Object) runtime.Object {
	if meta.IsListType(obj) {
		out := &metav1.PartialObjectMetadataList{TypeMeta: metav1.TypeMeta{Kind: "PartialObjectMetadataList", APIVersion: "meta.k8s.io/v1"}}
		if l, err := meta.ListAccessor(obj); err == nil {
			out.ResourceVersion, out.Continue, out.RemainingItemCount = l.GetResourceVersion(), l.GetContinue(), l.GetRemainingItemCount()
		}
		items, _ := meta.ExtractList(obj)
		out.Items = make([]metav1.PartialObjectMetadata, 0, len(items))
		for _, it := range items {
			if p, ok := partialMetadata(it).(*metav1.PartialObjectMetadata); ok {
				out.Items = append(out.Items, *p)
			}
		}
		return out
	}
	p := &metav1.PartialObjectMetadata{TypeMeta: partialObjectMetadataKind}
	if acc, ok := obj.(metav1.ObjectMetaAccessor); ok {
		if om, ok := acc.GetObjectMeta().(*metav1.ObjectMeta); ok {
			p.ObjectMeta = *om
		}
	}
	return p
}
