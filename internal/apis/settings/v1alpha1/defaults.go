package v1alpha1

import (
	v1 "k8s.io/api/core/v1"
)

// defaultFileMode is core/v1's default mode of secret, configMap,
// downwardAPI and projected volume files (0644).
const defaultFileMode int32 = 0o644

// defaultTokenExpirationSeconds is core/v1's default expiry of a projected
// service account token.
const defaultTokenExpirationSeconds int64 = 3600

// SetDefaults fills in the core/v1 defaults of what a preset injects, as
// kube-apiserver's generated defaulters did for settings.k8s.io/v1alpha1:
// a volume without a source becomes an emptyDir; secret, configMap,
// downwardAPI and projected volumes get defaultMode 0644; hostPath gets
// type ""; projected service account tokens expire after 3600s; every
// fieldRef gets apiVersion v1. Pods are defaulted the same way before the
// PodPreset admission plugin runs, so an entry that a pod and a preset
// both spell the same way compares equal and does not conflict.
func SetDefaults(pp *PodPreset) {
	for i := range pp.Spec.Env {
		defaultEnvVar(&pp.Spec.Env[i])
	}
	for i := range pp.Spec.Volumes {
		defaultVolume(&pp.Spec.Volumes[i])
	}
}

func defaultEnvVar(e *v1.EnvVar) {
	if e.ValueFrom != nil {
		defaultFieldRef(e.ValueFrom.FieldRef)
	}
}

func defaultFieldRef(f *v1.ObjectFieldSelector) {
	if f != nil && f.APIVersion == "" {
		f.APIVersion = "v1"
	}
}

func defaultMode(m **int32) {
	if *m == nil {
		mode := defaultFileMode
		*m = &mode
	}
}

func defaultVolume(v *v1.Volume) {
	s := &v.VolumeSource
	if (*s == v1.VolumeSource{}) {
		s.EmptyDir = &v1.EmptyDirVolumeSource{}
	}
	if s.HostPath != nil && s.HostPath.Type == nil {
		t := v1.HostPathUnset
		s.HostPath.Type = &t
	}
	if s.Secret != nil {
		defaultMode(&s.Secret.DefaultMode)
	}
	if s.ConfigMap != nil {
		defaultMode(&s.ConfigMap.DefaultMode)
	}
	if s.DownwardAPI != nil {
		defaultMode(&s.DownwardAPI.DefaultMode)
		for i := range s.DownwardAPI.Items {
			defaultFieldRef(s.DownwardAPI.Items[i].FieldRef)
		}
	}
	if s.Projected != nil {
		defaultMode(&s.Projected.DefaultMode)
		for i := range s.Projected.Sources {
			p := &s.Projected.Sources[i]
			if p.DownwardAPI != nil {
				for j := range p.DownwardAPI.Items {
					defaultFieldRef(p.DownwardAPI.Items[j].FieldRef)
				}
			}
			if p.ServiceAccountToken != nil && p.ServiceAccountToken.ExpirationSeconds == nil {
				exp := defaultTokenExpirationSeconds
				p.ServiceAccountToken.ExpirationSeconds = &exp
			}
		}
	}
}
