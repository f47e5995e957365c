// Package pod is the registry entry for core/v1 pods: validation (spec,
// update immutability, status), the status split, graceful deletion,
// selectable fields and the `kubectl get pods` table.
package pod

import (
	"context"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/peapod/peapod/internal/registry"
)

// Pod-specific field selector keys, as kube-apiserver's pod strategy.
const (
	FieldSpecNodeName           = "spec.nodeName"
	FieldSpecRestartPolicy      = "spec.restartPolicy"
	FieldSpecSchedulerName      = "spec.schedulerName"
	FieldSpecServiceAccountName = "spec.serviceAccountName"
	FieldSpecHostNetwork        = "spec.hostNetwork"
	FieldStatusPhase            = "status.phase"
	FieldStatusPodIP            = "status.podIP"
	FieldStatusNominatedNode    = "status.nominatedNodeName"
)

// NewResource returns the pods resource (wall-clock AGE) with the status,
// binding, log, exec, attach, portforward and ephemeralcontainers
// subresources.
func NewResource() *registry.Resource { return NewResourceWithClock(time.Now) }

// NewResourceWithClock returns the pods resource with an injected clock.
func NewResourceWithClock(now func() time.Time) *registry.Resource {
	return &registry.Resource{
		GVR:          schema.GroupVersionResource{Version: "v1", Resource: "pods"},
		Kind:         "Pod",
		ListKind:     "PodList",
		SingularName: "pod",
		ShortNames:   []string{"po"},
		Categories:   []string{"all"},
		Namespaced:   true,
		New:          func() runtime.Object { return &corev1.Pod{} },
		NewList:      func() runtime.Object { return &corev1.PodList{} },
		Subresources: []string{"status", "binding", "log", "exec", "attach", "portforward", "ephemeralcontainers"},
		Strategy: &Strategy{table: &registry.TableConvertor{
			GVK:     corev1.SchemeGroupVersion.WithKind("Pod"),
			Columns: columns(),
			Row:     row,
			Now:     now,
		}},
	}
}

// Strategy implements registry.Strategy, StatusStrategy,
// EphemeralContainersStrategy, GracefulDeleter and FieldSetter for pods.
type Strategy struct{ table *registry.TableConvertor }

var (
	_ registry.Strategy                    = (*Strategy)(nil)
	_ registry.StatusStrategy              = (*Strategy)(nil)
	_ registry.EphemeralContainersStrategy = (*Strategy)(nil)
	_ registry.GracefulDeleter             = (*Strategy)(nil)
	_ registry.FieldSetter                 = (*Strategy)(nil)
)

// PrepareForCreate resets status to {phase: Pending, qosClass}, adds the
// SchedulingGated condition when spec.schedulingGates is non-empty, and
// sets generation to 1.
func (*Strategy) PrepareForCreate(_ context.Context, obj runtime.Object) {
	p := obj.(*corev1.Pod)
	p.Status = corev1.PodStatus{Phase: corev1.PodPending, QOSClass: QOSClass(p)}
	if len(p.Spec.SchedulingGates) > 0 {
		p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{
			Type:    corev1.PodScheduled,
			Status:  corev1.ConditionFalse,
			Reason:  corev1.PodReasonSchedulingGated,
			Message: "Scheduling is blocked due to non-empty scheduling gates",
		})
	}
	p.Generation = 1
	dropStopSignals(&p.Spec)
}

// dropStopSignals clears lifecycle.stopSignal, as Kubernetes 1.33 does
// while its ContainerStopSignals gate is off (the default): the field
// exists in the API but nothing would honour it (the image's STOPSIGNAL
// does), so it is not kept to look as if it were.
func dropStopSignals(spec *corev1.PodSpec) {
	for i := range spec.InitContainers {
		dropStopSignal(&spec.InitContainers[i].Lifecycle)
	}
	for i := range spec.Containers {
		dropStopSignal(&spec.Containers[i].Lifecycle)
	}
	for i := range spec.EphemeralContainers {
		dropStopSignal(&spec.EphemeralContainers[i].Lifecycle)
	}
}

// dropStopSignal clears *l's stopSignal, and *l when nothing is left.
func dropStopSignal(l **corev1.Lifecycle) {
	if *l == nil || (*l).StopSignal == nil {
		return
	}
	if (*l).StopSignal = nil; **l == (corev1.Lifecycle{}) {
		*l = nil
	}
}

// PrepareForUpdate keeps the old status; generation is the old one, plus
// one when the spec changed.
func (*Strategy) PrepareForUpdate(_ context.Context, obj, old runtime.Object) {
	p, o := obj.(*corev1.Pod), old.(*corev1.Pod)
	p.Status = o.Status
	p.Generation = o.Generation
	if !equality.Semantic.DeepEqual(p.Spec, o.Spec) {
		p.Generation = o.Generation + 1
	}
}

// PrepareForStatusUpdate keeps the old spec, owner references and
// generation, and backfills qosClass if the writer dropped it.
func (*Strategy) PrepareForStatusUpdate(_ context.Context, obj, old runtime.Object) {
	p, o := obj.(*corev1.Pod), old.(*corev1.Pod)
	p.Spec = o.Spec
	p.OwnerReferences = o.OwnerReferences
	p.Generation = o.Generation
	if p.Status.QOSClass == "" {
		p.Status.QOSClass = o.Status.QOSClass
	}
	syncIPs(&p.Status)
}

// PrepareForEphemeralContainersUpdate keeps everything of the old pod but
// the request's spec.ephemeralContainers, as kube's
// podEphemeralContainersStrategy: the old spec and status, and the old
// labels, annotations, finalizers, owner references, deletionTimestamp
// and generation (metav1.ResetObjectMetaForStatus); generation is bumped
// when the ephemeral containers changed.
func (*Strategy) PrepareForEphemeralContainersUpdate(_ context.Context, obj, old runtime.Object) {
	p, o := obj.(*corev1.Pod), old.(*corev1.Pod)
	ecs := p.Spec.EphemeralContainers
	p.Spec = *o.Spec.DeepCopy()
	p.Spec.EphemeralContainers = ecs
	p.Status = *o.Status.DeepCopy()
	metav1.ResetObjectMetaForStatus(&p.ObjectMeta, &o.ObjectMeta)
	for i := range p.Spec.EphemeralContainers {
		dropStopSignal(&p.Spec.EphemeralContainers[i].Lifecycle)
	}
	if !equality.Semantic.DeepEqual(p.Spec, o.Spec) {
		p.Generation = o.Generation + 1
	}
}

// ValidateEphemeralContainersUpdate checks an update through
// pods/<name>/ephemeralcontainers.
func (*Strategy) ValidateEphemeralContainersUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	return ValidateEphemeralContainersUpdate(obj.(*corev1.Pod), old.(*corev1.Pod))
}

// syncIPs keeps podIP/podIPs and hostIP/hostIPs consistent, as the v1
// conversion does upstream: a writer may set either form, and when both
// are set and differ the singular field wins (older kubelets only update
// podIP).
func syncIPs(s *corev1.PodStatus) {
	switch {
	case s.PodIP != "" && (len(s.PodIPs) == 0 || s.PodIPs[0].IP != s.PodIP):
		s.PodIPs = []corev1.PodIP{{IP: s.PodIP}}
	case s.PodIP == "" && len(s.PodIPs) > 0:
		s.PodIP = s.PodIPs[0].IP
	}
	switch {
	case s.HostIP != "" && (len(s.HostIPs) == 0 || s.HostIPs[0].IP != s.HostIP):
		s.HostIPs = []corev1.HostIP{{IP: s.HostIP}}
	case s.HostIP == "" && len(s.HostIPs) > 0:
		s.HostIP = s.HostIPs[0].IP
	}
}

// Validate checks a new pod: metadata and the whole spec.
func (*Strategy) Validate(_ context.Context, obj runtime.Object) field.ErrorList {
	return Validate(obj.(*corev1.Pod))
}

// ValidateUpdate checks an update: metadata, spec, and that only the
// mutable spec fields changed.
func (*Strategy) ValidateUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	return ValidateUpdate(obj.(*corev1.Pod), old.(*corev1.Pod))
}

// ValidateStatusUpdate checks a status update.
func (*Strategy) ValidateStatusUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	return ValidateStatusUpdate(obj.(*corev1.Pod), old.(*corev1.Pod))
}

// AllowCreateOnUpdate is false for pods.
func (*Strategy) AllowCreateOnUpdate() bool { return false }

// CheckGracefulDelete is kube-apiserver's podStrategy.CheckGracefulDelete
// (SEMANTICS.md section 6): the grace period is options.gracePeriodSeconds
// if given, else spec.terminationGracePeriodSeconds; 0 when the pod is not
// scheduled or already terminal; negative becomes 1. options is updated
// to the chosen period, and the result says whether it is graceful
// (period > 0). A nil options means an immediate delete.
func (*Strategy) CheckGracefulDelete(_ context.Context, obj runtime.Object, options *metav1.DeleteOptions) bool {
	if options == nil {
		return false
	}
	period := GracePeriod(obj.(*corev1.Pod), options.GracePeriodSeconds)
	options.GracePeriodSeconds = &period
	return period > 0
}

// GracePeriod computes a pod's deletion grace period from the requested
// one (nil: not given).
func GracePeriod(p *corev1.Pod, requested *int64) int64 {
	var period int64
	switch {
	case requested != nil:
		period = *requested
	case p.Spec.TerminationGracePeriodSeconds != nil:
		period = *p.Spec.TerminationGracePeriodSeconds
	}
	if p.Spec.NodeName == "" || p.Status.Phase == corev1.PodFailed || p.Status.Phase == corev1.PodSucceeded {
		period = 0
	}
	if period < 0 {
		period = 1
	}
	return period
}

// GetAttrs returns labels and the pod's selectable fields.
func (*Strategy) GetAttrs(obj runtime.Object) (labels.Set, fields.Set, error) {
	p := obj.(*corev1.Pod)
	return registry.Attrs(&p.ObjectMeta, Fields(p))
}

// Fields returns the pod-specific selectable fields.
func Fields(p *corev1.Pod) fields.Set {
	podIP := p.Status.PodIP
	if len(p.Status.PodIPs) > 0 {
		podIP = p.Status.PodIPs[0].IP
	}
	return fields.Set{
		FieldSpecNodeName:           p.Spec.NodeName,
		FieldSpecRestartPolicy:      string(p.Spec.RestartPolicy),
		FieldSpecSchedulerName:      p.Spec.SchedulerName,
		FieldSpecServiceAccountName: p.Spec.ServiceAccountName,
		FieldSpecHostNetwork:        strconv.FormatBool(p.Spec.HostNetwork),
		FieldStatusPhase:            string(p.Status.Phase),
		FieldStatusPodIP:            podIP,
		FieldStatusNominatedNode:    p.Status.NominatedNodeName,
	}
}

// SelectableFields lists the resource-specific field selector keys (the
// edge always allows metadata.name and metadata.namespace).
func (*Strategy) SelectableFields() []string {
	return registry.SelectableFields(FieldSpecNodeName, FieldSpecRestartPolicy, FieldSpecSchedulerName,
		FieldSpecServiceAccountName, FieldSpecHostNetwork, FieldStatusPhase, FieldStatusPodIP, FieldStatusNominatedNode)
}

// ConvertToTable renders NAME READY STATUS RESTARTS AGE, and for -o wide
// IP NODE NOMINATED NODE READINESS GATES.
func (s *Strategy) ConvertToTable(_ context.Context, obj runtime.Object, opts *metav1.TableOptions) (*metav1.Table, error) {
	return s.table.ConvertToTable(obj, opts)
}
