package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Issue 7's API-level "Must show" list, through kubectl against a real
// `peapod server` (embedded etcd, no agent): presets are applied to pods
// at creation by the PodPreset admission plugin.

const podpresetAllowDatabase = `apiVersion: settings.k8s.io/v1alpha1
kind: PodPreset
metadata:
  name: allow-database
spec:
  selector:
    matchLabels:
      role: frontend
  env:
    - name: DB_PORT
      value: "6379"
  volumeMounts:
    - mountPath: /cache
      name: cache-volume
  volumes:
    - name: cache-volume
      emptyDir: {}
`

const podpresetProxy = `apiVersion: settings.k8s.io/v1alpha1
kind: PodPreset
metadata:
  name: proxy
spec:
  selector:
    matchLabels:
      role: frontend
  volumeMounts:
    - mountPath: /etc/proxy/configs
      name: proxy-volume
  volumes:
    - name: proxy-volume
      emptyDir: {}
`

const podpresetOtherDB = `apiVersion: settings.k8s.io/v1alpha1
kind: PodPreset
metadata:
  name: other-db
spec:
  selector:
    matchLabels:
      role: frontend
  env:
    - name: DB_PORT
      value: "6380"
`

// podpresetPod is a pod manifest with the given name, labels and
// annotations (flow-style YAML maps, e.g. "{role: frontend}").
func podpresetPod(name, labels, annotations string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s
  labels: %s
  annotations: %s
spec:
  containers:
    - name: website
      image: busybox
      command: ["sleep", "3600"]
  initContainers:
    - name: init
      image: busybox
      command: ["true"]
`, name, labels, annotations)
}

// podpresetApply writes manifest to a file and kubectl-applies it.
func podpresetApply(s *apiServer, file, manifest string) string {
	s.t.Helper()
	s.write(file, manifest)
	return s.kubectl("apply", "-f", file)
}

func podpresetGetPod(s *apiServer, name string) *corev1.Pod {
	s.t.Helper()
	var p corev1.Pod
	if err := json.Unmarshal([]byte(s.kubectl("get", "pod", name, "-o", "json")), &p); err != nil {
		s.t.Fatalf("decoding pod %s: %v", name, err)
	}
	saStripTokenVolume(&p) // the ServiceAccount plugin's, not a preset's
	return &p
}

// podpresetAnnotations returns the pod's podpreset annotations.
func podpresetAnnotations(p *corev1.Pod) map[string]string {
	out := map[string]string{}
	for k, v := range p.Annotations {
		if strings.HasPrefix(k, "podpreset.admission.kubernetes.io/podpreset-") {
			out[k] = v
		}
	}
	return out
}

// podpresetUntouched fails unless the pod carries nothing from a preset.
func podpresetUntouched(t *testing.T, p *corev1.Pod) {
	t.Helper()
	if a := podpresetAnnotations(p); len(a) > 0 {
		t.Errorf("pod %s has preset annotations %v", p.Name, a)
	}
	if len(p.Spec.Volumes) > 0 {
		t.Errorf("pod %s has volumes %v", p.Name, p.Spec.Volumes)
	}
	for _, c := range append(p.Spec.InitContainers, p.Spec.Containers...) {
		if len(c.Env) > 0 || len(c.EnvFrom) > 0 || len(c.VolumeMounts) > 0 {
			t.Errorf("pod %s container %s was changed: env %v envFrom %v mounts %v", p.Name, c.Name, c.Env, c.EnvFrom, c.VolumeMounts)
		}
	}
}

// podpresetEnv renders a container's env as NAME=value lines.
func podpresetEnv(c corev1.Container) string {
	var parts []string
	for _, e := range c.Env {
		parts = append(parts, e.Name+"="+e.Value)
	}
	return strings.Join(parts, ",")
}

func podpresetMounts(c corev1.Container) string {
	var parts []string
	for _, m := range c.VolumeMounts {
		parts = append(parts, m.Name+":"+m.MountPath)
	}
	return strings.Join(parts, ",")
}

func podpresetVolumes(p *corev1.Pod) string {
	var parts []string
	for _, v := range p.Spec.Volumes {
		kind := "other"
		if v.EmptyDir != nil {
			kind = "emptyDir"
		}
		parts = append(parts, v.Name+":"+kind)
	}
	return strings.Join(parts, ",")
}

func podpresetRV(s *apiServer, name string) string {
	s.t.Helper()
	return s.kubectl("get", "podpreset", name, "-o", "jsonpath={.metadata.resourceVersion}")
}

func TestPodPreset(t *testing.T) {
	s := apiStart(t)

	t.Run("apply and get", func(t *testing.T) {
		s.t = t
		apiContains(t, "apply", podpresetApply(s, "preset.yaml", podpresetAllowDatabase),
			"podpreset.settings.k8s.io/allow-database created")
		apiContains(t, "get podpresets", s.kubectl("get", "podpresets"), "NAME", "AGE", "allow-database")
		apiContains(t, "get podpresets -o wide", s.kubectl("get", "podpresets", "-o", "wide"), "SELECTOR", "role=frontend")
		// Client-side apply of an unchanged preset is a no-op, a changed
		// one a merge patch.
		apiContains(t, "re-apply", s.kubectl("apply", "-f", "preset.yaml"), "unchanged")
	})

	t.Run("documentation example", func(t *testing.T) {
		s.t = t
		podpresetApply(s, "website.yaml", podpresetPod("website", "{app: website, role: frontend}", "{}"))
		p := podpresetGetPod(s, "website")
		want := map[string]string{"podpreset.admission.kubernetes.io/podpreset-allow-database": podpresetRV(s, "allow-database")}
		if got := podpresetAnnotations(p); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("annotations %v, want %v", got, want)
		}
		if got := podpresetVolumes(p); got != "cache-volume:emptyDir" {
			t.Errorf("volumes %q", got)
		}
		for _, c := range append(p.Spec.InitContainers, p.Spec.Containers...) {
			if got := podpresetEnv(c); got != "DB_PORT=6379" {
				t.Errorf("container %s env %q, want DB_PORT=6379", c.Name, got)
			}
			if got := podpresetMounts(c); got != "cache-volume:/cache" {
				t.Errorf("container %s mounts %q", c.Name, got)
			}
		}
	})

	t.Run("two presets merge cleanly", func(t *testing.T) {
		s.t = t
		podpresetApply(s, "proxy.yaml", podpresetProxy)
		podpresetApply(s, "two.yaml", podpresetPod("two", "{role: frontend}", "{}"))
		p := podpresetGetPod(s, "two")
		if got := len(podpresetAnnotations(p)); got != 2 {
			t.Errorf("want 2 preset annotations, got %v", podpresetAnnotations(p))
		}
		if got := podpresetVolumes(p); got != "cache-volume:emptyDir,proxy-volume:emptyDir" {
			t.Errorf("volumes %q", got)
		}
		if got := podpresetMounts(p.Spec.Containers[0]); got != "cache-volume:/cache,proxy-volume:/etc/proxy/configs" {
			t.Errorf("mounts %q", got)
		}
	})

	t.Run("preset created or changed after a pod does not change it", func(t *testing.T) {
		s.t = t
		before := podpresetGetPod(s, "website")
		apiContains(t, "change preset", podpresetApply(s, "preset.yaml", strings.Replace(podpresetAllowDatabase, `"6379"`, `"7000"`, 1)),
			"configured")
		podpresetApply(s, "late.yaml", strings.Replace(podpresetOtherDB, "frontend", "late", 1))
		after := podpresetGetPod(s, "website")
		if after.ResourceVersion != before.ResourceVersion || podpresetEnv(after.Spec.Containers[0]) != "DB_PORT=6379" {
			t.Errorf("existing pod changed: rv %s -> %s, env %q", before.ResourceVersion, after.ResourceVersion, podpresetEnv(after.Spec.Containers[0]))
		}
		// New pods get the changed preset.
		podpresetApply(s, "new.yaml", podpresetPod("new", "{role: frontend}", "{}"))
		if got := podpresetEnv(podpresetGetPod(s, "new").Spec.Containers[0]); got != "DB_PORT=7000" {
			t.Errorf("new pod env %q, want DB_PORT=7000", got)
		}
	})

	t.Run("updating a pod never applies presets", func(t *testing.T) {
		s.t = t
		podpresetApply(s, "plain.yaml", podpresetPod("plain", "{role: none}", "{}"))
		podpresetUntouched(t, podpresetGetPod(s, "plain"))
		s.kubectl("label", "pod", "plain", "role=late", "--overwrite")
		s.kubectl("annotate", "pod", "plain", "touched=yes")
		p := podpresetGetPod(s, "plain")
		if p.Labels["role"] != "late" {
			t.Fatalf("label not updated: %v", p.Labels)
		}
		podpresetUntouched(t, p)
	})

	t.Run("other kinds are never touched", func(t *testing.T) {
		s.t = t
		// peapod serves no workload kinds with a pod template; any labelled
		// non-Pod object shows the plugin leaves it alone (and does not
		// fail its creation).
		podpresetApply(s, "cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: frontend\n  labels: {role: frontend}\ndata: {a: b}\n")
		out := s.kubectl("get", "configmap", "frontend", "-o", "jsonpath={.metadata.annotations}")
		if strings.Contains(out, "podpreset") {
			t.Errorf("configmap annotated: %s", out)
		}
	})

	t.Run("exclude annotation", func(t *testing.T) {
		s.t = t
		podpresetApply(s, "excluded.yaml", podpresetPod("excluded", "{role: frontend}",
			`{"podpreset.admission.kubernetes.io/exclude": "true"}`))
		podpresetUntouched(t, podpresetGetPod(s, "excluded"))
	})

	t.Run("conflict leaves the pod unmodified and records an event", func(t *testing.T) {
		s.t = t
		podpresetApply(s, "other.yaml", podpresetOtherDB)
		// A server-side dry run records nothing.
		s.write("dry.yaml", podpresetPod("dry", "{role: frontend}", "{}"))
		s.kubectl("apply", "--dry-run=server", "-f", "dry.yaml")

		podpresetApply(s, "conflict.yaml", podpresetPod("conflict", "{role: frontend}", "{}"))
		p := podpresetGetPod(s, "conflict")
		podpresetUntouched(t, p)

		events := s.kubectl("get", "events", "--field-selector", "reason=PodPresetConflict")
		apiContains(t, "get events", events, "Warning", "PodPresetConflict", "pod/conflict",
			"allow-database,other-db,proxy", "merging env for other-db has a conflict on DB_PORT")
		if strings.Contains(events, "pod/dry") {
			t.Errorf("dry run recorded an event:\n%s", events)
		}
		var list corev1.EventList
		if err := json.Unmarshal([]byte(s.kubectl("get", "events", "--field-selector",
			"involvedObject.name=conflict,reason=PodPresetConflict", "-o", "json")), &list); err != nil {
			t.Fatal(err)
		}
		if len(list.Items) != 1 {
			t.Fatalf("want one event about pod conflict, got %d", len(list.Items))
		}
		ev := list.Items[0]
		if ev.Type != "Warning" || ev.InvolvedObject.Kind != "Pod" || ev.InvolvedObject.Namespace != "default" ||
			ev.InvolvedObject.UID != p.UID || !strings.Contains(ev.Message, "spec.containers[0].env") {
			t.Errorf("event %+v", ev)
		}
		// The event has the pod's UID, so describe lists it.
		apiContains(t, "describe pod", s.kubectl("describe", "pod", "conflict"), "PodPresetConflict", "podpreset-admission")
		s.kubectl("delete", "podpreset", "other-db")
	})

	t.Run("invalid presets are rejected with causes", func(t *testing.T) {
		s.t = t
		body := []byte(`{"apiVersion":"settings.k8s.io/v1alpha1","kind":"PodPreset","metadata":{"name":"broken"},
			"spec":{"selector":{"matchExpressions":[{"key":"role","operator":"Bogus","values":["x"]}]}}}`)
		code, out := s.raw("POST", "/apis/settings.k8s.io/v1alpha1/namespaces/default/podpresets", "application/json", body, s.token())
		var st metav1.Status
		if err := json.Unmarshal(out, &st); err != nil {
			t.Fatalf("%d %s", code, out)
		}
		if code != 422 || st.Reason != metav1.StatusReasonInvalid || st.Details == nil {
			t.Fatalf("want 422 Invalid, got %d %s", code, out)
		}
		fields := map[string]bool{}
		for _, c := range st.Details.Causes {
			fields[c.Field] = true
		}
		for _, f := range []string{"spec.selector.matchExpressions[0].operator", "spec.volumes.env.envFrom.volumeMounts"} {
			if !fields[f] {
				t.Errorf("no cause for %s in %s", f, out)
			}
		}

		s.write("unknown-volume.yaml", `apiVersion: settings.k8s.io/v1alpha1
kind: PodPreset
metadata: {name: unknown-volume}
spec:
  selector: {}
  volumeMounts: [{name: dne, mountPath: /foo}]
`)
		cmd := s.kubectlCmd(t.Context(), "apply", "-f", "unknown-volume.yaml")
		kout, err := cmd.CombinedOutput()
		if err == nil {
			t.Fatalf("kubectl apply of an invalid preset succeeded:\n%s", kout)
		}
		apiContains(t, "kubectl apply invalid", string(kout), `The PodPreset "unknown-volume" is invalid`, "spec.volumeMounts[0].name: Not found")
		if code, _ := s.raw("GET", "/apis/settings.k8s.io/v1alpha1/namespaces/default/podpresets/broken", "", nil, s.token()); code != 404 {
			t.Errorf("invalid preset was stored (%d)", code)
		}
	})
	s.t = t
}

// TestPodPresetInRunningContainer: the documentation example's pod, as the
// API server admitted it, runs with DB_PORT=6379 and /cache mounted.
// Until the agent takes its pods from the API server (issue 4), the
// admitted spec is handed to `peapod agent` as a static pod.
func TestPodPresetInRunningContainer(t *testing.T) {
	// The end-to-end case: a pod created through the API is
	// admitted with the preset, scheduled onto a joined agent, and the
	// injected env and volume are there inside the running container.
	s := apiStart(t)
	cs := s.clientset()
	clusterStartAgent(t, s, "pp-node", "")
	t.Cleanup(func() { clusterDeleteAllPods(t, s, cs) })
	podpresetApply(s, "preset.yaml", podpresetAllowDatabase)
	podpresetApply(s, "website.yaml", `apiVersion: v1
kind: Pod
metadata:
  name: website
  labels: {app: website, role: frontend}
spec:
  terminationGracePeriodSeconds: 1
  containers:
    - name: website
      image: busybox
      imagePullPolicy: IfNotPresent
      command: [sleep, "3600"]
`)
	p := clusterWaitPod(t, cs, "website", "Running", 60*time.Second, func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
	if p.Annotations["podpreset.admission.kubernetes.io/podpreset-allow-database"] == "" {
		t.Fatalf("pod has no podpreset annotation: %v", p.Annotations)
	}
	out := s.kubectl("exec", "website", "--", "sh", "-c", `echo $DB_PORT; grep -q " /cache " /proc/mounts && echo cache-mounted`)
	if got := strings.TrimSpace(out); got != "6379\ncache-mounted" {
		t.Errorf("inside the container: %q, want 6379 and cache-mounted", got)
	}
}
