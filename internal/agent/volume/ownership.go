package volume

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	v1 "k8s.io/api/core/v1"
)

// Ownership is what a pod's security context asks of the files of its
// volumes: the kubelet's MounterArgs FsGroup and FsUser.
type Ownership struct {
	// FsGroup is spec.securityContext.fsGroup: volumes the agent makes
	// (emptyDir, secret, configMap, downwardAPI, projected) are chgrp'ed to
	// it, made group-readable (group-writable for emptyDir) and their
	// directories setgid, so new files inherit the group.
	FsGroup *int64
	// FsUser is the one runAsUser every container of the pod runs as (nil
	// when one sets none or two differ): a projected serviceAccountToken
	// is owned by it, so a non-root container can read its 0600 token.
	FsUser *int64
}

// OwnershipOf reads a pod's Ownership as the kubelet does (FsUserFrom:
// init, regular and ephemeral containers, the container's runAsUser over
// the pod's).
func OwnershipOf(pod *v1.Pod) Ownership {
	var o Ownership
	if sc := pod.Spec.SecurityContext; sc != nil && sc.FSGroup != nil {
		g := *sc.FSGroup
		o.FsGroup = &g
	}
	var podUser *int64
	if sc := pod.Spec.SecurityContext; sc != nil {
		podUser = sc.RunAsUser
	}
	var user *int64
	same := true
	visit := func(sc *v1.SecurityContext) {
		u := podUser
		if sc != nil && sc.RunAsUser != nil {
			u = sc.RunAsUser
		}
		switch {
		case !same:
		case u == nil || (user != nil && *user != *u):
			same = false
		case user == nil:
			v := *u
			user = &v
		}
	}
	for i := range pod.Spec.InitContainers {
		visit(pod.Spec.InitContainers[i].SecurityContext)
	}
	for i := range pod.Spec.Containers {
		visit(pod.Spec.Containers[i].SecurityContext)
	}
	for i := range pod.Spec.EphemeralContainers {
		visit(pod.Spec.EphemeralContainers[i].SecurityContext)
	}
	if same {
		o.FsUser = user
	}
	return o
}

// The kubelet's SetVolumeOwnership masks: read-only volumes (secret,
// configMap, downwardAPI, projected) get group read, others group read
// and write; directories also get group search and setgid.
const (
	rwMask   fs.FileMode = 0o660
	roMask   fs.FileMode = 0o440
	execMask fs.FileMode = 0o110
)

// ownedMode is the mode SetVolumeOwnership gives a file or directory.
func ownedMode(mode fs.FileMode, dir, readOnly bool) fs.FileMode {
	mask := rwMask
	if readOnly {
		mask = roMask
	}
	if dir {
		mask |= execMask | fs.ModeSetgid
	}
	return mode | mask
}

// setVolumeOwnership gives everything under root (root included, symlinks
// skipped: chmod would follow them) the group gid and ownedMode, as the
// kubelet's SetVolumeOwnership does with fsGroupChangePolicy Always. The
// owner is kept.
func setVolumeOwnership(root string, gid int64, readOnly bool) error {
	var errs []error
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		st, ok := info.Sys().(*syscall.Stat_t)
		if !ok {
			return nil
		}
		if err := os.Lchown(path, int(st.Uid), int(gid)); err != nil {
			errs = append(errs, err)
		}
		if err := os.Chmod(path, ownedMode(info.Mode(), d.IsDir(), readOnly)); err != nil {
			errs = append(errs, err)
		}
		return nil
	})
	if err := errors.Join(append(errs, err)...); err != nil {
		return fmt.Errorf("setting fsGroup %d on %s: %w", gid, root, err)
	}
	return nil
}
