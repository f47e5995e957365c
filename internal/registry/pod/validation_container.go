package pod

import (
	"fmt"
	"path"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

const initNonSidecarMsg = "may not be set for init containers without restartPolicy=Always"

// validateContainers checks spec.containers (names unique among them;
// clashes with init containers are reported on the init container).
func validateContainers(cs []corev1.Container, vols map[string]corev1.VolumeSource, grace *int64, hostUsers bool, p *field.Path) field.ErrorList {
	if len(cs) == 0 {
		return field.ErrorList{field.Required(p, "")}
	}
	var errs field.ErrorList
	names := sets.New[string]()
	for i := range cs {
		c := &cs[i]
		ip := p.Index(i)
		errs = append(errs, validateContainerCommon(c, vols, hostUsers, ip)...)
		if names.Has(c.Name) {
			errs = append(errs, field.Duplicate(ip.Child("name"), c.Name))
		} else {
			names.Insert(c.Name)
		}
		errs = append(errs, validateProbesAndHooks(c, grace, ip)...)
		if c.RestartPolicy != nil {
			errs = append(errs, field.Forbidden(ip.Child("restartPolicy"), "may not be set for non-init containers"))
		}
	}
	return append(errs, checkHostPortConflicts(cs, p)...)
}

// validateInitContainers checks spec.initContainers: names unique across
// init and regular containers; regular init containers may not have probes
// or lifecycle hooks, sidecars (restartPolicy: Always) may.
func validateInitContainers(cs, regular []corev1.Container, vols map[string]corev1.VolumeSource, grace *int64, hostUsers bool, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	names := sets.New[string]()
	for _, c := range regular {
		names.Insert(c.Name)
	}
	for i := range cs {
		c := &cs[i]
		ip := p.Index(i)
		errs = append(errs, validateContainerCommon(c, vols, hostUsers, ip)...)
		sidecar := false
		if c.RestartPolicy != nil {
			if *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
				sidecar = true
			} else {
				errs = append(errs, field.NotSupported(ip.Child("restartPolicy"), *c.RestartPolicy,
					[]corev1.ContainerRestartPolicy{corev1.ContainerRestartPolicyAlways}))
			}
		}
		if names.Has(c.Name) {
			errs = append(errs, field.Duplicate(ip.Child("name"), c.Name))
		} else if c.Name != "" {
			names.Insert(c.Name)
		}
		errs = append(errs, checkHostPortConflicts([]corev1.Container{*c}, p)...)
		if sidecar {
			errs = append(errs, validateProbesAndHooks(c, grace, ip)...)
			continue
		}
		if c.Lifecycle != nil {
			errs = append(errs, field.Forbidden(ip.Child("lifecycle"), initNonSidecarMsg))
		}
		if c.LivenessProbe != nil {
			errs = append(errs, field.Forbidden(ip.Child("livenessProbe"), initNonSidecarMsg))
		}
		if c.ReadinessProbe != nil {
			errs = append(errs, field.Forbidden(ip.Child("readinessProbe"), initNonSidecarMsg))
		}
		if c.StartupProbe != nil {
			errs = append(errs, field.Forbidden(ip.Child("startupProbe"), initNonSidecarMsg))
		}
	}
	return errs
}

// validateProbesAndHooks: lifecycle, then liveness and startup (which need
// successThreshold 1) and readiness (which may not set
// terminationGracePeriodSeconds).
func validateProbesAndHooks(c *corev1.Container, grace *int64, ip *field.Path) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, validateLifecycle(c.Lifecycle, grace, ip.Child("lifecycle"))...)
	if pr := c.LivenessProbe; pr != nil {
		errs = append(errs, validateProbe(pr, grace, ip.Child("livenessProbe"))...)
		if pr.SuccessThreshold != 1 {
			errs = append(errs, field.Invalid(ip.Child("livenessProbe", "successThreshold"), pr.SuccessThreshold, "must be 1"))
		}
	}
	if pr := c.ReadinessProbe; pr != nil {
		errs = append(errs, validateProbe(pr, grace, ip.Child("readinessProbe"))...)
		if pr.TerminationGracePeriodSeconds != nil {
			errs = append(errs, field.Invalid(ip.Child("readinessProbe", "terminationGracePeriodSeconds"),
				*pr.TerminationGracePeriodSeconds, "must not be set for readinessProbes"))
		}
	}
	if pr := c.StartupProbe; pr != nil {
		errs = append(errs, validateProbe(pr, grace, ip.Child("startupProbe"))...)
		if pr.SuccessThreshold != 1 {
			errs = append(errs, field.Invalid(ip.Child("startupProbe", "successThreshold"), pr.SuccessThreshold, "must be 1"))
		}
	}
	return errs
}

// checkHostPortConflicts reports a hostPort used twice (per protocol and
// hostIP) among cs.
func checkHostPortConflicts(cs []corev1.Container, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := sets.New[string]()
	for ci, c := range cs {
		for pi, port := range c.Ports {
			if port.HostPort == 0 {
				continue
			}
			key := fmt.Sprintf("%s/%s/%d", port.Protocol, port.HostIP, port.HostPort)
			if seen.Has(key) {
				errs = append(errs, field.Duplicate(p.Index(ci).Child("ports").Index(pi).Child("hostPort"), key))
			}
			seen.Insert(key)
		}
	}
	return errs
}

func validateContainerCommon(c *corev1.Container, vols map[string]corev1.VolumeSource, hostUsers bool, ip *field.Path) field.ErrorList {
	var errs field.ErrorList
	namePath := ip.Child("name")
	if c.Name == "" {
		errs = append(errs, field.Required(namePath, ""))
	} else {
		errs = append(errs, dns1123Label(c.Name, namePath)...)
	}
	if c.Image == "" {
		errs = append(errs, field.Required(ip.Child("image"), ""))
	}
	switch c.TerminationMessagePolicy {
	case corev1.TerminationMessageReadFile, corev1.TerminationMessageFallbackToLogsOnError:
	case "":
		errs = append(errs, field.Required(ip.Child("terminationMessagePolicy"), ""))
	default:
		errs = append(errs, field.NotSupported(ip.Child("terminationMessagePolicy"), c.TerminationMessagePolicy,
			[]corev1.TerminationMessagePolicy{corev1.TerminationMessageReadFile, corev1.TerminationMessageFallbackToLogsOnError}))
	}
	errs = append(errs, validatePorts(c.Ports, ip.Child("ports"))...)
	errs = append(errs, validateEnv(c.Env, ip.Child("env"))...)
	errs = append(errs, validateEnvFrom(c.EnvFrom, ip.Child("envFrom"))...)
	errs = append(errs, validateVolumeMounts(c.VolumeMounts, vols, c, ip.Child("volumeMounts"))...)
	switch c.ImagePullPolicy {
	case corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever:
	case "":
		errs = append(errs, field.Required(ip.Child("imagePullPolicy"), ""))
	default:
		errs = append(errs, field.NotSupported(ip.Child("imagePullPolicy"), c.ImagePullPolicy,
			[]corev1.PullPolicy{corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever}))
	}
	errs = append(errs, validateResources(&c.Resources, ip.Child("resources"))...)
	errs = append(errs, validateSecurityContext(c.SecurityContext, hostUsers, ip.Child("securityContext"))...)
	return errs
}

func validatePorts(ports []corev1.ContainerPort, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	names := sets.New[string]()
	for i, port := range ports {
		ip := p.Index(i)
		if port.Name != "" {
			if msgs := validation.IsValidPortName(port.Name); len(msgs) != 0 {
				for _, msg := range msgs {
					errs = append(errs, field.Invalid(ip.Child("name"), port.Name, msg))
				}
			} else if names.Has(port.Name) {
				errs = append(errs, field.Duplicate(ip.Child("name"), port.Name))
			} else {
				names.Insert(port.Name)
			}
		}
		if port.ContainerPort == 0 {
			errs = append(errs, field.Required(ip.Child("containerPort"), ""))
		} else {
			for _, msg := range validation.IsValidPortNum(int(port.ContainerPort)) {
				errs = append(errs, field.Invalid(ip.Child("containerPort"), port.ContainerPort, msg))
			}
		}
		if port.HostPort != 0 {
			for _, msg := range validation.IsValidPortNum(int(port.HostPort)) {
				errs = append(errs, field.Invalid(ip.Child("hostPort"), port.HostPort, msg))
			}
		}
		switch port.Protocol {
		case corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP:
		case "":
			errs = append(errs, field.Required(ip.Child("protocol"), ""))
		default:
			errs = append(errs, field.NotSupported(ip.Child("protocol"), port.Protocol,
				[]corev1.Protocol{corev1.ProtocolSCTP, corev1.ProtocolTCP, corev1.ProtocolUDP}))
		}
	}
	return errs
}

// validateHostNetworkPorts: with hostNetwork every container's hostPort
// must equal its containerPort (defaulting makes them equal).
func validateHostNetworkPorts(spec *corev1.PodSpec, fld *field.Path) field.ErrorList {
	if !spec.HostNetwork {
		return nil
	}
	var errs field.ErrorList
	p := fld.Child("containers")
	for i, c := range spec.Containers {
		for j, port := range c.Ports {
			if port.HostPort != port.ContainerPort {
				errs = append(errs, field.Invalid(p.Index(i).Child("ports").Index(j).Child("hostPort"),
					port.HostPort, "must match `containerPort` when `hostNetwork` is true"))
			}
		}
	}
	return errs
}

// validEnvFieldPaths are the downward API fields env vars may use.
func validEnvFieldPaths() sets.Set[string] {
	return sets.New("metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName",
		"spec.serviceAccountName", "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs")
}

func validResourceFieldPaths() sets.Set[string] {
	return sets.New("limits.cpu", "limits.memory", "limits.ephemeral-storage",
		"requests.cpu", "requests.memory", "requests.ephemeral-storage")
}

func validateEnv(vars []corev1.EnvVar, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, ev := range vars {
		ip := p.Index(i)
		if ev.Name == "" {
			errs = append(errs, field.Required(ip.Child("name"), ""))
		}
		for _, msg := range validation.IsEnvVarName(ev.Name) {
			errs = append(errs, field.Invalid(ip.Child("name"), ev.Name, msg))
		}
		errs = append(errs, validateEnvValueFrom(ev, ip.Child("valueFrom"))...)
	}
	return errs
}

func validateEnvValueFrom(ev corev1.EnvVar, p *field.Path) field.ErrorList {
	if ev.ValueFrom == nil {
		return nil
	}
	var errs field.ErrorList
	n := 0
	vf := ev.ValueFrom
	if vf.FieldRef != nil {
		n++
		errs = append(errs, validateObjectFieldSelector(vf.FieldRef, validEnvFieldPaths(), p.Child("fieldRef"))...)
	}
	if vf.ResourceFieldRef != nil {
		n++
		errs = append(errs, validateResourceFieldSelector(vf.ResourceFieldRef, false, p.Child("resourceFieldRef"))...)
	}
	if vf.ConfigMapKeyRef != nil {
		n++
		errs = append(errs, validateKeySelector(vf.ConfigMapKeyRef.Name, vf.ConfigMapKeyRef.Key, p.Child("configMapKeyRef"))...)
	}
	if vf.SecretKeyRef != nil {
		n++
		errs = append(errs, validateKeySelector(vf.SecretKeyRef.Name, vf.SecretKeyRef.Key, p.Child("secretKeyRef"))...)
	}
	switch {
	case n == 0:
		errs = append(errs, field.Invalid(p, "", "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"))
	case ev.Value != "":
		errs = append(errs, field.Invalid(p, "", "may not be specified when `value` is not empty"))
	case n > 1:
		errs = append(errs, field.Invalid(p, "", "may not have more than one field specified at a time"))
	}
	return errs
}

func validateKeySelector(name, key string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsDNS1123Subdomain(name) {
		errs = append(errs, field.Invalid(p.Child("name"), name, msg))
	}
	if key == "" {
		errs = append(errs, field.Required(p.Child("key"), ""))
	} else {
		for _, msg := range validation.IsConfigMapKey(key) {
			errs = append(errs, field.Invalid(p.Child("key"), key, msg))
		}
	}
	return errs
}

// validateObjectFieldSelector checks a downward API fieldRef against the
// allowed paths; metadata.labels['k'] and metadata.annotations['k'] are
// allowed with a valid key.
func validateObjectFieldSelector(fs *corev1.ObjectFieldSelector, allowed sets.Set[string], p *field.Path) field.ErrorList {
	if fs.APIVersion == "" {
		return field.ErrorList{field.Required(p.Child("apiVersion"), "")}
	}
	if fs.FieldPath == "" {
		return field.ErrorList{field.Required(p.Child("fieldPath"), "")}
	}
	if fs.APIVersion != "v1" {
		return field.ErrorList{field.Invalid(p.Child("fieldPath"), fs.FieldPath,
			fmt.Sprintf("error converting fieldPath: unsupported pod version: %s", fs.APIVersion))}
	}
	if base, sub, ok := splitSubscript(fs.FieldPath); ok {
		switch base {
		case "metadata.annotations":
			return qualifiedName(strings.ToLower(sub), p)
		case "metadata.labels":
			return qualifiedName(sub, p)
		default:
			return field.ErrorList{field.Invalid(p, base, "does not support subscript")}
		}
	}
	if !allowed.Has(fs.FieldPath) {
		return field.ErrorList{field.NotSupported(p.Child("fieldPath"), fs.FieldPath, sets.List(allowed))}
	}
	return nil
}

// splitSubscript splits "metadata.labels['key']" into its path and key.
func splitSubscript(fieldPath string) (string, string, bool) {
	if !strings.HasSuffix(fieldPath, "']") {
		return fieldPath, "", false
	}
	s := strings.TrimSuffix(fieldPath, "']")
	parts := strings.SplitN(s, "['", 2)
	if len(parts) < 2 || len(parts[0]) == 0 {
		return fieldPath, "", false
	}
	return parts[0], parts[1], true
}

func validateResourceFieldSelector(fs *corev1.ResourceFieldSelector, volume bool, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch {
	case volume && fs.ContainerName == "":
		errs = append(errs, field.Required(p.Child("containerName"), ""))
	case fs.Resource == "":
		errs = append(errs, field.Required(p.Child("resource"), ""))
	case !validResourceFieldPaths().Has(fs.Resource) && !strings.HasPrefix(fs.Resource, "limits.hugepages-") &&
		!strings.HasPrefix(fs.Resource, "requests.hugepages-"):
		errs = append(errs, field.NotSupported(p.Child("resource"), fs.Resource, sets.List(validResourceFieldPaths())))
	}
	return errs
}

func validateEnvFrom(from []corev1.EnvFromSource, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, ev := range from {
		ip := p.Index(i)
		if ev.Prefix != "" {
			for _, msg := range validation.IsEnvVarName(ev.Prefix) {
				errs = append(errs, field.Invalid(ip.Child("prefix"), ev.Prefix, msg))
			}
		}
		n := 0
		if ev.ConfigMapRef != nil {
			n++
			errs = append(errs, validateEnvSourceName(ev.ConfigMapRef.Name, ip.Child("configMapRef"))...)
		}
		if ev.SecretRef != nil {
			n++
			errs = append(errs, validateEnvSourceName(ev.SecretRef.Name, ip.Child("secretRef"))...)
		}
		if n == 0 {
			errs = append(errs, field.Invalid(p, "", "must specify one of: `configMapRef` or `secretRef`"))
		} else if n > 1 {
			errs = append(errs, field.Invalid(p, "", "may not have more than one field specified at a time"))
		}
	}
	return errs
}

func validateEnvSourceName(name string, p *field.Path) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(p.Child("name"), "")}
	}
	var errs field.ErrorList
	for _, msg := range validation.IsDNS1123Subdomain(name) {
		errs = append(errs, field.Invalid(p.Child("name"), name, msg))
	}
	return errs
}

// validateVolumeMounts: each mount names an existing volume, has an
// absolute, unique mountPath and a relative, descending subPath.
func validateVolumeMounts(mounts []corev1.VolumeMount, vols map[string]corev1.VolumeSource, c *corev1.Container, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	points := sets.New[string]()
	for i, m := range mounts {
		ip := p.Index(i)
		if m.Name == "" {
			errs = append(errs, field.Required(ip.Child("name"), ""))
		}
		if _, ok := vols[m.Name]; !ok {
			errs = append(errs, field.NotFound(ip.Child("name"), m.Name))
		}
		if m.MountPath == "" {
			errs = append(errs, field.Required(ip.Child("mountPath"), ""))
		} else if !path.IsAbs(m.MountPath) {
			errs = append(errs, field.Invalid(ip.Child("mountPath"), m.MountPath, "must be an absolute path"))
		}
		if points.Has(m.MountPath) {
			errs = append(errs, field.Invalid(ip.Child("mountPath"), m.MountPath, "must be unique"))
		}
		points.Insert(m.MountPath)
		if m.SubPath != "" {
			errs = append(errs, validateLocalDescendingPath(m.SubPath, p.Child("subPath"))...)
		}
		if m.SubPathExpr != "" {
			if m.SubPath != "" {
				errs = append(errs, field.Invalid(ip.Child("subPathExpr"), m.SubPathExpr, "subPathExpr and subPath are mutually exclusive"))
			}
			errs = append(errs, validateLocalDescendingPath(m.SubPathExpr, p.Child("subPathExpr"))...)
		}
		if m.MountPropagation != nil {
			mp := *m.MountPropagation
			switch mp {
			case corev1.MountPropagationNone, corev1.MountPropagationHostToContainer:
			case corev1.MountPropagationBidirectional:
				if c.SecurityContext == nil || c.SecurityContext.Privileged == nil || !*c.SecurityContext.Privileged {
					errs = append(errs, field.Forbidden(p.Child("mountPropagation"), "Bidirectional mount propagation is available only to privileged containers"))
				}
			default:
				errs = append(errs, field.NotSupported(p.Child("mountPropagation"), mp, []corev1.MountPropagationMode{
					corev1.MountPropagationBidirectional, corev1.MountPropagationHostToContainer, corev1.MountPropagationNone}))
			}
		}
	}
	return errs
}

func validateLifecycle(l *corev1.Lifecycle, grace *int64, p *field.Path) field.ErrorList {
	if l == nil {
		return nil
	}
	var errs field.ErrorList
	if l.PostStart != nil {
		errs = append(errs, validateLifecycleHandler(l.PostStart, grace, p.Child("postStart"))...)
	}
	if l.PreStop != nil {
		errs = append(errs, validateLifecycleHandler(l.PreStop, grace, p.Child("preStop"))...)
	}
	return errs
}

func validateLifecycleHandler(h *corev1.LifecycleHandler, grace *int64, p *field.Path) field.ErrorList {
	return validateHandler(handler{exec: h.Exec, httpGet: h.HTTPGet, tcpSocket: h.TCPSocket, sleep: h.Sleep}, grace, p)
}

// handler is the union of probe and lifecycle handler kinds.
type handler struct {
	exec      *corev1.ExecAction
	httpGet   *corev1.HTTPGetAction
	tcpSocket *corev1.TCPSocketAction
	grpc      *corev1.GRPCAction
	sleep     *corev1.SleepAction
}

func validateHandler(h handler, grace *int64, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	n := 0
	more := func(child string) {
		errs = append(errs, field.Forbidden(p.Child(child), "may not specify more than 1 handler type"))
	}
	if h.exec != nil {
		n++
		if len(h.exec.Command) == 0 {
			errs = append(errs, field.Required(p.Child("exec", "command"), ""))
		}
	}
	if h.httpGet != nil {
		if n > 0 {
			more("httpGet")
		} else {
			n++
			errs = append(errs, validateHTTPGet(h.httpGet, p.Child("httpGet"))...)
		}
	}
	if h.tcpSocket != nil {
		if n > 0 {
			more("tcpSocket")
		} else {
			n++
			errs = append(errs, validatePortNumOrName(h.tcpSocket.Port, p.Child("tcpSocket", "port"))...)
		}
	}
	if h.grpc != nil {
		if n > 0 {
			more("grpc")
		} else {
			n++
			errs = append(errs, validatePortNumOrName(intstr.FromInt32(h.grpc.Port), p.Child("grpc", "port"))...)
		}
	}
	if h.sleep != nil {
		if n > 0 {
			more("sleep")
		} else {
			n++
			if grace != nil && (h.sleep.Seconds < 0 || h.sleep.Seconds > *grace) {
				errs = append(errs, field.Invalid(p.Child("sleep"), h.sleep.Seconds,
					fmt.Sprintf("must be non-negative and less than terminationGracePeriodSeconds (%d)", *grace)))
			}
		}
	}
	if n == 0 {
		errs = append(errs, field.Required(p, "must specify a handler type"))
	}
	return errs
}

func validateHTTPGet(h *corev1.HTTPGetAction, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if h.Path == "" {
		errs = append(errs, field.Required(p.Child("path"), ""))
	}
	errs = append(errs, validatePortNumOrName(h.Port, p.Child("port"))...)
	switch h.Scheme {
	case corev1.URISchemeHTTP, corev1.URISchemeHTTPS:
	default:
		errs = append(errs, field.NotSupported(p.Child("scheme"), h.Scheme, []corev1.URIScheme{corev1.URISchemeHTTP, corev1.URISchemeHTTPS}))
	}
	for _, hdr := range h.HTTPHeaders {
		for _, msg := range validation.IsHTTPHeaderName(hdr.Name) {
			errs = append(errs, field.Invalid(p.Child("httpHeaders"), hdr.Name, msg))
		}
	}
	return errs
}

func validatePortNumOrName(port intstr.IntOrString, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if port.Type == intstr.String {
		for _, msg := range validation.IsValidPortName(port.StrVal) {
			errs = append(errs, field.Invalid(p, port.StrVal, msg))
		}
		return errs
	}
	for _, msg := range validation.IsValidPortNum(port.IntValue()) {
		errs = append(errs, field.Invalid(p, port.IntValue(), msg))
	}
	return errs
}

func validateProbe(pr *corev1.Probe, grace *int64, p *field.Path) field.ErrorList {
	h := pr.ProbeHandler
	errs := validateHandler(handler{exec: h.Exec, httpGet: h.HTTPGet, tcpSocket: h.TCPSocket, grpc: h.GRPC}, grace, p)
	nonNeg := func(v int32, child string) {
		if v < 0 {
			errs = append(errs, field.Invalid(p.Child(child), int64(v), "must be greater than or equal to 0"))
		}
	}
	nonNeg(pr.InitialDelaySeconds, "initialDelaySeconds")
	nonNeg(pr.TimeoutSeconds, "timeoutSeconds")
	nonNeg(pr.PeriodSeconds, "periodSeconds")
	nonNeg(pr.SuccessThreshold, "successThreshold")
	nonNeg(pr.FailureThreshold, "failureThreshold")
	if pr.TerminationGracePeriodSeconds != nil && *pr.TerminationGracePeriodSeconds <= 0 {
		errs = append(errs, field.Invalid(p.Child("terminationGracePeriodSeconds"), *pr.TerminationGracePeriodSeconds, "must be greater than 0"))
	}
	return errs
}

// validateResources checks resource names and quantities and that
// requests do not exceed limits (non-overcommittable resources: equal).
func validateResources(r *corev1.ResourceRequirements, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	limPath, reqPath := p.Child("limits"), p.Child("requests")
	for _, name := range sortedResourceNames(r.Limits) {
		q := r.Limits[name]
		fp := limPath.Key(string(name))
		errs = append(errs, validateResourceName(name, fp)...)
		errs = append(errs, validateQuantity(name, q, fp)...)
	}
	for _, name := range sortedResourceNames(r.Requests) {
		q := r.Requests[name]
		fp := reqPath.Key(string(name))
		errs = append(errs, validateResourceName(name, fp)...)
		errs = append(errs, validateQuantity(name, q, fp)...)
		lim, ok := r.Limits[name]
		switch {
		case ok && q.Cmp(lim) != 0 && !overcommitAllowed(name):
			errs = append(errs, field.Invalid(reqPath, q.String(), fmt.Sprintf("must be equal to %s limit of %s", name, lim.String())))
		case ok && q.Cmp(lim) > 0:
			errs = append(errs, field.Invalid(reqPath, q.String(), fmt.Sprintf("must be less than or equal to %s limit of %s", name, lim.String())))
		case !ok && !overcommitAllowed(name):
			errs = append(errs, field.Required(limPath, "Limit must be set for non overcommitable resources"))
		}
	}
	return errs
}

func sortedResourceNames(l corev1.ResourceList) []corev1.ResourceName {
	names := make([]string, 0, len(l))
	for n := range l {
		names = append(names, string(n))
	}
	out := make([]corev1.ResourceName, 0, len(names))
	for _, n := range sets.List(sets.New(names...)) {
		out = append(out, corev1.ResourceName(n))
	}
	return out
}

func nativeResource(name corev1.ResourceName) bool {
	return !strings.Contains(string(name), "/") || strings.Contains(string(name), corev1.ResourceDefaultNamespacePrefix)
}

func hugePages(name corev1.ResourceName) bool {
	return strings.HasPrefix(string(name), corev1.ResourceHugePagesPrefix)
}

func overcommitAllowed(name corev1.ResourceName) bool {
	return nativeResource(name) && !hugePages(name)
}

func validateResourceName(name corev1.ResourceName, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsQualifiedName(string(name)) {
		errs = append(errs, field.Invalid(p, name, msg))
	}
	if len(errs) != 0 {
		return errs
	}
	if !strings.Contains(string(name), "/") {
		switch name {
		case corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage:
		default:
			if !hugePages(name) {
				errs = append(errs, field.Invalid(p, name, "must be a standard resource type or fully qualified"))
				errs = append(errs, field.Invalid(p, name, "must be a standard resource for containers"))
			}
		}
	} else if strings.HasPrefix(string(name), corev1.DefaultResourceRequestsPrefix) {
		errs = append(errs, field.Invalid(p, name, "must be a standard resource for containers"))
	}
	return errs
}

func validateQuantity(name corev1.ResourceName, q resource.Quantity, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if q.Sign() < 0 {
		errs = append(errs, field.Invalid(p, q.String(), "must be greater than or equal to 0"))
	}
	if !nativeResource(name) && q.MilliValue()%1000 != 0 {
		errs = append(errs, field.Invalid(p, q.String(), "must be an integer"))
	}
	return errs
}

// validateSecurityContext is ValidateSecurityContext for a container.
func validateSecurityContext(sc *corev1.SecurityContext, hostUsers bool, p *field.Path) field.ErrorList {
	if sc == nil {
		return nil
	}
	var errs field.ErrorList
	errs = append(errs, validateUserID(sc.RunAsUser, p.Child("runAsUser"))...)
	errs = append(errs, validateGroupID(sc.RunAsGroup, p.Child("runAsGroup"))...)
	if sc.ProcMount != nil {
		switch *sc.ProcMount {
		case corev1.DefaultProcMount, corev1.UnmaskedProcMount:
		default:
			errs = append(errs, field.NotSupported(p.Child("procMount"), *sc.ProcMount,
				[]corev1.ProcMountType{corev1.DefaultProcMount, corev1.UnmaskedProcMount}))
		}
		if hostUsers && *sc.ProcMount == corev1.UnmaskedProcMount {
			errs = append(errs, field.Invalid(p.Child("procMount"), *sc.ProcMount, "`hostUsers` must be false to use `Unmasked`"))
		}
	}
	errs = append(errs, validateSeccompProfile(sc.SeccompProfile, p.Child("seccompProfile"))...)
	if sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation {
		if sc.Privileged != nil && *sc.Privileged {
			errs = append(errs, field.Invalid(p, sc, "cannot set `allowPrivilegeEscalation` to false and `privileged` to true"))
		}
		if sc.Capabilities != nil {
			for _, c := range sc.Capabilities.Add {
				if c == "CAP_SYS_ADMIN" {
					errs = append(errs, field.Invalid(p, sc, "cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN"))
				}
			}
		}
	}
	return append(errs, validateAppArmorProfile(sc.AppArmorProfile, p.Child("appArmorProfile"))...)
}
