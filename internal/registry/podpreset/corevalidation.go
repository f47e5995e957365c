package podpreset

// Validation of the core/v1 pieces a preset carries: env, envFrom, volumes
// and volumeMounts. These follow kube's pkg/apis/core/validation (the 1.19
// rules PodPreset used), covering the volume types peapod runs (emptyDir,
// hostPath, secret, configMap, downwardAPI, projected,
// persistentVolumeClaim) plus nfs; other volume types are only counted
// toward "exactly one volume type". Errors carry kube's field paths and
// messages.

import (
	"math"
	"path"
	"regexp"
	"strings"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

const fileModeErrorMsg = "must be a number between 0 and 0777 (octal), both inclusive"

// validEnvFieldPaths are the downward API fields an env var may read.
var validEnvFieldPaths = sets.New(
	"metadata.name", "metadata.namespace", "metadata.uid",
	"spec.nodeName", "spec.serviceAccountName",
	"status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs",
)

// validVolumeFieldPaths are the downward API fields a volume file may hold.
var validVolumeFieldPaths = sets.New(
	"metadata.name", "metadata.namespace", "metadata.labels", "metadata.annotations", "metadata.uid",
)

var validResourceFields = sets.New(
	"limits.cpu", "limits.memory", "limits.ephemeral-storage",
	"requests.cpu", "requests.memory", "requests.ephemeral-storage",
)

// subscriptRE matches metadata.labels['key'] and metadata.annotations['key'].
var subscriptRE = regexp.MustCompile(`^metadata\.(labels|annotations)\['(.*)'\]$`)

func validateEnv(vars []v1.EnvVar, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, ev := range vars {
		idx := fldPath.Index(i)
		if ev.Name == "" {
			errs = append(errs, field.Required(idx.Child("name"), ""))
		} else {
			for _, msg := range validation.IsEnvVarName(ev.Name) {
				errs = append(errs, field.Invalid(idx.Child("name"), ev.Name, msg))
			}
		}
		errs = append(errs, validateEnvVarValueFrom(ev, idx.Child("valueFrom"))...)
	}
	return errs
}

func validateEnvVarValueFrom(ev v1.EnvVar, fldPath *field.Path) field.ErrorList {
	if ev.ValueFrom == nil {
		return nil
	}
	var errs field.ErrorList
	n := 0
	if f := ev.ValueFrom.FieldRef; f != nil {
		n++
		errs = append(errs, validateObjectFieldSelector(f, validEnvFieldPaths, fldPath.Child("fieldRef"))...)
	}
	if r := ev.ValueFrom.ResourceFieldRef; r != nil {
		n++
		errs = append(errs, validateResourceFieldSelector(r, true, fldPath.Child("resourceFieldRef"))...)
	}
	if c := ev.ValueFrom.ConfigMapKeyRef; c != nil {
		n++
		errs = append(errs, validateKeySelector(c.Name, c.Key, fldPath.Child("configMapKeyRef"))...)
	}
	if s := ev.ValueFrom.SecretKeyRef; s != nil {
		n++
		errs = append(errs, validateKeySelector(s.Name, s.Key, fldPath.Child("secretKeyRef"))...)
	}
	switch {
	case n == 0:
		errs = append(errs, field.Invalid(fldPath, "", "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"))
	case ev.Value != "":
		errs = append(errs, field.Invalid(fldPath, "", "may not be specified when `value` is not empty"))
	case n > 1:
		errs = append(errs, field.Invalid(fldPath, "", "may not have more than one field specified at a time"))
	}
	return errs
}

func validateObjectFieldSelector(f *v1.ObjectFieldSelector, valid sets.Set[string], fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if f.APIVersion == "" {
		errs = append(errs, field.Required(fldPath.Child("apiVersion"), ""))
	}
	p := fldPath.Child("fieldPath")
	switch {
	case f.FieldPath == "":
		errs = append(errs, field.Required(p, ""))
	case subscriptRE.MatchString(f.FieldPath):
		m := subscriptRE.FindStringSubmatch(f.FieldPath)
		key := m[2]
		if m[1] == "annotations" {
			for _, msg := range validation.IsQualifiedName(strings.ToLower(key)) {
				errs = append(errs, field.Invalid(p, f.FieldPath, msg))
			}
		} else {
			for _, msg := range validation.IsQualifiedName(key) {
				errs = append(errs, field.Invalid(p, f.FieldPath, msg))
			}
		}
	case !valid.Has(f.FieldPath):
		errs = append(errs, field.NotSupported(p, f.FieldPath, sets.List(valid)))
	}
	return errs
}

func validateResourceFieldSelector(r *v1.ResourceFieldSelector, inEnv bool, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if !inEnv && r.ContainerName == "" {
		errs = append(errs, field.Required(fldPath.Child("containerName"), ""))
	}
	switch {
	case r.Resource == "":
		errs = append(errs, field.Required(fldPath.Child("resource"), ""))
	case !validResourceFields.Has(r.Resource) &&
		!strings.HasPrefix(r.Resource, "limits.hugepages-") && !strings.HasPrefix(r.Resource, "requests.hugepages-"):
		errs = append(errs, field.NotSupported(fldPath.Child("resource"), r.Resource, sets.List(validResourceFields)))
	}
	if !r.Divisor.IsZero() && r.Divisor.Cmp(resource.Quantity{}) < 0 {
		errs = append(errs, field.Invalid(fldPath.Child("divisor"), r.Divisor.String(), "must be greater than zero"))
	}
	return errs
}

func validateKeySelector(name, key string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if name == "" {
		errs = append(errs, field.Required(fldPath.Child("name"), ""))
	}
	if key == "" {
		errs = append(errs, field.Required(fldPath.Child("key"), ""))
	} else {
		for _, msg := range validation.IsConfigMapKey(key) {
			errs = append(errs, field.Invalid(fldPath.Child("key"), key, msg))
		}
	}
	return errs
}

func validateEnvFrom(vars []v1.EnvFromSource, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, ev := range vars {
		idx := fldPath.Index(i)
		if ev.Prefix != "" {
			for _, msg := range validation.IsEnvVarName(ev.Prefix) {
				errs = append(errs, field.Invalid(idx.Child("prefix"), ev.Prefix, msg))
			}
		}
		n := 0
		if ev.ConfigMapRef != nil {
			n++
			errs = append(errs, validateRefName(ev.ConfigMapRef.Name, idx.Child("configMapRef", "name"))...)
		}
		if ev.SecretRef != nil {
			n++
			errs = append(errs, validateRefName(ev.SecretRef.Name, idx.Child("secretRef", "name"))...)
		}
		switch {
		case n == 0:
			errs = append(errs, field.Invalid(idx, "", "must specify one of: `configMapRef` or `secretRef`"))
		case n > 1:
			errs = append(errs, field.Invalid(idx, "", "may not have more than one field specified at a time"))
		}
	}
	return errs
}

func validateRefName(name string, fldPath *field.Path) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(fldPath, "")}
	}
	var errs field.ErrorList
	for _, msg := range validation.IsDNS1123Subdomain(name) {
		errs = append(errs, field.Invalid(fldPath, name, msg))
	}
	return errs
}

// validateVolumes checks names (DNS-1123 labels, unique) and sources, and
// returns the names of the valid volumes for validateVolumeMounts.
func validateVolumes(vols []v1.Volume, fldPath *field.Path) (sets.Set[string], field.ErrorList) {
	var errs field.ErrorList
	names := sets.New[string]()
	for i, vol := range vols {
		idx := fldPath.Index(i)
		namePath := idx.Child("name")
		el := validateVolumeSource(&vol.VolumeSource, idx)
		if vol.Name == "" {
			el = append(el, field.Required(namePath, ""))
		} else {
			for _, msg := range validation.IsDNS1123Label(vol.Name) {
				el = append(el, field.Invalid(namePath, vol.Name, msg))
			}
		}
		if names.Has(vol.Name) {
			el = append(el, field.Duplicate(namePath, vol.Name))
		}
		if len(el) == 0 {
			names.Insert(vol.Name)
		}
		errs = append(errs, el...)
	}
	return names, errs
}

func validateVolumeSource(s *v1.VolumeSource, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	n := 0
	// one registers a source; a second one is forbidden, as in kube.
	one := func(name string, validate func(*field.Path) field.ErrorList) {
		p := fldPath.Child(name)
		if n > 0 {
			errs = append(errs, field.Forbidden(p, "may not specify more than 1 volume type"))
			return
		}
		n++
		if validate != nil {
			errs = append(errs, validate(p)...)
		}
	}
	if s.EmptyDir != nil {
		one("emptyDir", func(p *field.Path) field.ErrorList {
			if s.EmptyDir.SizeLimit != nil && s.EmptyDir.SizeLimit.Cmp(resource.Quantity{}) < 0 {
				return field.ErrorList{field.Forbidden(p.Child("sizeLimit"), "SizeLimit field must be a valid resource quantity")}
			}
			return nil
		})
	}
	if s.HostPath != nil {
		one("hostPath", func(p *field.Path) field.ErrorList { return validateHostPath(s.HostPath, p) })
	}
	if s.Secret != nil {
		one("secret", func(p *field.Path) field.ErrorList {
			errs := validateKeyToPaths(s.Secret.Items, p.Child("items"))
			if s.Secret.SecretName == "" {
				errs = append(errs, field.Required(p.Child("secretName"), ""))
			}
			return append(errs, validateMode(s.Secret.DefaultMode, p.Child("defaultMode"))...)
		})
	}
	if s.ConfigMap != nil {
		one("configMap", func(p *field.Path) field.ErrorList {
			errs := validateKeyToPaths(s.ConfigMap.Items, p.Child("items"))
			if s.ConfigMap.Name == "" {
				errs = append(errs, field.Required(p.Child("name"), ""))
			}
			return append(errs, validateMode(s.ConfigMap.DefaultMode, p.Child("defaultMode"))...)
		})
	}
	if s.DownwardAPI != nil {
		one("downwardAPI", func(p *field.Path) field.ErrorList {
			errs := validateDownwardAPIFiles(s.DownwardAPI.Items, p.Child("items"))
			return append(errs, validateMode(s.DownwardAPI.DefaultMode, p.Child("defaultMode"))...)
		})
	}
	if s.Projected != nil {
		one("projected", func(p *field.Path) field.ErrorList { return validateProjected(s.Projected, p) })
	}
	if s.PersistentVolumeClaim != nil {
		one("persistentVolumeClaim", func(p *field.Path) field.ErrorList {
			if s.PersistentVolumeClaim.ClaimName == "" {
				return field.ErrorList{field.Required(p.Child("claimName"), "")}
			}
			return nil
		})
	}
	if s.NFS != nil {
		one("nfs", func(p *field.Path) field.ErrorList {
			var errs field.ErrorList
			if s.NFS.Server == "" {
				errs = append(errs, field.Required(p.Child("server"), ""))
			}
			if s.NFS.Path == "" {
				errs = append(errs, field.Required(p.Child("path"), ""))
			} else if !path.IsAbs(s.NFS.Path) {
				errs = append(errs, field.Invalid(p.Child("path"), s.NFS.Path, "must be an absolute path"))
			}
			return errs
		})
	}
	// The remaining (mostly in-tree cloud and network) volume types are not
	// run by peapod; they only count toward "exactly one volume type".
	others := []struct {
		name string
		set  bool
	}{
		{"gcePersistentDisk", s.GCEPersistentDisk != nil},
		{"awsElasticBlockStore", s.AWSElasticBlockStore != nil},
		{"gitRepo", s.GitRepo != nil},
		{"iscsi", s.ISCSI != nil},
		{"glusterfs", s.Glusterfs != nil},
		{"rbd", s.RBD != nil},
		{"flexVolume", s.FlexVolume != nil},
		{"cinder", s.Cinder != nil},
		{"cephfs", s.CephFS != nil},
		{"flocker", s.Flocker != nil},
		{"fc", s.FC != nil},
		{"azureFile", s.AzureFile != nil},
		{"vsphereVolume", s.VsphereVolume != nil},
		{"quobyte", s.Quobyte != nil},
		{"azureDisk", s.AzureDisk != nil},
		{"photonPersistentDisk", s.PhotonPersistentDisk != nil},
		{"portworxVolume", s.PortworxVolume != nil},
		{"scaleIO", s.ScaleIO != nil},
		{"storageos", s.StorageOS != nil},
		{"csi", s.CSI != nil},
		{"ephemeral", s.Ephemeral != nil},
		{"image", s.Image != nil},
	}
	for _, o := range others {
		if o.set {
			one(o.name, nil)
		}
	}
	if n == 0 {
		errs = append(errs, field.Required(fldPath, "must specify a volume type"))
	}
	return errs
}

var validHostPathTypes = sets.New(
	string(v1.HostPathUnset), string(v1.HostPathDirectoryOrCreate), string(v1.HostPathDirectory),
	string(v1.HostPathFileOrCreate), string(v1.HostPathFile), string(v1.HostPathSocket),
	string(v1.HostPathCharDev), string(v1.HostPathBlockDev),
)

func validateHostPath(h *v1.HostPathVolumeSource, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if h.Path == "" {
		errs = append(errs, field.Required(fldPath.Child("path"), ""))
		return errs
	}
	errs = append(errs, validatePathNoBacksteps(h.Path, fldPath.Child("path"))...)
	if h.Type != nil && !validHostPathTypes.Has(string(*h.Type)) {
		errs = append(errs, field.NotSupported(fldPath.Child("type"), *h.Type, sets.List(validHostPathTypes)))
	}
	return errs
}

func validateMode(mode *int32, fldPath *field.Path) field.ErrorList {
	if mode != nil && (*mode > 0o777 || *mode < 0) {
		return field.ErrorList{field.Invalid(fldPath, *mode, fileModeErrorMsg)}
	}
	return nil
}

func validateKeyToPaths(items []v1.KeyToPath, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, kp := range items {
		idx := fldPath.Index(i)
		if kp.Key == "" {
			errs = append(errs, field.Required(idx.Child("key"), ""))
		}
		if kp.Path == "" {
			errs = append(errs, field.Required(idx.Child("path"), ""))
		}
		errs = append(errs, validateLocalNonReservedPath(kp.Path, idx.Child("path"))...)
		errs = append(errs, validateMode(kp.Mode, idx.Child("mode"))...)
	}
	return errs
}

func validateDownwardAPIFiles(items []v1.DownwardAPIVolumeFile, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, f := range items {
		idx := fldPath.Index(i)
		if f.Path == "" {
			errs = append(errs, field.Required(idx.Child("path"), ""))
		}
		errs = append(errs, validateLocalNonReservedPath(f.Path, idx.Child("path"))...)
		errs = append(errs, validateMode(f.Mode, idx.Child("mode"))...)
		switch {
		case f.FieldRef != nil && f.ResourceFieldRef != nil:
			errs = append(errs, field.Invalid(idx, "resource", "fieldRef and resourceFieldRef can not be specified simultaneously"))
		case f.FieldRef != nil:
			errs = append(errs, validateObjectFieldSelector(f.FieldRef, validVolumeFieldPaths, idx.Child("fieldRef"))...)
		case f.ResourceFieldRef != nil:
			errs = append(errs, validateResourceFieldSelector(f.ResourceFieldRef, false, idx.Child("resourceFieldRef"))...)
		default:
			errs = append(errs, field.Required(idx, "one of fieldRef and resourceFieldRef is required"))
		}
	}
	return errs
}

func validateProjected(p *v1.ProjectedVolumeSource, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	paths := sets.New[string]()
	addPath := func(pth string, at *field.Path) {
		if pth == "" {
			return
		}
		if paths.Has(pth) {
			errs = append(errs, field.Invalid(at, pth, "conflicting duplicate paths"))
		}
		paths.Insert(pth)
	}
	for i, src := range p.Sources {
		idx := fldPath.Child("sources").Index(i)
		n := 0
		if s := src.Secret; s != nil {
			n++
			sp := idx.Child("secret")
			if s.Name == "" {
				errs = append(errs, field.Required(sp.Child("name"), ""))
			}
			errs = append(errs, validateKeyToPaths(s.Items, sp.Child("items"))...)
			for j, kp := range s.Items {
				addPath(kp.Path, sp.Child("items").Index(j).Child("path"))
			}
		}
		if c := src.ConfigMap; c != nil {
			n++
			cp := idx.Child("configMap")
			if c.Name == "" {
				errs = append(errs, field.Required(cp.Child("name"), ""))
			}
			errs = append(errs, validateKeyToPaths(c.Items, cp.Child("items"))...)
			for j, kp := range c.Items {
				addPath(kp.Path, cp.Child("items").Index(j).Child("path"))
			}
		}
		if d := src.DownwardAPI; d != nil {
			n++
			dp := idx.Child("downwardAPI")
			errs = append(errs, validateDownwardAPIFiles(d.Items, dp.Child("items"))...)
			for j, f := range d.Items {
				addPath(f.Path, dp.Child("items").Index(j).Child("path"))
			}
		}
		if t := src.ServiceAccountToken; t != nil {
			n++
			tp := idx.Child("serviceAccountToken")
			if t.ExpirationSeconds != nil {
				if *t.ExpirationSeconds < 10*60 {
					errs = append(errs, field.Invalid(tp.Child("expirationSeconds"), *t.ExpirationSeconds, "may not specify a duration less than 10 minutes"))
				} else if *t.ExpirationSeconds > math.MaxUint32 {
					errs = append(errs, field.TooLong(tp.Child("expirationSeconds"), *t.ExpirationSeconds, math.MaxUint32))
				}
			}
			if t.Path == "" {
				errs = append(errs, field.Required(tp.Child("path"), ""))
			} else {
				errs = append(errs, validateLocalNonReservedPath(t.Path, tp.Child("path"))...)
			}
			addPath(t.Path, tp.Child("path"))
		}
		if src.ClusterTrustBundle != nil {
			n++
			addPath(src.ClusterTrustBundle.Path, idx.Child("clusterTrustBundle", "path"))
		}
		switch {
		case n == 0:
			errs = append(errs, field.Required(idx, "must specify one of: `secret`, `configMap`, `downwardAPI`, `serviceAccountToken` or `clusterTrustBundle`"))
		case n > 1:
			errs = append(errs, field.Forbidden(idx, "may not specify more than 1 volume type per source"))
		}
	}
	return append(errs, validateMode(p.DefaultMode, fldPath.Child("defaultMode"))...)
}

// validateVolumeMounts: name and mountPath required, the name must be one
// of the preset's own volumes, mount paths unique, subPath a relative path
// without "..", subPath and subPathExpr exclusive, known propagation and
// recursiveReadOnly modes. The privileged check of Bidirectional needs a
// container, which a preset does not have, so it is skipped as in kube.
func validateVolumeMounts(mounts []v1.VolumeMount, volumes sets.Set[string], fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	mountPoints := sets.New[string]()
	for i, m := range mounts {
		idx := fldPath.Index(i)
		if m.Name == "" {
			errs = append(errs, field.Required(idx.Child("name"), ""))
		}
		if !volumes.Has(m.Name) {
			errs = append(errs, field.NotFound(idx.Child("name"), m.Name))
		}
		if m.MountPath == "" {
			errs = append(errs, field.Required(idx.Child("mountPath"), ""))
		}
		if mountPoints.Has(m.MountPath) {
			errs = append(errs, field.Invalid(idx.Child("mountPath"), m.MountPath, "must be unique"))
		}
		mountPoints.Insert(m.MountPath)
		if m.SubPath != "" {
			errs = append(errs, validateLocalDescendingPath(m.SubPath, idx.Child("subPath"))...)
		}
		if m.SubPathExpr != "" {
			if m.SubPath != "" {
				errs = append(errs, field.Invalid(idx.Child("subPathExpr"), m.SubPathExpr, "subPathExpr and subPath are mutually exclusive"))
			}
			errs = append(errs, validateLocalDescendingPath(m.SubPathExpr, idx.Child("subPathExpr"))...)
		}
		if m.MountPropagation != nil {
			switch *m.MountPropagation {
			case v1.MountPropagationNone, v1.MountPropagationHostToContainer, v1.MountPropagationBidirectional:
			default:
				errs = append(errs, field.NotSupported(idx.Child("mountPropagation"), *m.MountPropagation,
					[]string{string(v1.MountPropagationBidirectional), string(v1.MountPropagationHostToContainer), string(v1.MountPropagationNone)}))
			}
		}
		if m.RecursiveReadOnly != nil {
			p := idx.Child("recursiveReadOnly")
			switch *m.RecursiveReadOnly {
			case v1.RecursiveReadOnlyDisabled:
			case v1.RecursiveReadOnlyIfPossible, v1.RecursiveReadOnlyEnabled:
				if !m.ReadOnly {
					errs = append(errs, field.Forbidden(p, "may only be specified when readOnly is true"))
				}
				if m.MountPropagation != nil && *m.MountPropagation != v1.MountPropagationNone {
					errs = append(errs, field.Forbidden(p, "may only be specified when mountPropagation is None or not specified"))
				}
			default:
				errs = append(errs, field.NotSupported(p, *m.RecursiveReadOnly,
					[]string{string(v1.RecursiveReadOnlyDisabled), string(v1.RecursiveReadOnlyIfPossible), string(v1.RecursiveReadOnlyEnabled)}))
			}
		}
	}
	return errs
}

func validatePathNoBacksteps(p string, fldPath *field.Path) field.ErrorList {
	for _, item := range strings.Split(p, "/") {
		if item == ".." {
			return field.ErrorList{field.Invalid(fldPath, p, "must not contain '..'")}
		}
	}
	return nil
}

func validateLocalDescendingPath(p string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if path.IsAbs(p) {
		errs = append(errs, field.Invalid(fldPath, p, "must be a relative path"))
	}
	return append(errs, validatePathNoBacksteps(p, fldPath)...)
}

func validateLocalNonReservedPath(p string, fldPath *field.Path) field.ErrorList {
	errs := validateLocalDescendingPath(p, fldPath)
	if strings.HasPrefix(p, "..") {
		errs = append(errs, field.Invalid(fldPath, p, "must not start with '..'"))
	}
	return errs
}
