package admission

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	settingsv1alpha1 "github.com/peapod/peapod/internal/apis/settings/v1alpha1"
)

// fakePresetLister serves presets by namespace, in the order given.
type fakePresetLister struct {
	presets map[string][]*settingsv1alpha1.PodPreset
	err     error
	calls   []string
}

var _ PodPresetLister = (*fakePresetLister)(nil)

func (f *fakePresetLister) ListPodPresets(_ context.Context, namespace string) ([]*settingsv1alpha1.PodPreset, error) {
	f.calls = append(f.calls, namespace)
	if f.err != nil {
		return nil, f.err
	}
	return f.presets[namespace], nil
}

type recordedEvent struct {
	obj       runtime.Object
	eventType string
	reason    string
	message   string
}

type fakeEventRecorder struct{ events []recordedEvent }

var _ PodPresetEventRecorder = (*fakeEventRecorder)(nil)

func (f *fakeEventRecorder) Eventf(_ context.Context, obj runtime.Object, eventType, reason, messageFmt string, args ...any) {
	f.events = append(f.events, recordedEvent{obj, eventType, reason, fmt.Sprintf(messageFmt, args...)})
}

var podsGVR = schema.GroupVersionResource{Version: "v1", Resource: "pods"}

func podCreate(pod *v1.Pod) *Attributes {
	return &Attributes{
		Operation: Create,
		Resource:  podsGVR,
		Kind:      schema.GroupVersionKind{Version: "v1", Kind: "Pod"},
		Namespace: pod.Namespace,
		Name:      pod.Name,
		Object:    pod,
	}
}

func TestPodPresetAdmit(t *testing.T) {
	conflicting := withPreset(allowDatabase(), func(pp *settingsv1alpha1.PodPreset) {
		pp.Name = "other-db"
		pp.Spec.Env[0].Value = "6380"
	})
	annotated := func(p *v1.Pod, kv ...string) *v1.Pod {
		if p.Annotations == nil {
			p.Annotations = map[string]string{}
		}
		for i := 0; i < len(kv); i += 2 {
			p.Annotations[kv[i]] = kv[i+1]
		}
		return p
	}
	docResult := func(p *v1.Pod) *v1.Pod {
		p = annotated(p, "podpreset.admission.kubernetes.io/podpreset-allow-database", "1000")
		p.Spec.Volumes = append(p.Spec.Volumes, emptyDirVolume("cache-volume"))
		c := &p.Spec.Containers[0]
		c.Env = append(c.Env, v1.EnvVar{Name: "DB_PORT", Value: "6379"})
		c.VolumeMounts = append(c.VolumeMounts, v1.VolumeMount{MountPath: "/cache", Name: "cache-volume"})
		return p
	}

	tests := []struct {
		name       string
		presets    []*settingsv1alpha1.PodPreset // in namespace default
		attrs      *Attributes
		want       runtime.Object // the object after Admit
		wantEvents []recordedEvent
		wantList   bool // whether the presets are listed at all
	}{
		{
			name:     "pod create gets the documentation example",
			presets:  []*settingsv1alpha1.PodPreset{allowDatabase()},
			attrs:    podCreate(website()),
			want:     docResult(website()),
			wantList: true,
		},
		{
			name:    "presets are applied in name order whatever the store returns",
			presets: []*settingsv1alpha1.PodPreset{proxy(), allowDatabase()},
			attrs:   podCreate(website()),
			want: withPod(docResult(website()), func(p *v1.Pod) {
				p.Annotations["podpreset.admission.kubernetes.io/podpreset-proxy"] = "1001"
				p.Spec.Volumes = append(p.Spec.Volumes, emptyDirVolume("proxy-volume"))
				c := &p.Spec.Containers[0]
				c.VolumeMounts = append(c.VolumeMounts, v1.VolumeMount{MountPath: "/etc/proxy/configs", Name: "proxy-volume"})
			}),
			wantList: true,
		},
		{
			name:     "exclude annotation true leaves the pod alone",
			presets:  []*settingsv1alpha1.PodPreset{allowDatabase()},
			attrs:    podCreate(annotated(website(), "podpreset.admission.kubernetes.io/exclude", "true")),
			want:     annotated(website(), "podpreset.admission.kubernetes.io/exclude", "true"),
			wantList: false,
		},
		{
			name:     "exclude annotation must be exactly true",
			presets:  []*settingsv1alpha1.PodPreset{allowDatabase()},
			attrs:    podCreate(annotated(website(), "podpreset.admission.kubernetes.io/exclude", "True")),
			want:     docResult(annotated(website(), "podpreset.admission.kubernetes.io/exclude", "True")),
			wantList: true,
		},
		{
			name:     "mirror pods are left alone",
			presets:  []*settingsv1alpha1.PodPreset{allowDatabase()},
			attrs:    podCreate(annotated(website(), "kubernetes.io/config.mirror", "abc")),
			want:     annotated(website(), "kubernetes.io/config.mirror", "abc"),
			wantList: false,
		},
		{
			name:     "non-matching selector",
			presets:  []*settingsv1alpha1.PodPreset{allowDatabase()},
			attrs:    podCreate(withPod(website(), func(p *v1.Pod) { p.Labels = map[string]string{"role": "backend"} })),
			want:     withPod(website(), func(p *v1.Pod) { p.Labels = map[string]string{"role": "backend"} }),
			wantList: true,
		},
		{
			name: "empty selector matches a pod without labels",
			presets: []*settingsv1alpha1.PodPreset{withPreset(allowDatabase(), func(pp *settingsv1alpha1.PodPreset) {
				pp.Spec.Selector = metav1.LabelSelector{}
			})},
			attrs:    podCreate(withPod(website(), func(p *v1.Pod) { p.Labels = nil })),
			want:     docResult(withPod(website(), func(p *v1.Pod) { p.Labels = nil })),
			wantList: true,
		},
		{
			name:     "presets of other namespaces do not apply",
			presets:  []*settingsv1alpha1.PodPreset{allowDatabase()},
			attrs:    podCreate(withPod(website(), func(p *v1.Pod) { p.Namespace = "prod" })),
			want:     withPod(website(), func(p *v1.Pod) { p.Namespace = "prod" }),
			wantList: true,
		},
		{
			name:    "pod update is untouched",
			presets: []*settingsv1alpha1.PodPreset{allowDatabase()},
			attrs: func() *Attributes {
				a := podCreate(website())
				a.Operation = Update
				a.OldObject = website()
				return a
			}(),
			want: website(),
		},
		{
			name:    "status subresource is untouched",
			presets: []*settingsv1alpha1.PodPreset{allowDatabase()},
			attrs: func() *Attributes {
				a := podCreate(website())
				a.Subresource = "status"
				return a
			}(),
			want: website(),
		},
		{
			name:    "a Deployment is never touched, even with a matching template",
			presets: []*settingsv1alpha1.PodPreset{allowDatabase()},
			attrs: &Attributes{
				Operation: Create,
				Resource:  schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"},
				Kind:      schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"},
				Namespace: "default",
				Object:    frontendDeployment(),
			},
			want: frontendDeployment(),
		},
		{
			name:    "a resource named pods in another group is not a Pod",
			presets: []*settingsv1alpha1.PodPreset{allowDatabase()},
			attrs: func() *Attributes {
				a := podCreate(website())
				a.Resource.Group = "example.com"
				return a
			}(),
			want: website(),
		},
		{
			name:     "conflict: pod unmodified and a Warning event naming presets and field",
			presets:  []*settingsv1alpha1.PodPreset{conflicting, allowDatabase()},
			attrs:    podCreate(website()),
			want:     website(),
			wantList: true,
			wantEvents: []recordedEvent{{
				obj:       &v1.ObjectReference{APIVersion: "v1", Kind: "Pod", Namespace: "default", Name: "website"},
				eventType: "Warning",
				reason:    "PodPresetConflict",
				message: `conflict occurred while applying podpresets: allow-database,other-db on pod: website err: ` +
					`merging env for other-db has a conflict on DB_PORT in container "website" (spec.containers[0].env): ` +
					`it differs from the one from podpreset allow-database; the pod was admitted without any preset`,
			}},
		},
		{
			name:    "conflict on a generateName pod refers to the generateName",
			presets: []*settingsv1alpha1.PodPreset{conflicting, allowDatabase()},
			attrs: podCreate(withPod(website(), func(p *v1.Pod) {
				p.Name, p.GenerateName = "", "website-"
			})),
			want:     withPod(website(), func(p *v1.Pod) { p.Name, p.GenerateName = "", "website-" }),
			wantList: true,
			wantEvents: []recordedEvent{{
				obj:       &v1.ObjectReference{APIVersion: "v1", Kind: "Pod", Namespace: "default", Name: "website-"},
				eventType: "Warning",
				reason:    "PodPresetConflict",
				message: `conflict occurred while applying podpresets: allow-database,other-db on pod: website- err: ` +
					`merging env for other-db has a conflict on DB_PORT in container "website" (spec.containers[0].env): ` +
					`it differs from the one from podpreset allow-database; the pod was admitted without any preset`,
			}},
		},
		{
			name:    "conflict on a dry run records no event",
			presets: []*settingsv1alpha1.PodPreset{conflicting, allowDatabase()},
			attrs: func() *Attributes {
				a := podCreate(website())
				a.DryRun = true
				return a
			}(),
			want:     website(),
			wantList: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lister := &fakePresetLister{presets: map[string][]*settingsv1alpha1.PodPreset{"default": tc.presets}}
			events := &fakeEventRecorder{}
			p := NewPodPresetPlugin(lister, events)
			if err := p.Admit(context.Background(), tc.attrs); err != nil {
				t.Fatalf("Admit: %v", err)
			}
			if diff := cmp.Diff(tc.want, tc.attrs.Object); diff != "" {
				t.Errorf("object (-want +got):\n%s", diff)
			}
			if got := len(lister.calls) > 0; got != tc.wantList {
				t.Errorf("listed presets = %v, want %v", got, tc.wantList)
			}
			if diff := cmp.Diff(tc.wantEvents, events.events, cmp.AllowUnexported(recordedEvent{})); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}
}

func frontendDeployment() *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"role": "frontend"}},
			Template: v1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"role": "frontend"}},
				Spec:       website().Spec,
			},
		},
	}
}

func TestPodPresetAdmitErrors(t *testing.T) {
	t.Run("lister error fails the create", func(t *testing.T) {
		boom := errors.New("etcd down")
		p := NewPodPresetPlugin(&fakePresetLister{err: boom}, nil)
		err := p.Admit(context.Background(), podCreate(website()))
		if !errors.Is(err, boom) {
			t.Fatalf("err = %v, want it to wrap %v", err, boom)
		}
	})
	t.Run("a pods create carrying another type is a bad request", func(t *testing.T) {
		p := NewPodPresetPlugin(&fakePresetLister{}, nil)
		a := podCreate(website())
		a.Object = frontendDeployment()
		if err := p.Admit(context.Background(), a); !apierrors.IsBadRequest(err) {
			t.Fatalf("err = %v, want BadRequest", err)
		}
	})
	t.Run("a conflict without an event recorder still admits unmodified", func(t *testing.T) {
		other := withPreset(allowDatabase(), func(pp *settingsv1alpha1.PodPreset) { pp.Name, pp.Spec.Env[0].Value = "b", "1" })
		lister := &fakePresetLister{presets: map[string][]*settingsv1alpha1.PodPreset{"default": {allowDatabase(), other}}}
		a := podCreate(website())
		if err := NewPodPresetPlugin(lister, nil).Admit(context.Background(), a); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(website(), a.Object); diff != "" {
			t.Errorf("pod changed:\n%s", diff)
		}
	})
}

func TestPodPresetConflictMessageIsBounded(t *testing.T) {
	pod := website()
	for i := 0; i < 10; i++ {
		pod.Spec.Containers = append(pod.Spec.Containers, v1.Container{Name: fmt.Sprintf("c%d", i),
			Env: []v1.EnvVar{{Name: "DB_PORT", Value: "1"}}})
	}
	_, conflicts := mergePodPresets(pod, []*settingsv1alpha1.PodPreset{allowDatabase()})
	if len(conflicts) != 10 {
		t.Fatalf("conflicts = %d, want 10", len(conflicts))
	}
	msg := podPresetConflictMessage(pod, []*settingsv1alpha1.PodPreset{allowDatabase()}, conflicts)
	if !strings.Contains(msg, "; and 7 more;") || len(msg) > 1024 {
		t.Errorf("message (%d bytes) = %q", len(msg), msg)
	}
}
