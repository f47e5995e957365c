package pod

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// The core/v1 validators other resources reuse (PodPreset carries env,
// envFrom, volumes and volumeMounts and, as in Kubernetes, validates them
// with the pod's own functions).

// ValidateEnv checks a container's env list.
func ValidateEnv(vars []corev1.EnvVar, p *field.Path) field.ErrorList { return validateEnv(vars, p) }

// ValidateEnvFrom checks a container's envFrom list.
func ValidateEnvFrom(from []corev1.EnvFromSource, p *field.Path) field.ErrorList {
	return validateEnvFrom(from, p)
}

// ValidateVolumes checks a volume list and returns the valid volumes by name.
func ValidateVolumes(volumes []corev1.Volume, p *field.Path) (map[string]corev1.VolumeSource, field.ErrorList) {
	return validateVolumes(volumes, p)
}

// ValidateVolumeMounts checks mounts against the valid volumes. c may be
// nil (a PodPreset has no container): then only the mount propagation value
// is checked, not whether Bidirectional is allowed.
func ValidateVolumeMounts(mounts []corev1.VolumeMount, vols map[string]corev1.VolumeSource, c *corev1.Container, p *field.Path) field.ErrorList {
	return validateVolumeMounts(mounts, vols, c, p)
}
