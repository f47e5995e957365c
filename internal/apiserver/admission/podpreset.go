package admission

import (
	"context"
	"fmt"
	"strings"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"

	settingsv1alpha1 "github.com/peapod/peapod/internal/apis/settings/v1alpha1"
)

// PodPresetPluginName is the plugin's name, as in kube-apiserver's
// --enable-admission-plugins.
const PodPresetPluginName = "PodPreset"

// PodPresetConflictReason is the reason of the Warning event recorded when
// matching presets cannot be applied to a pod.
const PodPresetConflictReason = "PodPresetConflict"

// podPresetMaxConflictsInEvent bounds the event message; the rest are
// counted.
const podPresetMaxConflictsInEvent = 3

// PodPresetLister lists the PodPresets of one namespace. The order does not
// matter (the plugin sorts by name). An error fails the pod's creation
// (500), as upstream.
type PodPresetLister interface {
	ListPodPresets(ctx context.Context, namespace string) ([]*settingsv1alpha1.PodPreset, error)
}

// PodPresetEventRecorder records an event about obj. It must not block the
// request for long and reports no error: a lost event never fails an
// admission. The plugin passes a *v1.ObjectReference as obj (see
// podPresetEventRef), which client-go's reference helpers return as is.
type PodPresetEventRecorder interface {
	Eventf(ctx context.Context, obj runtime.Object, eventType, reason, messageFmt string, args ...any)
}

// PodPresetPlugin injects the env, envFrom, volumes and volumeMounts of
// every matching PodPreset into pods at creation (SEMANTICS.md section 13).
type PodPresetPlugin struct {
	lister PodPresetLister
	events PodPresetEventRecorder
}

var _ MutationInterface = (*PodPresetPlugin)(nil)

// NewPodPresetPlugin returns the plugin. events may be nil: conflicts are
// then only visible as the missing annotation.
func NewPodPresetPlugin(lister PodPresetLister, events PodPresetEventRecorder) *PodPresetPlugin {
	return &PodPresetPlugin{lister: lister, events: events}
}

// Name implements MutationInterface.
func (p *PodPresetPlugin) Name() string { return PodPresetPluginName }

// Admit implements MutationInterface. Only the creation of a Pod (no
// subresource) is considered; mirror pods and pods annotated
// podpreset.admission.kubernetes.io/exclude: "true" are left alone. If
// the matching presets conflict, the pod is admitted unmodified and a
// Warning event PodPresetConflict names the presets and the fields.
func (p *PodPresetPlugin) Admit(ctx context.Context, a *Attributes) error {
	if a.Operation != Create || a.Subresource != "" || a.Resource.Group != "" || a.Resource.Resource != "pods" {
		return nil
	}
	pod, ok := a.Object.(*v1.Pod)
	if !ok {
		return apierrors.NewBadRequest("Resource was marked with kind Pod but was unable to be converted")
	}
	if _, mirror := pod.Annotations[v1.MirrorPodAnnotationKey]; mirror {
		return nil
	}
	if pod.Annotations[PodPresetExcludeAnnotation] == "true" {
		return nil
	}
	namespace := a.Namespace
	if namespace == "" {
		namespace = pod.Namespace
	}
	all, err := p.lister.ListPodPresets(ctx, namespace)
	if err != nil {
		return fmt.Errorf("listing pod presets in namespace %q: %w", namespace, err)
	}
	matching, err := presetsMatching(all, pod.Labels)
	if err != nil {
		return fmt.Errorf("filtering pod presets: %w", err)
	}
	if len(matching) == 0 {
		return nil
	}
	merged, conflicts := mergePodPresets(pod, matching)
	if len(conflicts) > 0 {
		// A dry run creates nothing, so it records nothing either.
		if p.events != nil && !a.DryRun {
			p.events.Eventf(ctx, podPresetEventRef(pod, namespace), v1.EventTypeWarning, PodPresetConflictReason,
				"%s", podPresetConflictMessage(pod, matching, conflicts))
		}
		return nil
	}
	*pod = *merged
	return nil
}

// podPresetEventRef is the involvedObject of a conflict event: apiVersion
// v1, kind Pod, the namespace, the name and the UID. The pod is not stored
// yet at admission; peapod's API edge assigns the name (from generateName)
// and the UID before admission, so the event carries both and `kubectl
// describe pod` (which filters on the UID) lists it. Should a pod arrive
// without them, the reference carries the generateName and no UID, as
// kube's own events about pods being created do; such an event shows in
// `kubectl get events` only.
func podPresetEventRef(pod *v1.Pod, namespace string) *v1.ObjectReference {
	name := pod.Name
	if name == "" {
		name = pod.GenerateName
	}
	return &v1.ObjectReference{
		APIVersion: "v1",
		Kind:       "Pod",
		Namespace:  namespace,
		Name:       name,
		UID:        pod.UID,
	}
}

// podPresetConflictMessage is upstream's warning log line, which its docs
// promised as an event: the presets, the pod, and what conflicts.
func podPresetConflictMessage(pod *v1.Pod, presets []*settingsv1alpha1.PodPreset, conflicts []presetConflict) string {
	names := make([]string, len(presets))
	for i, pp := range presets {
		names[i] = pp.Name
	}
	podName := pod.Name
	if podName == "" {
		podName = pod.GenerateName
	}
	var b strings.Builder
	fmt.Fprintf(&b, "conflict occurred while applying podpresets: %s on pod: %s err: ", strings.Join(names, ","), podName)
	for i, c := range conflicts {
		if i == podPresetMaxConflictsInEvent {
			fmt.Fprintf(&b, "; and %d more", len(conflicts)-i)
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(c.String())
	}
	b.WriteString("; the pod was admitted without any preset")
	return b.String()
}
