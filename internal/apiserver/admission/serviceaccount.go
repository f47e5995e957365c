package admission

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// ServiceAccountPluginName is the plugin's name, as in kube-apiserver's
// --enable-admission-plugins.
const ServiceAccountPluginName = "ServiceAccount"

// Names and paths of the token volume (SEMANTICS.md section 10).
const (
	DefaultServiceAccountName   = "default"
	ServiceAccountTokenMountDir = "/var/run/secrets/kubernetes.io/serviceaccount"
	ServiceAccountVolumePrefix  = "kube-api-access-"
	ServiceAccountTokenExpiry   = int64(3607)
	rootCAConfigMapName         = "kube-root-ca.crt"
	defaultServiceAccountLookup = 10 // attempts for "default", which the controller creates
)

// ServiceAccountGetter reads one ServiceAccount; a missing one is an error
// for which apierrors.IsNotFound holds.
type ServiceAccountGetter interface {
	GetServiceAccount(ctx context.Context, namespace, name string) (*corev1.ServiceAccount, error)
}

// ServiceAccountPlugin is kube's ServiceAccount admission plugin
// (plugin/pkg/admission/serviceaccount/admission.go) for bound tokens:
// it defaults spec.serviceAccountName, requires the ServiceAccount to
// exist, copies its imagePullSecrets and mounts the kube-api-access-*
// projected token volume unless automount is off.
type ServiceAccountPlugin struct {
	getter ServiceAccountGetter
	// suffix returns the 5 random characters of the volume name.
	suffix func() string
	// sleep waits between lookups of the default ServiceAccount.
	sleep func(ctx context.Context, d time.Duration) error
}

var _ MutationInterface = (*ServiceAccountPlugin)(nil)

// NewServiceAccountPlugin returns the plugin. suffix gives the random
// volume-name suffix (utilrand.String(5) in production); sleep may be nil
// (a context-aware time.Sleep).
func NewServiceAccountPlugin(getter ServiceAccountGetter, suffix func() string, sleep func(ctx context.Context, d time.Duration) error) *ServiceAccountPlugin {
	if sleep == nil {
		sleep = func(ctx context.Context, d time.Duration) error {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-t.C:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	return &ServiceAccountPlugin{getter: getter, suffix: suffix, sleep: sleep}
}

// Name implements MutationInterface.
func (*ServiceAccountPlugin) Name() string { return ServiceAccountPluginName }

// Admit implements MutationInterface for pod CREATE.
func (p *ServiceAccountPlugin) Admit(ctx context.Context, a *Attributes) error {
	if a.Operation != Create || a.Subresource != "" || a.Resource.Group != "" || a.Resource.Resource != "pods" {
		return nil
	}
	pod, ok := a.Object.(*corev1.Pod)
	if !ok {
		return apierrors.NewBadRequest("Resource was marked with kind Pod but was unable to be converted")
	}
	podsGR := schema.GroupResource{Resource: "pods"}
	if _, mirror := pod.Annotations[corev1.MirrorPodAnnotationKey]; mirror {
		if err := validateMirrorPod(pod); err != nil {
			return apierrors.NewForbidden(podsGR, pod.Name, err)
		}
		return nil
	}
	if pod.Spec.ServiceAccountName == "" {
		pod.Spec.ServiceAccountName = pod.Spec.DeprecatedServiceAccount
	}
	if pod.Spec.ServiceAccountName == "" {
		pod.Spec.ServiceAccountName = DefaultServiceAccountName
	}
	pod.Spec.DeprecatedServiceAccount = pod.Spec.ServiceAccountName
	ns := a.Namespace
	if ns == "" {
		ns = pod.Namespace
	}
	sa, err := p.lookup(ctx, ns, pod.Spec.ServiceAccountName)
	if err != nil {
		return apierrors.NewForbidden(podsGR, pod.Name, fmt.Errorf("error looking up service account %s/%s: %w", ns, pod.Spec.ServiceAccountName, err))
	}
	if shouldAutomount(sa, pod) {
		MountServiceAccountToken(pod, p.suffix())
	}
	if len(pod.Spec.ImagePullSecrets) == 0 && len(sa.ImagePullSecrets) > 0 {
		pod.Spec.ImagePullSecrets = append([]corev1.LocalObjectReference(nil), sa.ImagePullSecrets...)
	}
	return nil
}

// lookup gets the ServiceAccount, trying the default one 10 times
// 100–200 ms apart: the serviceaccount controller may not have created it
// yet in a new namespace.
func (p *ServiceAccountPlugin) lookup(ctx context.Context, ns, name string) (*corev1.ServiceAccount, error) {
	attempts := 1
	if name == DefaultServiceAccountName {
		attempts = defaultServiceAccountLookup
	}
	for i := 0; ; i++ {
		sa, err := p.getter.GetServiceAccount(ctx, ns, name)
		if err == nil {
			return sa, nil
		}
		if !apierrors.IsNotFound(err) || i+1 >= attempts {
			return nil, err
		}
		if err := p.sleep(ctx, 150*time.Millisecond); err != nil {
			return nil, err
		}
	}
}

// shouldAutomount: the pod's automountServiceAccountToken wins, then the
// ServiceAccount's, else true.
func shouldAutomount(sa *corev1.ServiceAccount, pod *corev1.Pod) bool {
	if pod.Spec.AutomountServiceAccountToken != nil {
		return *pod.Spec.AutomountServiceAccountToken
	}
	if sa.AutomountServiceAccountToken != nil {
		return *sa.AutomountServiceAccountToken
	}
	return true
}

// MountServiceAccountToken adds the read-only token mount to every init
// and regular container that does not already mount something at
// ServiceAccountTokenMountDir, and the kube-api-access-<suffix> volume if
// any container needed it (an existing kube-api-access-* volume is reused).
func MountServiceAccountToken(pod *corev1.Pod, suffix string) {
	volName := ""
	for _, v := range pod.Spec.Volumes {
		if strings.HasPrefix(v.Name, ServiceAccountVolumePrefix) {
			volName = v.Name
			break
		}
	}
	needVolume := volName == ""
	if needVolume {
		volName = ServiceAccountVolumePrefix + suffix
	}
	needed := false
	mount := func(cs []corev1.Container) {
		for i := range cs {
			has := false
			for _, m := range cs[i].VolumeMounts {
				if m.MountPath == ServiceAccountTokenMountDir {
					has = true
					break
				}
			}
			if !has {
				cs[i].VolumeMounts = append(cs[i].VolumeMounts, corev1.VolumeMount{Name: volName, ReadOnly: true, MountPath: ServiceAccountTokenMountDir})
				needed = true
			}
		}
	}
	mount(pod.Spec.InitContainers)
	mount(pod.Spec.Containers)
	if needed && needVolume {
		pod.Spec.Volumes = append(pod.Spec.Volumes, TokenVolume(volName))
	}
}

// TokenVolume is the projected kube-api-access volume: the token, the
// cluster CA and the namespace, mode 0644.
func TokenVolume(name string) corev1.Volume {
	mode := int32(0o644)
	exp := ServiceAccountTokenExpiry
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
		DefaultMode: &mode,
		Sources: []corev1.VolumeProjection{
			{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{ExpirationSeconds: &exp, Path: "token"}},
			{ConfigMap: &corev1.ConfigMapProjection{
				LocalObjectReference: corev1.LocalObjectReference{Name: rootCAConfigMapName},
				Items:                []corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}},
			}},
			{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{{
				Path:     "namespace",
				FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.namespace"},
			}}}},
		},
	}}}
}

// validateMirrorPod: mirror pods may not reference a ServiceAccount,
// secrets, configmaps or token projections (kube's checks).
func validateMirrorPod(pod *corev1.Pod) error {
	if pod.Spec.ServiceAccountName != "" || pod.Spec.DeprecatedServiceAccount != "" {
		return errors.New("a mirror pod may not reference service accounts")
	}
	for _, v := range pod.Spec.Volumes {
		switch {
		case v.Secret != nil:
			return fmt.Errorf("volume %s: a mirror pod may not reference secrets", v.Name)
		case v.ConfigMap != nil:
			return fmt.Errorf("volume %s: a mirror pod may not reference configmaps", v.Name)
		case v.Projected != nil:
			for _, s := range v.Projected.Sources {
				switch {
				case s.Secret != nil:
					return fmt.Errorf("volume %s: a mirror pod may not reference secrets", v.Name)
				case s.ConfigMap != nil:
					return fmt.Errorf("volume %s: a mirror pod may not reference configmaps", v.Name)
				case s.ServiceAccountToken != nil:
					return fmt.Errorf("volume %s: a mirror pod may not use ServiceAccountToken volume projections", v.Name)
				}
			}
		}
	}
	return nil
}
