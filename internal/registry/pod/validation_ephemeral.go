package pod

import (
	"fmt"
	"reflect"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/peapod/peapod/internal/registry"
)

// allowedEphemeralContainerFields is Kubernetes' allow-list of the
// EphemeralContainerCommon fields an ephemeral container may set; every
// other field (ports, resources, resizePolicy, restartPolicy, probes,
// lifecycle) is refused when set, so that a field added to Container is
// refused until it is considered here.
var allowedEphemeralContainerFields = map[string]bool{
	"Name":                     true,
	"Image":                    true,
	"Command":                  true,
	"Args":                     true,
	"WorkingDir":               true,
	"Ports":                    false,
	"EnvFrom":                  true,
	"Env":                      true,
	"Resources":                false,
	"VolumeMounts":             true,
	"VolumeDevices":            true,
	"LivenessProbe":            false,
	"ReadinessProbe":           false,
	"StartupProbe":             false,
	"Lifecycle":                false,
	"TerminationMessagePath":   true,
	"TerminationMessagePolicy": true,
	"ImagePullPolicy":          true,
	"SecurityContext":          true,
	"Stdin":                    true,
	"StdinOnce":                true,
	"TTY":                      true,
}

const ephemeralForbiddenMsg = "cannot be set for an Ephemeral Container"

// validateEphemeralContainers is Kubernetes' validateEphemeralContainers:
// the checks common to every container, names unique across init,
// regular and ephemeral containers, targetContainerName naming an init or
// regular container, only the allow-listed fields set, and no subPath or
// subPathExpr on a volume mount (bind mounts that would outlive the
// container until the pod ends).
func validateEphemeralContainers(ecs []corev1.EphemeralContainer, containers, inits []corev1.Container,
	vols map[string]corev1.VolumeSource, hostUsers bool, p *field.Path) field.ErrorList {
	if len(ecs) == 0 {
		return nil
	}
	var errs field.ErrorList
	others, all := sets.New[string](), sets.New[string]()
	for _, c := range containers {
		others.Insert(c.Name)
		all.Insert(c.Name)
	}
	for _, c := range inits {
		others.Insert(c.Name)
		all.Insert(c.Name)
	}
	for i := range ecs {
		ec := &ecs[i]
		ip := p.Index(i)
		c := corev1.Container(ec.EphemeralContainerCommon)
		errs = append(errs, validateContainerCommon(&c, vols, hostUsers, ip)...)
		if strings.TrimSpace(c.Image) != c.Image {
			errs = append(errs, field.Invalid(ip.Child("image"), c.Image, "must not have leading or trailing whitespace"))
		}
		if all.Has(ec.Name) {
			errs = append(errs, field.Duplicate(ip.Child("name"), ec.Name))
		} else {
			all.Insert(ec.Name)
		}
		if ec.TargetContainerName != "" && !others.Has(ec.TargetContainerName) {
			errs = append(errs, field.NotFound(ip.Child("targetContainerName"), ec.TargetContainerName))
		}
		errs = append(errs, validateFieldAllowList(ec.EphemeralContainerCommon, allowedEphemeralContainerFields, ephemeralForbiddenMsg, ip)...)
		for j, m := range ec.VolumeMounts {
			if m.SubPath != "" {
				errs = append(errs, field.Forbidden(ip.Child("volumeMounts").Index(j).Child("subPath"), ephemeralForbiddenMsg))
			}
			if m.SubPathExpr != "" {
				errs = append(errs, field.Forbidden(ip.Child("volumeMounts").Index(j).Child("subPathExpr"), ephemeralForbiddenMsg))
			}
		}
	}
	return errs
}

// validateFieldAllowList reports every field of the struct value that is
// set (not its zero value) and not allowed, under its JSON-style name.
func validateFieldAllowList(value any, allowed map[string]bool, msg string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	t, v := reflect.TypeOf(value), reflect.ValueOf(value)
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if allowed[f.Name] {
			continue
		}
		if !reflect.DeepEqual(v.Field(i).Interface(), reflect.Zero(f.Type).Interface()) {
			r, n := utf8.DecodeRuneInString(f.Name)
			errs = append(errs, field.Forbidden(p.Child(string(unicode.ToLower(r))+f.Name[n:]), msg))
		}
	}
	return errs
}

// ValidateEphemeralContainersUpdate is Kubernetes'
// ValidatePodEphemeralContainersUpdate, for an update through
// pods/<name>/ephemeralcontainers (p and old differ only in
// spec.ephemeralContainers and server-owned metadata): metadata update
// rules, the whole new spec, no ephemeral containers on a static (mirror)
// pod, and existing ephemeral containers neither removed nor changed
// (matched by name: a patch need not keep the order).
func ValidateEphemeralContainersUpdate(p, old *corev1.Pod) field.ErrorList {
	errs := registry.ValidateCoreObjectMetaUpdate(&p.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, validateMetadataAndSpec(p)...)
	errs = append(errs, validatePodAnnotationUpdates(p, old)...)
	if _, ok := old.Annotations[mirrorPodAnnotation]; ok {
		return field.ErrorList{field.Forbidden(field.NewPath(""), "static pods do not support ephemeral containers")}
	}
	byName := make(map[string]*corev1.EphemeralContainer, len(p.Spec.EphemeralContainers))
	for i := range p.Spec.EphemeralContainers {
		byName[p.Spec.EphemeralContainers[i].Name] = &p.Spec.EphemeralContainers[i]
	}
	path := field.NewPath("spec", "ephemeralContainers")
	for _, o := range old.Spec.EphemeralContainers {
		n, ok := byName[o.Name]
		switch {
		case !ok:
			errs = append(errs, field.Forbidden(path, fmt.Sprintf("existing ephemeral containers %q may not be removed\n", o.Name)))
		case !equality.Semantic.DeepEqual(o, *n):
			errs = append(errs, field.Forbidden(path, fmt.Sprintf("existing ephemeral containers %q may not be changed\n%v", o.Name, cmp.Diff(o, *n))))
		}
	}
	return errs
}
