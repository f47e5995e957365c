package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// registryBadPod has one error of each kind the registry reports.
const registryBadPod = `apiVersion: v1
kind: Pod
metadata:
  name: bad
spec:
  restartPolicy: Sometimes
  containers:
  - name: app
    image: ""
    ports:
    - {name: http, containerPort: 80}
    - {name: http, containerPort: 70000}
    livenessProbe:
      successThreshold: 2
      exec: {command: ["true"]}
    volumeMounts:
    - {name: missing, mountPath: /data}
  volumes:
  - name: s
    secret:
      secretName: s
      items: [{key: k, path: ../x}]
`

const registryPod = `apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: {app: web}
spec:
  containers:
  - name: app
    image: busybox
    command: ["sleep", "3600"]
    readinessProbe:
      httpGet: {port: 80}
    resources:
      limits: {cpu: 100m, memory: 64Mi}
`

const registryNode = `apiVersion: v1
kind: Node
metadata:
  name: node1
  labels: {node-role.kubernetes.io/control-plane: ""}
status:
  capacity: {cpu: "2", memory: 4Gi, pods: "110"}
  conditions:
  - {type: Ready, status: "True", reason: KubeletReady, message: ok, lastHeartbeatTime: "2026-01-01T00:00:00Z", lastTransitionTime: "2026-01-01T00:00:00Z"}
  addresses:
  - {type: InternalIP, address: 192.168.1.5}
  nodeInfo: {kubeletVersion: v1.33.0, osImage: Debian, kernelVersion: "6.1", containerRuntimeVersion: "runc://1.1", machineID: "", systemUUID: "", bootID: "", kubeProxyVersion: "", operatingSystem: linux, architecture: amd64}
`

const registryEvent = `apiVersion: v1
kind: Event
metadata: {name: web.1}
involvedObject: {kind: Pod, name: web, namespace: default, fieldPath: "spec.containers{app}"}
reason: BackOff
message: Back-off restarting failed container app
type: Warning
source: {component: kubelet, host: node1}
firstTimestamp: "2026-01-01T00:00:00Z"
lastTimestamp: "2026-01-01T00:01:00Z"
count: 5
`

// registryFail runs kubectl expecting it to fail and returns its output.
func registryFail(t *testing.T, s *apiServer, args ...string) string {
	t.Helper()
	out, err := s.kubectlCmd(context.Background(), args...).CombinedOutput()
	if err == nil {
		t.Fatalf("kubectl %s succeeded, want an error:\n%s", strings.Join(args, " "), out)
	}
	return string(out)
}

// TestRegistryThroughKubectl checks the per-resource registry behind a
// real server: 422 causes, defaults, pod immutability, the pod STATUS
// column from a status write, field selectors, graceful delete and the
// table columns of every resource.
func TestRegistryThroughKubectl(t *testing.T) {
	s := apiStart(t, "--disable-scheduler", "--node-monitor-grace-period=10m")

	s.write("bad.yaml", registryBadPod)
	out := registryFail(t, s, "apply", "-f", "bad.yaml")
	apiContains(t, "422 causes", out,
		`spec.volumes[0].secret.items[0].path: Invalid value: "../x": must not contain '..'`,
		"spec.containers[0].image: Required value",
		`spec.containers[0].ports[1].name: Duplicate value: "http"`,
		"spec.containers[0].ports[1].containerPort: Invalid value: 70000",
		`spec.containers[0].volumeMounts[0].name: Not found: "missing"`,
		"spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1",
		`spec.restartPolicy: Unsupported value: "Sometimes"`)

	s.write("pod.yaml", registryPod)
	s.kubectl("apply", "-f", "pod.yaml")
	var pod struct {
		Spec   map[string]any `json:"spec"`
		Status map[string]any `json:"status"`
	}
	if err := json.Unmarshal([]byte(s.kubectl("get", "pod", "web", "-o", "json")), &pod); err != nil {
		t.Fatal(err)
	}
	c := pod.Spec["containers"].([]any)[0].(map[string]any)
	probe := c["readinessProbe"].(map[string]any)
	req := c["resources"].(map[string]any)["requests"].(map[string]any)
	if pod.Spec["restartPolicy"] != "Always" || pod.Spec["dnsPolicy"] != "ClusterFirst" || pod.Spec["schedulerName"] != "default-scheduler" ||
		pod.Spec["terminationGracePeriodSeconds"] != float64(30) || pod.Spec["priority"] != float64(0) ||
		c["imagePullPolicy"] != "Always" || c["terminationMessagePolicy"] != "File" ||
		probe["periodSeconds"] != float64(10) || probe["httpGet"].(map[string]any)["scheme"] != "HTTP" ||
		req["memory"] != "64Mi" || pod.Status["qosClass"] != "Guaranteed" || pod.Status["phase"] != "Pending" {
		t.Fatalf("defaults not applied: %+v %+v", pod.Spec, pod.Status)
	}

	s.write("pod2.yaml", strings.Replace(registryPod, `"3600"`, `"7200"`, 1))
	out = registryFail(t, s, "apply", "-f", "pod2.yaml")
	apiContains(t, "pod update", out, "spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`")

	// Bind to a node and write a crash-looping status, as an agent would.
	// A fresh heartbeat, so that the node lifecycle controller leaves the
	// simulated node (and its pod) alone for the grace period.
	now := time.Now().UTC().Format(time.RFC3339)
	s.write("node.yaml", strings.ReplaceAll(registryNode, `lastHeartbeatTime: "2026-01-01T00:00:00Z"`, `lastHeartbeatTime: "`+now+`"`))
	s.kubectl("create", "-f", "node.yaml")
	s.write("binding.json", `{"apiVersion":"v1","kind":"Binding","metadata":{"name":"web"},"target":{"kind":"Node","name":"node1"}}`)
	s.kubectl("create", "--raw", "/api/v1/namespaces/default/pods/web/binding", "-f", "binding.json")
	var full map[string]any
	if err := json.Unmarshal([]byte(s.kubectl("get", "pod", "web", "-o", "json")), &full); err != nil {
		t.Fatal(err)
	}
	st := full["status"].(map[string]any)
	st["phase"], st["podIP"] = "Running", "10.88.0.5"
	st["containerStatuses"] = []any{map[string]any{"name": "app", "image": "busybox", "imageID": "", "ready": false, "restartCount": 3,
		"state":     map[string]any{"waiting": map[string]any{"reason": "CrashLoopBackOff"}},
		"lastState": map[string]any{"terminated": map[string]any{"exitCode": 1, "finishedAt": "2026-01-01T00:00:00Z"}}}}
	b, _ := json.Marshal(full)
	s.write("status.json", string(b))
	s.kubectl("replace", "--subresource=status", "-f", "status.json")
	out = s.kubectl("get", "pods", "-o", "wide")
	apiContains(t, "pod table", out, "NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "NOMINATED NODE", "READINESS GATES",
		"web", "0/1", "CrashLoopBackOff", "3 (", " ago)", "10.88.0.5", "node1")
	apiContains(t, "podIP selector", s.kubectl("get", "pods", "--field-selector", "status.podIP=10.88.0.5,spec.nodeName=node1", "-o", "name"), "pod/web")
	out = registryFail(t, s, "get", "pods", "--field-selector", "spec.bogus=1")
	apiContains(t, "unknown field selector", out, `"spec.bogus" is not a known field selector`)

	s.write("event.yaml", registryEvent)
	s.kubectl("create", "-f", "event.yaml")
	apiContains(t, "events table", s.kubectl("get", "events", "-o", "wide"),
		"LAST SEEN", "TYPE", "REASON", "OBJECT", "SUBOBJECT", "SOURCE", "MESSAGE", "FIRST SEEN", "COUNT",
		"Warning", "BackOff", "pod/web", "spec.containers{app}", "kubelet, node1", "Back-off restarting failed container app")
	apiContains(t, "event selector", s.kubectl("get", "events", "--field-selector", "involvedObject.name=web,type=Warning", "-o", "name"), "event/web.1")

	s.kubectl("create", "secret", "generic", "s1", "--from-literal=a=b")
	s.kubectl("create", "configmap", "c1", "--from-literal=a=b", "--from-literal=c=d")
	apiContains(t, "secret table", s.kubectl("get", "secrets"), "NAME", "TYPE", "DATA", "AGE", "s1", "Opaque", "1")
	apiContains(t, "configmap table", s.kubectl("get", "configmaps", "c1"), "NAME", "DATA", "AGE", "c1", "2")
	apiContains(t, "namespace table", s.kubectl("get", "namespaces"), "NAME", "STATUS", "AGE", "default", "Active")
	apiContains(t, "node table", s.kubectl("get", "nodes", "-o", "wide"), "ROLES", "VERSION", "INTERNAL-IP", "CONTAINER-RUNTIME",
		"node1", "Ready", "control-plane", "v1.33.0", "192.168.1.5", "runc://1.1")
	s.write("lease.json", `{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"node1","namespace":"kube-node-lease"},"spec":{"holderIdentity":"node1","leaseDurationSeconds":40}}`)
	s.kubectl("create", "-f", "lease.json")
	apiContains(t, "lease table", s.kubectl("get", "leases", "-n", "kube-node-lease"), "NAME", "HOLDER", "AGE", "node1")

	// A scheduled pod deletes gracefully with its spec's 30 s.
	s.kubectl("delete", "pod", "web", "--wait=false")
	apiContains(t, "terminating", s.kubectl("get", "pods"), "Terminating")
	apiContains(t, "grace", s.kubectl("get", "pod", "web", "-o", "jsonpath={.metadata.deletionGracePeriodSeconds}"), "30")
	s.kubectl("delete", "pod", "web", "--grace-period=0", "--force")
}
