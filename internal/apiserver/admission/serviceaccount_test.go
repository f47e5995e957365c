package admission

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// fakeSAGetter serves ServiceAccounts from a map; missing ones appear
// after `appearAfter` lookups (0: never).
type fakeSAGetter struct {
	sas         map[string]*corev1.ServiceAccount
	calls       int
	appearAfter int
	late        *corev1.ServiceAccount
}

var _ ServiceAccountGetter = (*fakeSAGetter)(nil)

func (f *fakeSAGetter) GetServiceAccount(_ context.Context, ns, name string) (*corev1.ServiceAccount, error) {
	f.calls++
	if sa, ok := f.sas[ns+"/"+name]; ok {
		return sa, nil
	}
	if f.late != nil && f.appearAfter > 0 && f.calls >= f.appearAfter {
		return f.late, nil
	}
	return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "serviceaccount"}, name)
}

func saPod(mut func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"}, Spec: corev1.PodSpec{
		InitContainers: []corev1.Container{{Name: "init"}},
		Containers:     []corev1.Container{{Name: "a"}, {Name: "b"}},
	}}
	if mut != nil {
		mut(p)
	}
	return p
}

func TestServiceAccountAdmit(t *testing.T) {
	f, tr := false, true
	sas := map[string]*corev1.ServiceAccount{
		"ns/default": {ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: "ns"}},
		"ns/robot":   {ObjectMeta: metav1.ObjectMeta{Name: "robot", Namespace: "ns"}, ImagePullSecrets: []corev1.LocalObjectReference{{Name: "reg"}}},
		"ns/quiet":   {ObjectMeta: metav1.ObjectMeta{Name: "quiet", Namespace: "ns"}, AutomountServiceAccountToken: &f},
	}
	cases := []struct {
		name      string
		pod       *corev1.Pod
		wantErr   string // substring of a Forbidden error
		wantSA    string
		wantMount bool
		check     func(t *testing.T, p *corev1.Pod)
	}{
		{name: "defaults to default and mounts everywhere", pod: saPod(nil), wantSA: "default", wantMount: true},
		{name: "named SA copies imagePullSecrets", pod: saPod(func(p *corev1.Pod) { p.Spec.ServiceAccountName = "robot" }), wantSA: "robot", wantMount: true,
			check: func(t *testing.T, p *corev1.Pod) {
				if len(p.Spec.ImagePullSecrets) != 1 || p.Spec.ImagePullSecrets[0].Name != "reg" {
					t.Errorf("imagePullSecrets = %v", p.Spec.ImagePullSecrets)
				}
			}},
		{name: "deprecated serviceAccount field", pod: saPod(func(p *corev1.Pod) { p.Spec.DeprecatedServiceAccount = "robot" }), wantSA: "robot", wantMount: true},
		{name: "pod opts out", pod: saPod(func(p *corev1.Pod) { p.Spec.AutomountServiceAccountToken = &f }), wantSA: "default"},
		{name: "SA opts out", pod: saPod(func(p *corev1.Pod) { p.Spec.ServiceAccountName = "quiet" }), wantSA: "quiet"},
		{name: "pod opts in over SA", pod: saPod(func(p *corev1.Pod) { p.Spec.ServiceAccountName = "quiet"; p.Spec.AutomountServiceAccountToken = &tr }), wantSA: "quiet", wantMount: true},
		{name: "missing SA is forbidden", pod: saPod(func(p *corev1.Pod) { p.Spec.ServiceAccountName = "ghost" }),
			wantErr: `pods "p" is forbidden: error looking up service account ns/ghost: serviceaccount "ghost" not found`},
		{name: "mirror pod untouched", pod: saPod(func(p *corev1.Pod) { p.Annotations = map[string]string{corev1.MirrorPodAnnotationKey: "x"} }),
			check: func(t *testing.T, p *corev1.Pod) {
				if p.Spec.ServiceAccountName != "" || len(p.Spec.Volumes) != 0 {
					t.Errorf("mirror pod changed: %+v", p.Spec)
				}
			}},
		{name: "mirror pod with SA forbidden", pod: saPod(func(p *corev1.Pod) {
			p.Annotations = map[string]string{corev1.MirrorPodAnnotationKey: "x"}
			p.Spec.ServiceAccountName = "default"
		}), wantErr: "a mirror pod may not reference service accounts"},
		{name: "mirror pod with secret volume forbidden", pod: saPod(func(p *corev1.Pod) {
			p.Annotations = map[string]string{corev1.MirrorPodAnnotationKey: "x"}
			p.Spec.Volumes = []corev1.Volume{{Name: "s", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s"}}}}
		}), wantErr: "may not reference secrets"},
		{name: "container already mounting the path is skipped", pod: saPod(func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "own"}}
			p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "own", MountPath: ServiceAccountTokenMountDir}}
		}), wantSA: "default", check: func(t *testing.T, p *corev1.Pod) {
			if n := len(p.Spec.Containers[0].VolumeMounts); n != 1 {
				t.Errorf("container a got %d mounts", n)
			}
			if len(p.Spec.Containers[1].VolumeMounts) != 1 || p.Spec.Volumes[1].Name != "kube-api-access-abcde" {
				t.Errorf("container b not mounted: %+v", p.Spec)
			}
		}},
		{name: "no volume when every container mounts the path", pod: saPod(func(p *corev1.Pod) {
			p.Spec.InitContainers = nil
			p.Spec.Containers = p.Spec.Containers[:1]
			p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "own", MountPath: ServiceAccountTokenMountDir}}
		}), wantSA: "default", check: func(t *testing.T, p *corev1.Pod) {
			if len(p.Spec.Volumes) != 0 {
				t.Errorf("volumes = %v", p.Spec.Volumes)
			}
		}},
		{name: "existing kube-api-access volume reused", pod: saPod(func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{TokenVolume("kube-api-access-zzzzz")}
		}), wantSA: "default", check: func(t *testing.T, p *corev1.Pod) {
			if len(p.Spec.Volumes) != 1 || p.Spec.Containers[0].VolumeMounts[0].Name != "kube-api-access-zzzzz" {
				t.Errorf("spec = %+v", p.Spec)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := &fakeSAGetter{sas: sas}
			plugin := NewServiceAccountPlugin(g, func() string { return "abcde" }, func(context.Context, time.Duration) error { return nil })
			err := plugin.Admit(context.Background(), &Attributes{Operation: Create, Resource: schema.GroupVersionResource{Version: "v1", Resource: "pods"}, Namespace: "ns", Object: c.pod})
			if c.wantErr != "" {
				if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want Forbidden containing %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			p := c.pod
			if c.wantSA != "" && (p.Spec.ServiceAccountName != c.wantSA || p.Spec.DeprecatedServiceAccount != c.wantSA) {
				t.Errorf("serviceAccountName = %q/%q, want %q", p.Spec.ServiceAccountName, p.Spec.DeprecatedServiceAccount, c.wantSA)
			}
			if c.wantMount {
				if len(p.Spec.Volumes) != 1 || p.Spec.Volumes[0].Name != "kube-api-access-abcde" {
					t.Fatalf("volumes = %+v", p.Spec.Volumes)
				}
				checkTokenVolume(t, p.Spec.Volumes[0])
				for _, ctr := range append(append([]corev1.Container{}, p.Spec.InitContainers...), p.Spec.Containers...) {
					want := corev1.VolumeMount{Name: "kube-api-access-abcde", ReadOnly: true, MountPath: "/var/run/secrets/kubernetes.io/serviceaccount"}
					if len(ctr.VolumeMounts) != 1 || ctr.VolumeMounts[0] != want {
						t.Errorf("container %s mounts = %+v", ctr.Name, ctr.VolumeMounts)
					}
				}
			} else if c.check == nil && len(p.Spec.Volumes) != 0 {
				t.Errorf("unexpected volumes %+v", p.Spec.Volumes)
			}
			if c.check != nil {
				c.check(t, p)
			}
		})
	}
}

func checkTokenVolume(t *testing.T, v corev1.Volume) {
	t.Helper()
	pr := v.Projected
	if pr == nil || *pr.DefaultMode != 0o644 || len(pr.Sources) != 3 {
		t.Fatalf("volume = %+v", v)
	}
	if s := pr.Sources[0].ServiceAccountToken; s == nil || *s.ExpirationSeconds != 3607 || s.Path != "token" {
		t.Errorf("token source = %+v", pr.Sources[0])
	}
	if s := pr.Sources[1].ConfigMap; s == nil || s.Name != "kube-root-ca.crt" || len(s.Items) != 1 || s.Items[0].Key != "ca.crt" || s.Items[0].Path != "ca.crt" {
		t.Errorf("configMap source = %+v", pr.Sources[1])
	}
	if s := pr.Sources[2].DownwardAPI; s == nil || len(s.Items) != 1 || s.Items[0].Path != "namespace" || s.Items[0].FieldRef.FieldPath != "metadata.namespace" {
		t.Errorf("downwardAPI source = %+v", pr.Sources[2])
	}
}

func TestServiceAccountDefaultRetried(t *testing.T) {
	late := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: "ns"}}
	var slept int
	sleep := func(context.Context, time.Duration) error { slept++; return nil }
	g := &fakeSAGetter{appearAfter: 4, late: late}
	p := NewServiceAccountPlugin(g, func() string { return "abcde" }, sleep)
	if err := p.Admit(context.Background(), &Attributes{Operation: Create, Resource: schema.GroupVersionResource{Version: "v1", Resource: "pods"}, Namespace: "ns", Object: saPod(nil)}); err != nil {
		t.Fatal(err)
	}
	if g.calls != 4 || slept != 3 {
		t.Errorf("calls %d slept %d", g.calls, slept)
	}
	// Never appearing: 10 lookups, then Forbidden.
	g, slept = &fakeSAGetter{}, 0
	p = NewServiceAccountPlugin(g, func() string { return "abcde" }, sleep)
	err := p.Admit(context.Background(), &Attributes{Operation: Create, Resource: schema.GroupVersionResource{Version: "v1", Resource: "pods"}, Namespace: "ns", Object: saPod(nil)})
	if !apierrors.IsForbidden(err) || g.calls != 10 {
		t.Errorf("err %v calls %d", err, g.calls)
	}
	// A named SA is looked up once.
	g = &fakeSAGetter{}
	p = NewServiceAccountPlugin(g, func() string { return "abcde" }, sleep)
	_ = p.Admit(context.Background(), &Attributes{Operation: Create, Resource: schema.GroupVersionResource{Version: "v1", Resource: "pods"}, Namespace: "ns",
		Object: saPod(func(p *corev1.Pod) { p.Spec.ServiceAccountName = "x" })})
	if g.calls != 1 {
		t.Errorf("named SA looked up %d times", g.calls)
	}
}

func TestServiceAccountIgnoresOtherRequests(t *testing.T) {
	g := &fakeSAGetter{}
	p := NewServiceAccountPlugin(g, func() string { return "abcde" }, nil)
	for _, a := range []*Attributes{
		{Operation: Update, Resource: schema.GroupVersionResource{Version: "v1", Resource: "pods"}, Object: saPod(nil)},
		{Operation: Create, Resource: schema.GroupVersionResource{Version: "v1", Resource: "pods"}, Subresource: "binding", Object: saPod(nil)},
		{Operation: Create, Resource: schema.GroupVersionResource{Version: "v1", Resource: "secrets"}, Object: &corev1.Secret{}},
	} {
		if err := p.Admit(context.Background(), a); err != nil || g.calls != 0 {
			t.Errorf("%+v: err %v calls %d", a, err, g.calls)
		}
	}
}
