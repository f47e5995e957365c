package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
)

// TestInClusterAPIAccess: pods reach the API server as in Kubernetes.
// The agent gives every container the kubelet's KUBERNETES_SERVICE_* and
// KUBERNETES_PORT* variables for the API server at the node IP (the
// server binds 0.0.0.0 here, as by default); with the token volume
// (kube-api-access-*) and a RoleBinding to `view`, the real kubectl
// binary, hostPath-mounted into a busybox pod, lists the pods with its
// in-cluster config: on the pod network and with hostNetwork (and
// enableServiceLinks: false) alike.
func TestInClusterAPIAccess(t *testing.T) {
	s, cs := serverWithAgentStart(t, "ppic", "ic-node", "--bind-address", "0.0.0.0")

	// kubectl for the server's minor (/usr/bin/kubectl is the dispatcher,
	// which needs python: not in busybox); a static binary.
	code, body := s.raw("GET", "/version", "", nil, "")
	var version struct{ Minor string }
	if code != 200 || json.Unmarshal(body, &version) != nil {
		t.Fatalf("/version: %d %s", code, body)
	}
	kubectl := "/usr/lib/google-cloud-sdk/bin/kubectl.1." + strings.TrimSuffix(version.Minor, "+")
	if _, err := os.Stat(kubectl); err != nil {
		t.Skipf("no kubectl for the server's minor: %v", err)
	}

	saWaitDefault(t, s, "default")
	s.kubectl("create", "rolebinding", "ic-view", "--clusterrole=view", "--serviceaccount=default:default")

	// The script prints the service variables (sorted), a value and an
	// argument expanded against them, then what kubectl in-cluster says.
	pod := func(name, extra string) string {
		return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: %s}
spec:
  terminationGracePeriodSeconds: 1
%s  containers:
  - name: c
    image: busybox
    imagePullPolicy: IfNotPresent
    env:
    - {name: API_URL, value: "https://$(KUBERNETES_SERVICE_HOST):$(KUBERNETES_SERVICE_PORT)"}
    command: ["sh", "-c", "env | grep ^KUBERNETES_ | sort; echo API_URL=$API_URL; echo ARG=$0; echo ---; HOME=/tmp /kubectl get pods -o custom-columns=NAME:.metadata.name --no-headers 2>&1; echo kubectl-rc=$?; exec sleep 3600", "$(KUBERNETES_PORT)"]
    volumeMounts:
    - {name: kubectl, mountPath: /kubectl, readOnly: true}
  volumes:
  - name: kubectl
    hostPath: {path: %s, type: File}
`, name, extra, kubectl)
	}
	clusterApply(t, s, "ic-pod", pod("ic-pod", ""))
	clusterApply(t, s, "ic-host", pod("ic-host", "  hostNetwork: true\n  enableServiceLinks: false\n"))

	results := map[string]string{}
	for _, name := range []string{"ic-pod", "ic-host"} {
		// Running (so that deleting it waits for the agent's teardown),
		// then its script's output complete.
		p := clusterWaitPod(t, cs, name, "Running", 90*time.Second, func(p *v1.Pod) bool { return p.Status.Phase == v1.PodRunning })
		var out string
		eventually(t, 60*time.Second, name+"'s kubectl to finish", func() (bool, string) {
			b, _ := s.kubectlCmd(context.Background(), "logs", name).CombinedOutput()
			out = string(b)
			return strings.Contains(out, "kubectl-rc="), out
		})
		t.Logf("%s (hostIP %s, podIP %s):\n%s", name, p.Status.HostIP, p.Status.PodIP, out)
		host := p.Status.HostIP
		if host == "" {
			t.Fatalf("%s: no hostIP", name)
		}
		port := fmt.Sprint(s.port)
		url := "tcp://" + host + ":" + port
		want := strings.Join([]string{
			"KUBERNETES_PORT=" + url,
			"KUBERNETES_PORT_" + port + "_TCP=" + url,
			"KUBERNETES_PORT_" + port + "_TCP_ADDR=" + host,
			"KUBERNETES_PORT_" + port + "_TCP_PORT=" + port,
			"KUBERNETES_PORT_" + port + "_TCP_PROTO=tcp",
			"KUBERNETES_SERVICE_HOST=" + host,
			"KUBERNETES_SERVICE_PORT=" + port,
			"KUBERNETES_SERVICE_PORT_HTTPS=" + port,
			"API_URL=https://" + host + ":" + port,
			"ARG=" + url,
			"---",
		}, "\n") + "\n"
		env, rest, _ := strings.Cut(out, "---\n")
		if env+"---\n" != want {
			t.Errorf("%s: variables\n%s\nwant\n%s", name, env, want)
		}
		// In-cluster kubectl: the service account's view of default.
		if !strings.Contains(rest, "\n"+name+"\n") && !strings.HasPrefix(rest, name+"\n") || !strings.HasSuffix(rest, "kubectl-rc=0\n") {
			t.Errorf("%s: kubectl in the pod:\n%s", name, rest)
		}
		results[name] = env
	}
	if results["ic-pod"] != results["ic-host"] {
		t.Errorf("the pod network and hostNetwork differ:\n%s\n%s", results["ic-pod"], results["ic-host"])
	}
}
