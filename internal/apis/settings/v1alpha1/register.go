package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// GroupName is the API group of PodPreset.
const GroupName = "settings.k8s.io"

// SchemeGroupVersion is settings.k8s.io/v1alpha1.
var SchemeGroupVersion = schema.GroupVersion{Group: GroupName, Version: "v1alpha1"}

// Resource returns the group-qualified resource for an unqualified one
// (e.g. "podpresets" -> podpresets.settings.k8s.io).
func Resource(resource string) schema.GroupResource {
	return SchemeGroupVersion.WithResource(resource).GroupResource()
}

// AddToScheme registers PodPreset and PodPresetList under
// settings.k8s.io/v1alpha1, together with the meta/v1 list, get, delete
// and watch option types as every Kubernetes group version does
// (metav1.AddToGroupVersion). It is called explicitly by whoever builds the
// scheme; there is no init().
func AddToScheme(scheme *runtime.Scheme) error {
	scheme.AddKnownTypes(SchemeGroupVersion,
		&PodPreset{},
		&PodPresetList{},
	)
	metav1.AddToGroupVersion(scheme, SchemeGroupVersion)
	return nil
}
