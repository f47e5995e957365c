package node

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func errStrings(errs field.ErrorList) string {
	var out []string
	for _, e := range errs {
		out = append(out, string(e.Type)+" "+e.Field)
	}
	return strings.Join(out, ",")
}

func node() *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node1", ResourceVersion: "1"}}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(n *corev1.Node)
		want   string
	}{
		{"ok", func(n *corev1.Node) {
			n.Spec.PodCIDRs = []string{"10.88.0.0/24"}
			n.Spec.Taints = []corev1.Taint{{Key: "node.kubernetes.io/unreachable", Effect: corev1.TaintEffectNoExecute}}
		}, ""},
		{"bad name", func(n *corev1.Node) { n.Name = "Node_1" }, "FieldValueInvalid metadata.name"},
		{"bad cidr and taints", func(n *corev1.Node) {
			n.Spec.PodCIDRs = []string{"10.0.0.0"}
			n.Spec.Taints = []corev1.Taint{{Key: "k", Effect: "Sometimes"}, {Key: "a", Effect: corev1.TaintEffectNoSchedule},
				{Key: "a", Effect: corev1.TaintEffectNoSchedule}, {Key: "b"}}
		}, "FieldValueNotSupported metadata.taints[0].effect,FieldValueDuplicate metadata.taints[2],FieldValueRequired metadata.taints[3].effect,FieldValueInvalid spec.podCIDRs[0]"},
		{"cidr families and capacity", func(n *corev1.Node) {
			n.Spec.PodCIDRs = []string{"10.0.0.0/24", "10.1.0.0/24"}
			n.Status.Capacity = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("-1")}
		}, "FieldValueInvalid status.capacity[cpu],FieldValueInvalid spec.podCIDRs"},
		{"dual stack", func(n *corev1.Node) { n.Spec.PodCIDRs = []string{"10.0.0.0/24", "fd00::/64"} }, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := node()
			c.mutate(n)
			if got := errStrings(Validate(n)); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestUpdate(t *testing.T) {
	s := NewResource().Strategy.(*Strategy)
	old := node()
	old.Spec.PodCIDRs = []string{"10.88.0.0/24"}
	old.Status.Phase = corev1.NodeRunning
	upd := old.DeepCopy()
	upd.Spec.PodCIDRs = []string{"10.99.0.0/24"}
	upd.Status.Phase = ""
	s.PrepareForUpdate(context.Background(), upd, old)
	if upd.Status.Phase != corev1.NodeRunning {
		t.Error("main update changed status")
	}
	if got := errStrings(s.ValidateUpdate(context.Background(), upd, old)); got != "FieldValueForbidden spec.podCIDRs" {
		t.Errorf("got %q", got)
	}
	st := old.DeepCopy()
	st.Spec.Unschedulable = true
	st.Status.Phase = corev1.NodePending
	s.PrepareForStatusUpdate(context.Background(), st, old)
	if st.Spec.Unschedulable || st.Status.Phase != corev1.NodePending {
		t.Errorf("status update = %+v", st)
	}
}

func TestTable(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	res := NewResourceWithClock(func() time.Time { return now })
	cols := []string{}
	n := node()
	n.CreationTimestamp = metav1.NewTime(now.Add(-10 * time.Minute))
	n.Labels = map[string]string{"node-role.kubernetes.io/control-plane": "", "kubernetes.io/role": "worker", "node-role.kubernetes.io/": "x"}
	n.Spec.Unschedulable = true
	n.Status = corev1.NodeStatus{
		Conditions: []corev1.NodeCondition{{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse}, {Type: corev1.NodeReady, Status: corev1.ConditionTrue}},
		Addresses:  []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: "node1"}, {Type: corev1.NodeInternalIP, Address: "192.168.1.5"}},
		NodeInfo:   corev1.NodeSystemInfo{KubeletVersion: "v1.33.0-peapod", OSImage: "Debian GNU/Linux 13", KernelVersion: "6.12.0", ContainerRuntimeVersion: "runc://1.2"},
	}
	tbl, err := res.Strategy.ConvertToTable(context.Background(), n, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range tbl.ColumnDefinitions {
		cols = append(cols, c.Name)
	}
	if strings.Join(cols, ",") != "Name,Status,Roles,Age,Version,Internal-IP,External-IP,OS-Image,Kernel-Version,Container-Runtime" {
		t.Errorf("columns = %v", cols)
	}
	want := []interface{}{"node1", "Ready,SchedulingDisabled", "control-plane,worker", "10m", "v1.33.0-peapod",
		"192.168.1.5", "<none>", "Debian GNU/Linux 13", "6.12.0", "runc://1.2"}
	for i, w := range want {
		if tbl.Rows[0].Cells[i] != w {
			t.Errorf("cell %d = %v, want %v", i, tbl.Rows[0].Cells[i], w)
		}
	}
	notReady := node()
	notReady.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionUnknown}}
	r, _ := row(notReady, now)
	if r.Cells[1] != "NotReady" || r.Cells[2] != "<none>" || r.Cells[7] != "<unknown>" {
		t.Errorf("not ready row = %v", r.Cells)
	}
	r, _ = row(node(), now)
	if r.Cells[1] != "Unknown" {
		t.Errorf("no conditions = %v", r.Cells[1])
	}
	_, f, _ := res.Strategy.GetAttrs(n)
	if f["spec.unschedulable"] != "true" {
		t.Errorf("fields = %v", f)
	}
}
