package apiserver

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/peapod/peapod/internal/registry"
)

// testStrategy is a minimal registry.Strategy for the edge's tests; the
// real ones live in internal/registry/<resource>.
type testStrategy struct {
	namespaced bool
	fields     func(obj runtime.Object) fields.Set
	validate   func(obj runtime.Object) field.ErrorList
}

func (s testStrategy) PrepareForCreate(ctx context.Context, obj runtime.Object) {
	if p, ok := obj.(*corev1.Pod); ok {
		p.Status = corev1.PodStatus{Phase: corev1.PodPending}
	}
}

func (s testStrategy) Validate(ctx context.Context, obj runtime.Object) field.ErrorList {
	acc, _ := meta.Accessor(obj)
	errs := validation.ValidateObjectMetaAccessor(acc, s.namespaced, validation.NameIsDNSSubdomain, field.NewPath("metadata"))
	if s.validate != nil {
		errs = append(errs, s.validate(obj)...)
	}
	return errs
}

func (s testStrategy) PrepareForUpdate(ctx context.Context, obj, old runtime.Object) {
	if p, ok := obj.(*corev1.Pod); ok {
		p.Status = old.(*corev1.Pod).Status
	}
}

func (s testStrategy) ValidateUpdate(ctx context.Context, obj, old runtime.Object) field.ErrorList {
	return s.Validate(ctx, obj)
}

func (s testStrategy) AllowCreateOnUpdate() bool { return false }

func (s testStrategy) GetAttrs(obj runtime.Object) (labels.Set, fields.Set, error) {
	acc, err := meta.Accessor(obj)
	if err != nil {
		return nil, nil, err
	}
	fs := fields.Set{"metadata.name": acc.GetName(), "metadata.namespace": acc.GetNamespace()}
	if s.fields != nil {
		for k, v := range s.fields(obj) {
			fs[k] = v
		}
	}
	return labels.Set(acc.GetLabels()), fs, nil
}

func (s testStrategy) SelectableFields() []string {
	if s.fields != nil {
		return []string{"spec.nodeName", "status.phase"}
	}
	return nil
}

func (s testStrategy) ConvertToTable(ctx context.Context, obj runtime.Object, opts *metav1.TableOptions) (*metav1.Table, error) {
	t := &metav1.Table{ColumnDefinitions: []metav1.TableColumnDefinition{
		{Name: "Name", Type: "string", Format: "name"}, {Name: "Age", Type: "string"}}}
	var objs []runtime.Object
	if meta.IsListType(obj) {
		objs, _ = meta.ExtractList(obj)
	} else {
		objs = []runtime.Object{obj}
	}
	for _, o := range objs {
		acc, _ := meta.Accessor(o)
		t.Rows = append(t.Rows, metav1.TableRow{
			Cells:  []any{acc.GetName(), fmt.Sprint(time.Since(acc.GetCreationTimestamp().Time).Round(time.Second))},
			Object: runtime.RawExtension{Object: o}})
	}
	return t, nil
}

// podStrategy adds the status split and graceful deletion.
type podStrategy struct{ testStrategy }

func (podStrategy) PrepareForStatusUpdate(ctx context.Context, obj, old runtime.Object) {
	p := obj.(*corev1.Pod)
	p.Spec = old.(*corev1.Pod).Spec
}

func (podStrategy) ValidateStatusUpdate(ctx context.Context, obj, old runtime.Object) field.ErrorList {
	return nil
}

func (podStrategy) CheckGracefulDelete(ctx context.Context, obj runtime.Object, options *metav1.DeleteOptions) bool {
	pod := obj.(*corev1.Pod)
	if options.GracePeriodSeconds == nil {
		g := int64(30)
		if pod.Spec.TerminationGracePeriodSeconds != nil {
			g = *pod.Spec.TerminationGracePeriodSeconds
		}
		options.GracePeriodSeconds = &g
	}
	if pod.Spec.NodeName == "" || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		zero := int64(0)
		options.GracePeriodSeconds = &zero
	}
	return true
}

var (
	_ registry.StatusStrategy  = podStrategy{}
	_ registry.GracefulDeleter = podStrategy{}
	_ registry.FieldSetter     = testStrategy{}
)

func podFields(obj runtime.Object) fields.Set {
	p := obj.(*corev1.Pod)
	return fields.Set{"spec.nodeName": p.Spec.NodeName, "status.phase": string(p.Status.Phase)}
}

func validatePod(obj runtime.Object) field.ErrorList {
	p := obj.(*corev1.Pod)
	var errs field.ErrorList
	if len(p.Spec.Containers) == 0 {
		errs = append(errs, field.Required(field.NewPath("spec", "containers"), ""))
	}
	for i, c := range p.Spec.Containers {
		if c.Image == "" {
			errs = append(errs, field.Required(field.NewPath("spec", "containers").Index(i).Child("image"), ""))
		}
	}
	return errs
}

func testResources() []*registry.Resource {
	core := func(res string) schema.GroupVersionResource {
		return schema.GroupVersionResource{Version: "v1", Resource: res}
	}
	return []*registry.Resource{
		{GVR: core("namespaces"), Kind: "Namespace", ListKind: "NamespaceList", SingularName: "namespace", ShortNames: []string{"ns"},
			New: func() runtime.Object { return &corev1.Namespace{} }, NewList: func() runtime.Object { return &corev1.NamespaceList{} },
			Strategy: testStrategy{}, Subresources: []string{"status"}},
		{GVR: core("configmaps"), Kind: "ConfigMap", ListKind: "ConfigMapList", SingularName: "configmap", ShortNames: []string{"cm"}, Namespaced: true,
			New: func() runtime.Object { return &corev1.ConfigMap{} }, NewList: func() runtime.Object { return &corev1.ConfigMapList{} },
			Strategy: testStrategy{namespaced: true}},
		{GVR: core("pods"), Kind: "Pod", ListKind: "PodList", SingularName: "pod", ShortNames: []string{"po"}, Categories: []string{"all"}, Namespaced: true,
			New: func() runtime.Object { return &corev1.Pod{} }, NewList: func() runtime.Object { return &corev1.PodList{} },
			Strategy:     podStrategy{testStrategy{namespaced: true, fields: podFields, validate: validatePod}},
			Subresources: []string{"status", "binding", "log", "exec"}},
		{GVR: core("serviceaccounts"), Kind: "ServiceAccount", ListKind: "ServiceAccountList", SingularName: "serviceaccount", ShortNames: []string{"sa"}, Namespaced: true,
			New: func() runtime.Object { return &corev1.ServiceAccount{} }, NewList: func() runtime.Object { return &corev1.ServiceAccountList{} },
			Strategy: testStrategy{namespaced: true}, Subresources: []string{"token"}},
	}
}

type (
	registryResource = registry.Resource
	runtimeObject    = runtime.Object
)
