package volume

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	v1 "k8s.io/api/core/v1"

	"github.com/peapod/peapod/internal/runtime"
)

// Mounts resolves a container's volumeMounts against the host paths that
// SetUp returned, creating subPath directories as the kubelet does.
func Mounts(c *v1.Container, paths map[string]string) ([]runtime.Mount, error) {
	var out []runtime.Mount
	for _, vm := range c.VolumeMounts {
		hp, ok := paths[vm.Name]
		if !ok {
			return nil, fmt.Errorf("volumeMount %q of container %q: no volume of that name is set up", vm.Name, c.Name)
		}
		readOnly := vm.ReadOnly || apiDataDir(hp)
		if vm.SubPath != "" {
			sub := filepath.Clean(vm.SubPath)
			if filepath.IsAbs(sub) || sub == ".." || strings.HasPrefix(sub, "../") {
				return nil, fmt.Errorf("volumeMount %q of container %q: subPath %q must be a relative path inside the volume", vm.Name, c.Name, vm.SubPath)
			}
			hp = filepath.Join(hp, sub)
			if _, err := os.Lstat(hp); os.IsNotExist(err) {
				if err := os.MkdirAll(hp, 0o750); err != nil {
					return nil, fmt.Errorf("subPath %s: %w", hp, err)
				}
			}
		}
		m := runtime.Mount{ContainerPath: vm.MountPath, HostPath: hp, ReadOnly: readOnly}
		if vm.MountPropagation != nil {
			m.Propagation = *vm.MountPropagation
		}
		out = append(out, m)
	}
	return out, nil
}

// apiDataDir reports a secret, configMap, downwardAPI or projected volume
// (by its plugin directory): the kubelet always mounts these read-only.
func apiDataDir(hostPath string) bool {
	switch filepath.Base(filepath.Dir(hostPath)) {
	case (&Secret{}).Dir(), (&ConfigMap{}).Dir(), (&DownwardAPI{}).Dir(), (&Projected{}).Dir():
		return true
	}
	return false
}
