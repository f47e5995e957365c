package node

import (
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/peapod/peapod/internal/registry"
)

const (
	labelNodeRolePrefix = "node-role.kubernetes.io/"
	labelNodeRole       = "kubernetes.io/role"
)

func columns() []metav1.TableColumnDefinition {
	info := corev1.NodeSystemInfo{}.SwaggerDoc()
	return []metav1.TableColumnDefinition{
		registry.NameColumn(),
		registry.Column("Status", "string", 0, "The status of the node"),
		registry.Column("Roles", "string", 0, "The roles of the node"),
		registry.AgeColumn(),
		registry.Column("Version", "string", 0, info["kubeletVersion"]),
		registry.Column("Internal-IP", "string", 1, corev1.NodeStatus{}.SwaggerDoc()["addresses"]),
		registry.Column("External-IP", "string", 1, corev1.NodeStatus{}.SwaggerDoc()["addresses"]),
		registry.Column("OS-Image", "string", 1, info["osImage"]),
		registry.Column("Kernel-Version", "string", 1, info["kernelVersion"]),
		registry.Column("Container-Runtime", "string", 1, info["containerRuntimeVersion"]),
	}
}

// row is kube-apiserver's printNode (always wide).
func row(obj runtime.Object, now time.Time) (metav1.TableRow, error) {
	n := obj.(*corev1.Node)
	var status []string
	for _, c := range n.Status.Conditions {
		if c.Type != corev1.NodeReady {
			continue
		}
		if c.Status == corev1.ConditionTrue {
			status = append(status, string(c.Type))
		} else {
			status = append(status, "Not"+string(c.Type))
		}
		break
	}
	if len(status) == 0 {
		status = append(status, "Unknown")
	}
	if n.Spec.Unschedulable {
		status = append(status, "SchedulingDisabled")
	}
	roles := strings.Join(Roles(n), ",")
	if roles == "" {
		roles = "<none>"
	}
	info := n.Status.NodeInfo
	return metav1.TableRow{Cells: []interface{}{
		n.Name, strings.Join(status, ","), roles, registry.HumanAge(n.CreationTimestamp, now), info.KubeletVersion,
		address(n, corev1.NodeInternalIP), address(n, corev1.NodeExternalIP),
		orUnknown(info.OSImage), orUnknown(info.KernelVersion), orUnknown(info.ContainerRuntimeVersion),
	}}, nil
}

// Roles returns the node's roles from node-role.kubernetes.io/<role> and
// kubernetes.io/role labels, sorted.
func Roles(n *corev1.Node) []string {
	set := map[string]struct{}{}
	for k, v := range n.Labels {
		switch {
		case strings.HasPrefix(k, labelNodeRolePrefix):
			if role := strings.TrimPrefix(k, labelNodeRolePrefix); role != "" {
				set[role] = struct{}{}
			}
		case k == labelNodeRole && v != "":
			set[v] = struct{}{}
		}
	}
	roles := make([]string, 0, len(set))
	for r := range set {
		roles = append(roles, r)
	}
	sort.Strings(roles)
	return roles
}

func address(n *corev1.Node, t corev1.NodeAddressType) string {
	for _, a := range n.Status.Addresses {
		if a.Type == t {
			return a.Address
		}
	}
	return "<none>"
}

func orUnknown(s string) string {
	if s == "" {
		return "<unknown>"
	}
	return s
}
