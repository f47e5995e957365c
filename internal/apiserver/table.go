package apiserver

import (
	"context"
	"encoding/json"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

type schemaGVK = schema.GroupVersionKind

var partialObjectMetadataKind = metav1.TypeMeta{Kind: "PartialObjectMetadata", APIVersion: "meta.k8s.io/v1"}

// toTable renders obj through the resource's ConvertToTable and fixes up
// what the wire needs: the Table kind, list metadata and each row's
// embedded object encoded per ?includeObject= (Metadata by default).
func (s *Server) toTable(rq *request, obj runtime.Object, version string) (*metav1.Table, error) {
	policy := metav1.IncludeObjectPolicy(rq.r.URL.Query().Get("includeObject"))
	switch policy {
	case "":
		policy = metav1.IncludeMetadata
	case metav1.IncludeNone, metav1.IncludeMetadata, metav1.IncludeObject:
	default:
		return nil, badRequest("includeObject: unsupported value %q", policy)
	}
	return s.convertTable(rq.r.Context(), rq, obj, version, policy, false)
}

func (s *Server) convertTable(ctx context.Context, rq *request, obj runtime.Object, version string, policy metav1.IncludeObjectPolicy, noHeaders bool) (*metav1.Table, error) {
	opts := &metav1.TableOptions{IncludeObject: policy, NoHeaders: noHeaders}
	table, err := rq.res.Strategy.ConvertToTable(ctx, obj, opts)
	if err != nil {
		return nil, err
	}
	if version == "" {
		version = "v1"
	}
	table.TypeMeta = metav1.TypeMeta{Kind: "Table", APIVersion: "meta.k8s.io/" + version}
	if noHeaders {
		table.ColumnDefinitions = nil
	}
	if l, err := meta.ListAccessor(obj); err == nil && meta.IsListType(obj) {
		table.ResourceVersion = l.GetResourceVersion()
		table.Continue = l.GetContinue()
		table.RemainingItemCount = l.GetRemainingItemCount()
	} else if a, err := meta.Accessor(obj); err == nil && table.ResourceVersion == "" {
		table.ResourceVersion = a.GetResourceVersion()
	}
	if table.Rows == nil {
		table.Rows = []metav1.TableRow{}
	}
	for i := range table.Rows {
		row := &table.Rows[i]
		o := row.Object.Object
		if o == nil && row.Object.Raw == nil {
			continue
		}
		switch policy {
		case metav1.IncludeNone:
			row.Object = runtime.RawExtension{}
			continue
		case metav1.IncludeMetadata:
			if o != nil {
				if _, ok := o.(*metav1.PartialObjectMetadata); !ok {
					if acc, ok := o.(metav1.ObjectMetaAccessor); ok {
						if om, ok := acc.GetObjectMeta().(*metav1.ObjectMeta); ok {
							o = &metav1.PartialObjectMetadata{ObjectMeta: *om.DeepCopy()}
						}
					}
				}
			}
		}
		if o == nil {
			continue
		}
		if p, ok := o.(*metav1.PartialObjectMetadata); ok {
			p = p.DeepCopy()
			p.TypeMeta = partialObjectMetadataKind
			o = p
		} else {
			o = s.withKind(o, rq.res.GVK())
		}
		raw, err := json.Marshal(o)
		if err != nil {
			return nil, err
		}
		row.Object = runtime.RawExtension{Raw: raw}
	}
	return table, nil
}
