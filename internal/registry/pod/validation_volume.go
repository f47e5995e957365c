package pod

import (
	"path"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

const fileModeErrorMsg = "must be a number between 0 and 0777 (octal), both inclusive"

// validVolumeFieldPaths are the downward API fields volume files may use.
func validVolumeFieldPaths() sets.Set[string] {
	return sets.New("metadata.name", "metadata.namespace", "metadata.labels", "metadata.annotations", "metadata.uid")
}

// validateVolumes checks spec.volumes and returns the valid ones by name.
func validateVolumes(volumes []corev1.Volume, p *field.Path) (map[string]corev1.VolumeSource, field.ErrorList) {
	var errs field.ErrorList
	names := sets.New[string]()
	vols := map[string]corev1.VolumeSource{}
	for i, v := range volumes {
		ip := p.Index(i)
		namePath := ip.Child("name")
		el := validateVolumeSource(&v.VolumeSource, ip)
		if v.Name == "" {
			el = append(el, field.Required(namePath, ""))
		} else {
			el = append(el, dns1123Label(v.Name, namePath)...)
		}
		if names.Has(v.Name) {
			el = append(el, field.Duplicate(namePath, v.Name))
		}
		if len(el) == 0 {
			names.Insert(v.Name)
			vols[v.Name] = v.VolumeSource
		} else {
			errs = append(errs, el...)
		}
	}
	return vols, errs
}

// validateVolumeSource requires exactly one source and checks the ones
// peapod serves (emptyDir, hostPath, secret, configMap, downwardAPI,
// projected, persistentVolumeClaim); others only count as a source.
func validateVolumeSource(s *corev1.VolumeSource, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	n := 0
	one := func(child string, set bool, check func() field.ErrorList) {
		if !set {
			return
		}
		if n > 0 {
			errs = append(errs, field.Forbidden(p.Child(child), "may not specify more than 1 volume type"))
			return
		}
		n++
		if check != nil {
			errs = append(errs, check()...)
		}
	}
	// Kubernetes' order; "downwarAPI" and "cephFS" are spelled as upstream
	// reports them when a second source is given.
	one("emptyDir", s.EmptyDir != nil, func() field.ErrorList { return validateEmptyDir(s.EmptyDir, p.Child("emptyDir")) })
	one("hostPath", s.HostPath != nil, func() field.ErrorList { return validateHostPath(s.HostPath, p.Child("hostPath")) })
	one("gitRepo", s.GitRepo != nil, nil)
	one("gcePersistentDisk", s.GCEPersistentDisk != nil, nil)
	one("awsElasticBlockStore", s.AWSElasticBlockStore != nil, nil)
	one("secret", s.Secret != nil, func() field.ErrorList { return validateSecretVolume(s.Secret, p.Child("secret")) })
	one("nfs", s.NFS != nil, func() field.ErrorList { return validateNFS(s.NFS, p.Child("nfs")) })
	one("iscsi", s.ISCSI != nil, nil)
	one("glusterfs", s.Glusterfs != nil, nil)
	one("flocker", s.Flocker != nil, nil)
	one("persistentVolumeClaim", s.PersistentVolumeClaim != nil, func() field.ErrorList {
		if s.PersistentVolumeClaim.ClaimName == "" {
			return field.ErrorList{field.Required(p.Child("persistentVolumeClaim", "claimName"), "")}
		}
		return nil
	})
	one("rbd", s.RBD != nil, nil)
	one("cinder", s.Cinder != nil, nil)
	one("cephFS", s.CephFS != nil, nil)
	one("quobyte", s.Quobyte != nil, nil)
	one("downwarAPI", s.DownwardAPI != nil, func() field.ErrorList { return validateDownwardAPIVolume(s.DownwardAPI, p.Child("downwardAPI")) })
	one("fc", s.FC != nil, nil)
	one("flexVolume", s.FlexVolume != nil, nil)
	one("configMap", s.ConfigMap != nil, func() field.ErrorList { return validateConfigMapVolume(s.ConfigMap, p.Child("configMap")) })
	one("azureFile", s.AzureFile != nil, nil)
	one("vsphereVolume", s.VsphereVolume != nil, nil)
	one("photonPersistentDisk", s.PhotonPersistentDisk != nil, nil)
	one("portworxVolume", s.PortworxVolume != nil, nil)
	one("azureDisk", s.AzureDisk != nil, nil)
	one("storageos", s.StorageOS != nil, nil)
	one("projected", s.Projected != nil, func() field.ErrorList { return validateProjected(s.Projected, p.Child("projected")) })
	one("scaleIO", s.ScaleIO != nil, nil)
	one("csi", s.CSI != nil, nil)
	one("ephemeral", s.Ephemeral != nil, nil)
	one("image", s.Image != nil, func() field.ErrorList {
		if s.Image.Reference == "" {
			return field.ErrorList{field.Required(p.Child("image", "reference"), "")}
		}
		return nil
	})
	if n == 0 {
		errs = append(errs, field.Required(p, "must specify a volume type"))
	}
	return errs
}

func validateEmptyDir(e *corev1.EmptyDirVolumeSource, p *field.Path) field.ErrorList {
	if e.SizeLimit != nil && e.SizeLimit.Sign() < 0 {
		return field.ErrorList{field.Forbidden(p.Child("sizeLimit"), "SizeLimit field must be a valid resource quantity")}
	}
	return nil
}

func validateHostPath(h *corev1.HostPathVolumeSource, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if h.Path == "" {
		errs = append(errs, field.Required(p.Child("path"), ""))
		return errs
	}
	errs = append(errs, validatePathNoBacksteps(h.Path, p.Child("path"))...)
	if h.Type != nil {
		switch *h.Type {
		case corev1.HostPathUnset, corev1.HostPathDirectoryOrCreate, corev1.HostPathDirectory, corev1.HostPathFileOrCreate,
			corev1.HostPathFile, corev1.HostPathSocket, corev1.HostPathCharDev, corev1.HostPathBlockDev:
		default:
			errs = append(errs, field.NotSupported(p.Child("type"), *h.Type, []corev1.HostPathType{
				corev1.HostPathUnset, corev1.HostPathDirectoryOrCreate, corev1.HostPathDirectory, corev1.HostPathFileOrCreate,
				corev1.HostPathFile, corev1.HostPathSocket, corev1.HostPathCharDev, corev1.HostPathBlockDev}))
		}
	}
	return errs
}

func validateNFS(n *corev1.NFSVolumeSource, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if n.Server == "" {
		errs = append(errs, field.Required(p.Child("server"), ""))
	}
	if n.Path == "" {
		errs = append(errs, field.Required(p.Child("path"), ""))
	}
	if !path.IsAbs(n.Path) {
		errs = append(errs, field.Invalid(p.Child("path"), n.Path, "must be an absolute path"))
	}
	return errs
}

func validateMode(mode *int32, p *field.Path) field.ErrorList {
	if mode != nil && (*mode > 0777 || *mode < 0) {
		return field.ErrorList{field.Invalid(p, *mode, fileModeErrorMsg)}
	}
	return nil
}

func validateSecretVolume(s *corev1.SecretVolumeSource, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if s.SecretName == "" {
		errs = append(errs, field.Required(p.Child("secretName"), ""))
	}
	errs = append(errs, validateMode(s.DefaultMode, p.Child("defaultMode"))...)
	for i := range s.Items {
		errs = append(errs, validateKeyToPath(&s.Items[i], p.Child("items").Index(i))...)
	}
	return errs
}

func validateConfigMapVolume(c *corev1.ConfigMapVolumeSource, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if c.Name == "" {
		errs = append(errs, field.Required(p.Child("name"), ""))
	}
	errs = append(errs, validateMode(c.DefaultMode, p.Child("defaultMode"))...)
	for i := range c.Items {
		errs = append(errs, validateKeyToPath(&c.Items[i], p.Child("items").Index(i))...)
	}
	return errs
}

func validateDownwardAPIVolume(d *corev1.DownwardAPIVolumeSource, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, validateMode(d.DefaultMode, p.Child("defaultMode"))...)
	for i := range d.Items {
		// Kubernetes reports item errors under downwardAPI, without the index.
		errs = append(errs, validateDownwardAPIFile(&d.Items[i], p)...)
	}
	return errs
}

func validateDownwardAPIFile(f *corev1.DownwardAPIVolumeFile, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if f.Path == "" {
		errs = append(errs, field.Required(p.Child("path"), ""))
	}
	errs = append(errs, validateLocalNonReservedPath(f.Path, p.Child("path"))...)
	switch {
	case f.FieldRef != nil:
		errs = append(errs, validateObjectFieldSelector(f.FieldRef, validVolumeFieldPaths(), p.Child("fieldRef"))...)
		if f.ResourceFieldRef != nil {
			errs = append(errs, field.Invalid(p, "resource", "fieldRef and resourceFieldRef can not be specified simultaneously"))
		}
	case f.ResourceFieldRef != nil:
		errs = append(errs, validateResourceFieldSelector(f.ResourceFieldRef, true, p.Child("resourceFieldRef"))...)
	default:
		errs = append(errs, field.Required(p, "one of fieldRef and resourceFieldRef is required"))
	}
	return append(errs, validateMode(f.Mode, p.Child("mode"))...)
}

func validateProjected(pr *corev1.ProjectedVolumeSource, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, validateMode(pr.DefaultMode, p.Child("defaultMode"))...)
	paths := sets.New[string]()
	dup := func(pth, value string) {
		if pth == "" {
			return
		}
		if paths.Has(pth) {
			errs = append(errs, field.Invalid(p, value, "conflicting duplicate paths"))
		}
		paths.Insert(pth)
	}
	for i, src := range pr.Sources {
		sp := p.Child("sources").Index(i)
		n := 0
		if src.Secret != nil {
			n++
			if src.Secret.Name == "" {
				errs = append(errs, field.Required(sp.Child("secret", "name"), ""))
			}
			for j := range src.Secret.Items {
				errs = append(errs, validateKeyToPath(&src.Secret.Items[j], sp.Child("secret", "items").Index(j))...)
				dup(src.Secret.Items[j].Path, src.Secret.Name)
			}
		}
		if src.ConfigMap != nil {
			n++
			if src.ConfigMap.Name == "" {
				errs = append(errs, field.Required(sp.Child("configMap", "name"), ""))
			}
			for j := range src.ConfigMap.Items {
				errs = append(errs, validateKeyToPath(&src.ConfigMap.Items[j], sp.Child("configMap", "items").Index(j))...)
				dup(src.ConfigMap.Items[j].Path, src.ConfigMap.Name)
			}
		}
		if src.DownwardAPI != nil {
			n++
			for j := range src.DownwardAPI.Items {
				f := &src.DownwardAPI.Items[j]
				errs = append(errs, validateDownwardAPIFile(f, sp.Child("downwardAPI"))...)
				dup(f.Path, f.Path)
			}
		}
		if t := src.ServiceAccountToken; t != nil {
			n++
			tp := sp.Child("serviceAccountToken")
			var exp int64
			if t.ExpirationSeconds != nil {
				exp = *t.ExpirationSeconds
			}
			if exp < 10*60 {
				errs = append(errs, field.Invalid(tp.Child("expirationSeconds"), exp, "may not specify a duration less than 10 minutes"))
			}
			if exp > 1<<32 {
				errs = append(errs, field.Invalid(tp.Child("expirationSeconds"), exp, "may not specify a duration larger than 2^32 seconds"))
			}
			if t.Path == "" {
				errs = append(errs, field.Required(p.Child("path"), ""))
			} else {
				errs = append(errs, validateLocalNonReservedPath(t.Path, p.Child("path"))...)
			}
		}
		if src.ClusterTrustBundle != nil {
			n++
		}
		if n > 1 {
			errs = append(errs, field.Forbidden(sp, "may not specify more than 1 volume type"))
		}
	}
	return errs
}

func validateKeyToPath(kp *corev1.KeyToPath, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if kp.Key == "" {
		errs = append(errs, field.Required(p.Child("key"), ""))
	}
	if kp.Path == "" {
		errs = append(errs, field.Required(p.Child("path"), ""))
	}
	errs = append(errs, validateLocalNonReservedPath(kp.Path, p.Child("path"))...)
	return append(errs, validateMode(kp.Mode, p.Child("mode"))...)
}

// validateLocalDescendingPath: relative, with no ".." element.
func validateLocalDescendingPath(target string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if path.IsAbs(target) {
		errs = append(errs, field.Invalid(p, target, "must be a relative path"))
	}
	return append(errs, validatePathNoBacksteps(target, p)...)
}

func validatePathNoBacksteps(target string, p *field.Path) field.ErrorList {
	for _, item := range strings.Split(filepath.ToSlash(target), "/") {
		if item == ".." {
			return field.ErrorList{field.Invalid(p, target, "must not contain '..'")}
		}
	}
	return nil
}

// validateLocalNonReservedPath: a descending path that also does not start
// with ".." (reserved for the atomic writer's ..data links).
func validateLocalNonReservedPath(target string, p *field.Path) field.ErrorList {
	errs := validateLocalDescendingPath(target, p)
	if strings.HasPrefix(target, "..") && !strings.HasPrefix(target, "../") {
		errs = append(errs, field.Invalid(p, target, "must not start with '..'"))
	}
	return errs
}
