// Package event is the registry entry for core/v1 events.
package event

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/peapod/peapod/internal/registry"
)

// selectable lists the event-specific field selector keys, as
// kube-apiserver's event strategy.
func selectable() []string {
	return []string{
		"involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
		"involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion",
		"involvedObject.fieldPath", "reason", "reportingComponent", "source", "type",
	}
}

// Length limits of the newer event fields (core validation).
const (
	reportingInstanceLengthLimit = 128
	actionLengthLimit            = 128
	reasonLengthLimit            = 128
	noteLengthLimit              = 1024
)

// NewResource returns the events resource (wall-clock LAST SEEN).
func NewResource() *registry.Resource { return NewResourceWithClock(time.Now) }

// NewResourceWithClock returns the events resource with an injected clock.
func NewResourceWithClock(now func() time.Time) *registry.Resource {
	return &registry.Resource{
		GVR:          schema.GroupVersionResource{Version: "v1", Resource: "events"},
		Kind:         "Event",
		ListKind:     "EventList",
		SingularName: "event",
		ShortNames:   []string{"ev"},
		Namespaced:   true,
		New:          func() runtime.Object { return &corev1.Event{} },
		NewList:      func() runtime.Object { return &corev1.EventList{} },
		Strategy: &Strategy{registry.BaseStrategy{Table: &registry.TableConvertor{
			GVK:     corev1.SchemeGroupVersion.WithKind("Event"),
			Columns: columns(),
			Row:     row,
			Now:     now,
		}, CreateOnUpdate: true}},
	}
}

// Strategy implements registry.Strategy for events.
type Strategy struct{ registry.BaseStrategy }

var (
	_ registry.Strategy    = (*Strategy)(nil)
	_ registry.FieldSetter = (*Strategy)(nil)
)

// PrepareForCreate clears metadata.generation (unused for events in
// Kubernetes).
func (*Strategy) PrepareForCreate(_ context.Context, obj runtime.Object) {
	obj.(*corev1.Event).Generation = 0
}

// Validate checks a new event.
func (*Strategy) Validate(_ context.Context, obj runtime.Object) field.ErrorList {
	return Validate(obj.(*corev1.Event))
}

// ValidateUpdate checks an update: for core/v1 Kubernetes only applies the
// legacy event checks (events.k8s.io adds immutability, peapod does not
// serve it).
func (*Strategy) ValidateUpdate(_ context.Context, obj, _ runtime.Object) field.ErrorList {
	return validateLegacy(obj.(*corev1.Event))
}

// GetAttrs returns labels and the event's selectable fields.
func (*Strategy) GetAttrs(obj runtime.Object) (labels.Set, fields.Set, error) {
	e := obj.(*corev1.Event)
	return registry.Attrs(&e.ObjectMeta, Fields(e))
}

// Fields returns the event-specific selectable fields.
func Fields(e *corev1.Event) fields.Set {
	source := e.Source.Component
	if source == "" {
		source = e.ReportingController
	}
	return fields.Set{
		"involvedObject.kind":            e.InvolvedObject.Kind,
		"involvedObject.namespace":       e.InvolvedObject.Namespace,
		"involvedObject.name":            e.InvolvedObject.Name,
		"involvedObject.uid":             string(e.InvolvedObject.UID),
		"involvedObject.apiVersion":      e.InvolvedObject.APIVersion,
		"involvedObject.resourceVersion": e.InvolvedObject.ResourceVersion,
		"involvedObject.fieldPath":       e.InvolvedObject.FieldPath,
		"reason":                         e.Reason,
		"reportingComponent":             e.ReportingController,
		"source":                         source,
		"type":                           e.Type,
	}
}

// SelectableFields lists the resource-specific field selector keys (the
// edge always allows metadata.name and metadata.namespace).
func (*Strategy) SelectableFields() []string { return registry.SelectableFields(selectable()...) }

// Validate is Kubernetes' event create validation for core/v1 requests:
// the legacy checks only (no metadata name rules, for old clients).
func Validate(e *corev1.Event) field.ErrorList {
	return validateLegacy(e)
}

// validateLegacy is upstream's legacyValidateEvent for core/v1 requests.
func validateLegacy(e *corev1.Event) field.ErrorList {
	var errs field.ErrorList
	nsPath := field.NewPath("involvedObject", "namespace")
	if e.EventTime.IsZero() {
		if e.InvolvedObject.Namespace == "" {
			if e.Namespace != metav1.NamespaceNone && e.Namespace != metav1.NamespaceDefault {
				errs = append(errs, field.Invalid(nsPath, e.InvolvedObject.Namespace, "does not match event.namespace"))
			}
		} else if e.Namespace != e.InvolvedObject.Namespace {
			errs = append(errs, field.Invalid(nsPath, e.InvolvedObject.Namespace, "does not match event.namespace"))
		}
	} else {
		if e.InvolvedObject.Namespace == "" && e.Namespace != metav1.NamespaceDefault && e.Namespace != metav1.NamespaceSystem {
			errs = append(errs, field.Invalid(nsPath, e.InvolvedObject.Namespace, "does not match event.namespace"))
		}
		rc := field.NewPath("reportingComponent")
		if e.ReportingController == "" {
			errs = append(errs, field.Required(rc, ""))
		}
		for _, msg := range validation.IsQualifiedName(e.ReportingController) {
			errs = append(errs, field.Invalid(rc, e.ReportingController, msg))
		}
		if e.ReportingInstance == "" {
			errs = append(errs, field.Required(field.NewPath("reportingInstance"), ""))
		}
		if len(e.ReportingInstance) > reportingInstanceLengthLimit {
			errs = append(errs, field.Invalid(field.NewPath("reportingInstance"), "", fmt.Sprintf("can have at most %v characters", reportingInstanceLengthLimit)))
		}
		if e.Action == "" {
			errs = append(errs, field.Required(field.NewPath("action"), ""))
		}
		if len(e.Action) > actionLengthLimit {
			errs = append(errs, field.Invalid(field.NewPath("action"), "", fmt.Sprintf("can have at most %v characters", actionLengthLimit)))
		}
		if e.Reason == "" {
			errs = append(errs, field.Required(field.NewPath("reason"), ""))
		}
		if len(e.Reason) > reasonLengthLimit {
			errs = append(errs, field.Invalid(field.NewPath("reason"), "", fmt.Sprintf("can have at most %v characters", reasonLengthLimit)))
		}
		if len(e.Message) > noteLengthLimit {
			errs = append(errs, field.Invalid(field.NewPath("message"), "", fmt.Sprintf("can have at most %v characters", noteLengthLimit)))
		}
	}
	for _, msg := range validation.IsDNS1123Subdomain(e.Namespace) {
		errs = append(errs, field.Invalid(field.NewPath("namespace"), e.Namespace, msg))
	}
	return errs
}

func columns() []metav1.TableColumnDefinition {
	d := corev1.Event{}.SwaggerDoc()
	return []metav1.TableColumnDefinition{
		registry.Column("Last Seen", "string", 0, d["lastTimestamp"]),
		registry.Column("Type", "string", 0, d["type"]),
		registry.Column("Reason", "string", 0, d["reason"]),
		registry.Column("Object", "string", 0, d["involvedObject"]),
		registry.Column("Subobject", "string", 1, corev1.ObjectReference{}.SwaggerDoc()["fieldPath"]),
		registry.Column("Source", "string", 1, d["source"]),
		registry.Column("Message", "string", 0, d["message"]),
		registry.Column("First Seen", "string", 1, d["firstTimestamp"]),
		registry.Column("Count", "string", 1, d["count"]),
		{Name: "Name", Type: "string", Priority: 1, Format: "name", Description: metav1.ObjectMeta{}.SwaggerDoc()["name"]},
	}
}

// row is kube-apiserver's printEvent (always wide).
func row(obj runtime.Object, now time.Time) (metav1.TableRow, error) {
	e := obj.(*corev1.Event)
	first := registry.HumanAge(e.FirstTimestamp, now)
	if e.FirstTimestamp.IsZero() {
		first = microAge(e.EventTime, now)
	}
	last := registry.HumanAge(e.LastTimestamp, now)
	if e.LastTimestamp.IsZero() {
		last = first
	}
	count := e.Count
	if e.Series != nil {
		last = microAge(e.Series.LastObservedTime, now)
		count = e.Series.Count
	} else if count == 0 {
		count = 1
	}
	target := strings.ToLower(e.InvolvedObject.Kind)
	if e.InvolvedObject.Name != "" {
		target += "/" + e.InvolvedObject.Name
	}
	return metav1.TableRow{Cells: []interface{}{
		last, e.Type, e.Reason, target, e.InvolvedObject.FieldPath,
		source(e.Source, e.ReportingController, e.ReportingInstance),
		strings.TrimSpace(e.Message), first, int64(count), e.Name,
	}}, nil
}

func microAge(t metav1.MicroTime, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return registry.HumanAge(metav1.NewTime(t.Time), now)
}

func source(s corev1.EventSource, controller, instance string) string {
	component, host := s.Component, s.Host
	if component == "" {
		component = controller
	}
	if host == "" {
		host = instance
	}
	if host == "" {
		return component
	}
	return component + ", " + host
}
