package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// volumesStart runs a server with its in-process agent (node vol-node) and
// busybox imported; cleanup deletes the pods and checks nothing is left.
func volumesStart(t *testing.T) (*apiServer, kubernetes.Interface) {
	return serverWithAgentStart(t, "ppvo", "vol-node")
}

// serverWithAgentStart runs a server (with extra flags) with its
// in-process agent as node, on a bridge named from prefix, and busybox
// imported; cleanup deletes the pods and checks nothing is left.
func serverWithAgentStart(t *testing.T, prefix, node string, extra ...string) (*apiServer, kubernetes.Interface) {
	n := runtimeSubnetSeq.Add(1)
	bridge := fmt.Sprintf("%s%d%d", prefix, os.Getpid()%1000, n)
	s := apiStart(t, append([]string{"--disable-agent=false", "--agent-port", fmt.Sprint(agentFreePort(t)), "--node-name", node,
		"--bridge-name", bridge, "--pod-cidr", agentTestCIDR(n)}, extra...)...)
	check := runtimeLeakCheck(t, s.dataDir)
	run(t, peapodBin, "image", "import", "--data-dir", s.dataDir, busyboxImage(t))
	cs := s.clientset()
	t.Cleanup(func() {
		clusterDeleteAllPods(t, s, cs)
		// A finished pod leaves the API at once (grace 0) while the agent
		// still tears it down: stopping the server then would cut that
		// short. The pod's directory goes last.
		agentTornDown(t, s.dataDir)
		s.cmd.Process.Signal(syscall.SIGTERM)
		s.cmd.Wait()
		s.cmd = nil
		check()
		if out, _ := exec.Command("sh", "-c", "grep -c "+s.dataDir+" /proc/self/mountinfo").Output(); strings.TrimSpace(string(out)) != "0" {
			t.Errorf("mounts left under %s: %s", s.dataDir, out)
		}
		if t.Failed() {
			out, _ := os.ReadFile(filepath.Join(s.dataDir, "server.log"))
			t.Logf("server log:\n%s", out)
		}
	})
	return s, cs
}

// agentTornDown waits (up to 30 s) until the agent with dataDir has torn
// down every pod: its pod directories, removed last, are gone.
func agentTornDown(t *testing.T, dataDir string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ents, _ := os.ReadDir(filepath.Join(dataDir, "pods"))
		if len(ents) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("pods not torn down after 30 s: %d left in %s", len(ents), dataDir)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// volumesExec runs a command in pod's container c.
func volumesExec(s *apiServer, pod string, cmd ...string) (string, error) {
	out, err := s.kubectlCmd(context.Background(), append([]string{"exec", pod, "--"}, cmd...)...).CombinedOutput()
	return string(out), err
}

// volumesUntil polls the file in the pod until it has want and returns
// how long that took.
func volumesUntil(t *testing.T, s *apiServer, pod, file, want string, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	var last string
	for time.Since(start) < timeout {
		out, err := volumesExec(s, pod, "cat", file)
		if err == nil && strings.Contains(out, want) {
			return time.Since(start)
		}
		last = out
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s in %s: no %q within %v; last %q", file, pod, want, timeout, last)
	return 0
}

func volumesRunning(t *testing.T, cs kubernetes.Interface, name string) *v1.Pod {
	t.Helper()
	return clusterWaitPod(t, cs, name, "Running", 60*time.Second, func(p *v1.Pod) bool { return p.Status.Phase == v1.PodRunning })
}

// TestVolumes: the seed's projected secret volume and its live update,
// configMap volume and envFrom, the downward API (volume and env), and a
// missing secret that holds a pod until it is created.
func TestVolumes(t *testing.T) {
	s, cs := volumesStart(t)

	// The seed's flow: two secrets from files, one projected volume.
	s.write("username.txt", "admin")
	s.write("password.txt", "1f2d1e2e67df")
	s.kubectl("create", "secret", "generic", "user", "--from-file=./username.txt")
	s.kubectl("create", "secret", "generic", "pass", "--from-file=./password.txt")
	clusterApply(t, s, "projected", `apiVersion: v1
kind: Pod
metadata: {name: projected}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "cat /projected-volume/username.txt; echo; cat /projected-volume/password.txt; echo; echo env=$PASS; exec sleep 3600"]
    env:
    - name: PASS
      valueFrom: {secretKeyRef: {name: pass, key: password.txt}}
    volumeMounts:
    - {name: all-in-one, mountPath: /projected-volume, readOnly: true}
  volumes:
  - name: all-in-one
    projected:
      sources:
      - secret: {name: user}
      - secret: {name: pass}
`)
	volumesRunning(t, cs, "projected")
	deadline := time.Now().Add(10 * time.Second)
	for {
		out := s.kubectl("logs", "projected")
		if strings.Contains(out, "admin\n1f2d1e2e67df\nenv=1f2d1e2e67df") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("projected logs: %q", out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if out, err := volumesExec(s, "projected", "sh", "-c", "touch /projected-volume/x 2>&1; ls -la /projected-volume/"); err != nil ||
		!strings.Contains(out, "Read-only file system") || !strings.Contains(out, "..data -> ..20") {
		t.Errorf("projected volume not read-only or not the atomic writer layout: %v\n%s", err, out)
	}

	// The service account token volume the admission plugin adds.
	pp, err := cs.CoreV1().Pods("default").Get(context.Background(), "projected", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	hasToken := false
	for _, v := range pp.Spec.Volumes {
		hasToken = hasToken || strings.HasPrefix(v.Name, "kube-api-access-")
	}
	if !hasToken {
		t.Errorf("no kube-api-access volume in %v", pp.Spec.Volumes)
	} else if out, err := volumesExec(s, "projected", "sh", "-c",
		"cd /var/run/secrets/kubernetes.io/serviceaccount && cat namespace && echo && head -c 3 token && echo && head -1 ca.crt"); err != nil ||
		out != "default\neyJ\n-----BEGIN CERTIFICATE-----\n" {
		t.Errorf("token volume: %q %v", out, err)
	}

	// A changed secret reaches the file; the env var keeps its value.
	s.write("pass.yaml", `apiVersion: v1
kind: Secret
metadata: {name: pass}
stringData: {password.txt: n3w-pa55}
`)
	s.kubectl("apply", "-f", "pass.yaml")
	took := volumesUntil(t, s, "projected", "/projected-volume/password.txt", "n3w-pa55", 10*time.Second)
	// The 2 s goal is measured by TestVolumesSecretPropagation (make bench,
	// files read on the host); kubectl exec polling is too slow to time it;
	// here only the 10 s bound holds.
	t.Logf("secret update -> file in the pod: %v (kubectl exec polling included)", took)
	if out, _ := volumesExec(s, "projected", "sh", "-c", "echo $PASS"); strings.TrimSpace(out) != "1f2d1e2e67df" {
		t.Errorf("env after the update: %q", out)
	}

	// A ConfigMap from a properties file, mounted and as envFrom.
	s.write("game.properties", "enemies=aliens\nlives=3")
	s.kubectl("create", "configmap", "game-config", "--from-file=./game.properties")
	clusterApply(t, s, "cfg", `apiVersion: v1
kind: Pod
metadata: {name: cfg}
spec:
  automountServiceAccountToken: false
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "exec sleep 3600"]
    envFrom:
    - prefix: CFG_
      configMapRef: {name: game-config}
    volumeMounts:
    - {name: config, mountPath: /etc/config}
  volumes:
  - name: config
    configMap:
      name: game-config
      items: [{key: game.properties, path: props/game.properties, mode: 0400}]
`)
	volumesRunning(t, cs, "cfg")
	if out, err := volumesExec(s, "cfg", "cat", "/etc/config/props/game.properties"); err != nil || out != "enemies=aliens\nlives=3" {
		t.Errorf("configMap file: %q %v", out, err)
	}
	if out, _ := volumesExec(s, "cfg", "stat", "-L", "-c", "%a", "/etc/config/props/game.properties"); strings.TrimSpace(out) != "400" {
		t.Errorf("item mode: %q", out)
	}
	if out, err := volumesExec(s, "cfg", "sh", "-c", "touch /etc/config/x"); err == nil || !strings.Contains(out, "Read-only file system") {
		t.Errorf("configMap volume writable: %q", out)
	}
	if out, err := volumesExec(s, "cfg", "ls", "/var/run/secrets/kubernetes.io/serviceaccount"); err == nil {
		t.Errorf("automountServiceAccountToken: false, yet the token directory exists: %q", out)
	}
	if out, _ := volumesExec(s, "cfg", "env"); !strings.Contains(out, "CFG_game.properties=enemies=aliens\nlives=3") {
		t.Errorf("envFrom: %q", out)
	}

	// The downward API: labels that follow `kubectl label`, and env.
	clusterApply(t, s, "dapi", `apiVersion: v1
kind: Pod
metadata:
  name: dapi
  labels: {zone: us-est-coast, cluster: test-cluster1}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "exec sleep 3600"]
    resources: {limits: {memory: 64Mi}}
    env:
    - {name: MY_POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
    - {name: MY_POD_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
    - {name: MY_NODE_NAME, valueFrom: {fieldRef: {fieldPath: spec.nodeName}}}
    - {name: MY_MEM_LIMIT, valueFrom: {resourceFieldRef: {containerName: c, resource: limits.memory, divisor: 1Mi}}}
    - {name: MY_EPH_LIMIT, valueFrom: {resourceFieldRef: {resource: limits.ephemeral-storage}}}
    volumeMounts:
    - {name: podinfo, mountPath: /etc/podinfo}
  volumes:
  - name: podinfo
    downwardAPI:
      items:
      - {path: labels, fieldRef: {fieldPath: metadata.labels}}
`)
	p := volumesRunning(t, cs, "dapi")
	if out, _ := volumesExec(s, "dapi", "cat", "/etc/podinfo/labels"); out != "cluster=\"test-cluster1\"\nzone=\"us-est-coast\"" {
		t.Errorf("labels file: %q", out)
	}
	out, _ := volumesExec(s, "dapi", "sh", "-c", "echo $MY_POD_NAME $MY_POD_IP $MY_NODE_NAME $MY_MEM_LIMIT $MY_EPH_LIMIT")
	// An unset limit is the Node's allocatable.
	nd, err := cs.CoreV1().Nodes().Get(context.Background(), "vol-node", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	eph := nd.Status.Allocatable[v1.ResourceEphemeralStorage]
	if want := fmt.Sprintf("dapi %s vol-node 64 %d", p.Status.PodIP, eph.Value()); eph.Value() == 0 || strings.TrimSpace(out) != want {
		t.Errorf("downward env %q, want %q", out, want)
	}
	s.kubectl("label", "pod", "dapi", "tier=new")
	took = volumesUntil(t, s, "dapi", "/etc/podinfo/labels", `tier="new"`, 10*time.Second)
	t.Logf("kubectl label -> labels file in the pod: %v", took)

	// fsGroup: a container running as user 1000 reads a 0400 secret, its
	// own token and writes an emptyDir, through the group the kubelet gives
	// these volumes (group read, setgid directories, a 0640 token).
	clusterApply(t, s, "fsgroup", `apiVersion: v1
kind: Pod
metadata: {name: fsgroup}
spec:
  terminationGracePeriodSeconds: 1
  securityContext: {runAsUser: 1000, runAsGroup: 3000, fsGroup: 2000}
  containers:
  - name: c
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "exec sleep 3600"]
    volumeMounts:
    - {name: creds, mountPath: /creds}
    - {name: scratch, mountPath: /scratch}
  volumes:
  - {name: creds, secret: {secretName: user, defaultMode: 0400}}
  - {name: scratch, emptyDir: {}}
`)
	volumesRunning(t, cs, "fsgroup")
	const tok = "/var/run/secrets/kubernetes.io/serviceaccount/token"
	if out, err := volumesExec(s, "fsgroup", "sh", "-c", "id -u; id -G; cat /creds/username.txt; echo; head -c 3 "+tok+"; echo; "+
		"stat -L -c '%a %u:%g' /creds/username.txt "+tok+"; stat -c '%a %g' /scratch; touch /scratch/f && stat -c '%g' /scratch/f"); err != nil ||
		out != "1000\n3000 2000\nadmin\neyJ\n440 0:2000\n640 1000:2000\n2777 2000\n2000\n" {
		t.Errorf("fsGroup volumes: %v\n%s", err, out)
	}

	// A missing secret: env → CreateContainerConfigError + event; volume →
	// FailedMount; both start once the secret exists.
	clusterApply(t, s, "waits-env", `apiVersion: v1
kind: Pod
metadata: {name: waits-env}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "echo got=$TOKEN; exec sleep 3600"]
    env:
    - name: TOKEN
      valueFrom: {secretKeyRef: {name: later, key: token}}
`)
	clusterApply(t, s, "waits-vol", `apiVersion: v1
kind: Pod
metadata: {name: waits-vol}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "exec sleep 3600"]
    volumeMounts: [{name: s, mountPath: /s}]
  volumes:
  - {name: s, secret: {secretName: later}}
`)
	w := clusterWaitPod(t, cs, "waits-env", "CreateContainerConfigError", 30*time.Second, func(p *v1.Pod) bool {
		return clusterWaiting(p, "CreateContainerConfigError")
	})
	if msg := w.Status.ContainerStatuses[0].State.Waiting.Message; msg != `secret "later" not found` {
		t.Errorf("waiting message %q", msg)
	}
	clusterEvent(t, cs, "waits-env", func(e v1.Event) bool {
		return e.Reason == "Failed" && e.Type == v1.EventTypeWarning && e.Message == `Error: secret "later" not found`
	})
	clusterEvent(t, cs, "waits-vol", func(e v1.Event) bool {
		return e.Reason == "FailedMount" && e.Message == `MountVolume.SetUp failed for volume "s" : secret "later" not found`
	})
	if p, _ := cs.CoreV1().Pods("default").Get(context.Background(), "waits-vol", metav1.GetOptions{}); p != nil && p.Status.Phase != v1.PodPending {
		t.Errorf("waits-vol phase %s", p.Status.Phase)
	}
	s.kubectl("create", "secret", "generic", "later", "--from-literal=token=arrived")
	volumesRunning(t, cs, "waits-env")
	volumesRunning(t, cs, "waits-vol")
	if out, _ := volumesExec(s, "waits-vol", "cat", "/s/token"); out != "arrived" {
		t.Errorf("waits-vol file %q", out)
	}
	deadline = time.Now().Add(10 * time.Second)
	for !strings.Contains(s.kubectl("logs", "waits-env"), "got=arrived") {
		if time.Now().After(deadline) {
			t.Fatalf("waits-env logs: %q", s.kubectl("logs", "waits-env"))
		}
		time.Sleep(100 * time.Millisecond)
	}

	// No secret value in the server's (and agent's) log.
	logb, _ := os.ReadFile(filepath.Join(s.dataDir, "server.log"))
	for _, v := range []string{"1f2d1e2e67df", "n3w-pa55", "arrived"} {
		if strings.Contains(string(logb), v) {
			t.Errorf("secret value %q in the server log", v)
		}
	}
}
