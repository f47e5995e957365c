// Package v1alpha1 is the settings.k8s.io/v1alpha1 API group: PodPreset.
//
// Kubernetes removed this group in 1.20 and k8s.io/api no longer carries
// it, so the types live here, field for field and JSON tag for JSON tag as
// upstream had them (staging/src/k8s.io/api/settings/v1alpha1/types.go in
// Kubernetes 1.19). The deep-copy functions in zz_deepcopy.go are written
// by hand in the shape deepcopy-gen produces.
package v1alpha1
