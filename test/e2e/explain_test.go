package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// explainKubectl runs kubectl and returns its combined output and whether
// it succeeded.
func explainKubectl(s *apiServer, args ...string) (string, bool) {
	out, err := s.kubectlCmd(context.Background(), args...).CombinedOutput()
	return string(out), err == nil
}

func explainWant(t *testing.T, what, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("%s: output lacks %q:\n%s", what, w, out)
		}
	}
}

// TestExplain: the real kubectl explains built-in kinds and PodPreset from
// the server's OpenAPI v3 documents, and its client-side behaviour that
// reads the same documents (validation delegated to the server, apply's
// patch type) is unchanged.
func TestExplain(t *testing.T) {
	s := apiStart(t, "--disable-scheduler", "--disable-controllers")

	out := s.kubectl("explain", "pod.spec.containers.livenessProbe")
	explainWant(t, "explain livenessProbe", out, "KIND:       Pod", "VERSION:    v1", "FIELD: livenessProbe <Probe>",
		"Periodic probe of container liveness", "httpGet\t<HTTPGetAction>", "failureThreshold\t<integer>")

	out = s.kubectl("explain", "podpresets.spec")
	explainWant(t, "explain podpresets.spec", out, "GROUP:      settings.k8s.io", "KIND:       PodPreset", "VERSION:    v1alpha1",
		"selector\t<LabelSelector>", "env\t<[]EnvVar>", "envFrom\t<[]EnvFromSource>", "volumes\t<[]Volume>", "volumeMounts\t<[]VolumeMount>")
	out = s.kubectl("explain", "podpreset.spec.volumes.configMap.items")
	explainWant(t, "explain podpreset volumes (core schemas in the settings document)", out, "KeyToPath", "path\t<string> -required-")

	out = s.kubectl("explain", "pods", "--recursive")
	explainWant(t, "explain pods --recursive", out, "DESCRIPTION:", "livenessProbe\t<Probe>", "terminationGracePeriodSeconds\t<integer>",
		"managedFields\t<[]ManagedFieldsEntry>")

	out = s.kubectl("explain", "podpresets.spec.volumeMounts", "--output", "plaintext-openapiv2")
	explainWant(t, "explain from OpenAPI v2", out, "KIND:     PodPreset", "mountPath\t<string> -required-")

	if out, ok := explainKubectl(s, "explain", "pods.spec.nope"); ok || !strings.Contains(out, `field "nope" does not exist`) {
		t.Errorf("unknown field: want an error naming it, got ok=%v:\n%s", ok, out)
	}
	if out, ok := explainKubectl(s, "explain", "widgets"); ok || !strings.Contains(out, `the server doesn't have a resource type "widgets"`) {
		t.Errorf("unknown resource: want an error, got ok=%v:\n%s", ok, out)
	}

	// Every served resource explains, and every served subresource has
	// its path in its group-version's document.
	names := strings.Fields(s.kubectl("api-resources", "-o", "name"))
	if len(names) < 10 {
		t.Fatalf("api-resources: %v", names)
	}
	for _, r := range names {
		if out, ok := explainKubectl(s, "explain", r); !ok || !strings.Contains(out, "KIND:") {
			t.Errorf("explain %s: ok=%v\n%s", r, ok, out)
		}
	}
	explainSubresourcePaths(t, s)

	// kubectl still leaves validation to the server (fieldValidation is
	// declared) ...
	s.write("explain-bad.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bad}\ndata: {a: b}\nbogus: 1\n")
	if out, ok := explainKubectl(s, "create", "-f", "explain-bad.yaml"); ok || !strings.Contains(out, `strict decoding error: unknown field "bogus"`) {
		t.Errorf("unknown field on create: want the server's strict decoding error, got ok=%v:\n%s", ok, out)
	}
	// ... computes a strategic merge patch for a pod from the v3 schema
	// and a merge patch for a PodPreset.
	s.kubectl("create", "serviceaccount", "default")
	pod := "apiVersion: v1\nkind: Pod\nmetadata: {name: explain-web, labels: {app: web}}\nspec:\n  containers:\n  - {name: a, image: busybox, env: [{name: A, value: \"1\"}]}\n  - {name: b, image: busybox}\n"
	s.write("explain-pod.yaml", pod)
	s.kubectl("apply", "-f", "explain-pod.yaml")
	s.write("explain-pod.yaml", strings.ReplaceAll(strings.ReplaceAll(pod, "image: busybox", "image: busybox:1"), "app: web", "app: web2"))
	out = s.kubectl("apply", "-f", "explain-pod.yaml", "-v=6")
	explainWant(t, "apply pod again", out, "pod/explain-web configured")
	if strings.Contains(out, "does not support strategic merge patch") {
		t.Errorf("apply pod: kubectl did not find the pod's patch metadata in OpenAPI v3:\n%s", out)
	}
	explainWant(t, "pod after apply", s.kubectl("get", "pod", "explain-web", "-o", "jsonpath={.spec.containers[*].image} {.metadata.labels.app} {.spec.containers[0].env[0].value}"),
		"busybox:1 busybox:1 web2 1")
	explainWant(t, "apply --server-side", s.kubectl("apply", "--server-side", "-f", "explain-pod.yaml"), "serverside-applied")

	preset := "apiVersion: settings.k8s.io/v1alpha1\nkind: PodPreset\nmetadata: {name: explain-pp}\nspec:\n  selector: {matchLabels: {app: db}}\n  env: [{name: X, value: \"1\"}]\n"
	s.write("explain-pp.yaml", preset)
	s.kubectl("apply", "-f", "explain-pp.yaml")
	s.write("explain-pp.yaml", strings.ReplaceAll(preset, `value: "1"`, `value: "2"`))
	explainWant(t, "apply podpreset again", s.kubectl("apply", "-f", "explain-pp.yaml"), "podpreset.settings.k8s.io/explain-pp configured")
	explainWant(t, "podpreset after apply", s.kubectl("get", "podpreset", "explain-pp", "-o", "jsonpath={.spec.env[0].value}"), "2")
	s.write("explain-pp-bad.yaml", strings.ReplaceAll(preset, "explain-pp}", "explain-pp2}")+"  bogus: 1\n")
	if out, ok := explainKubectl(s, "apply", "-f", "explain-pp-bad.yaml"); ok || !strings.Contains(out, `unknown field "spec.bogus"`) {
		t.Errorf("podpreset unknown field: want the server's strict decoding error, got ok=%v:\n%s", ok, out)
	}
}

// explainSubresourcePaths checks that each subresource in discovery
// (pods/log, serviceaccounts/token, ...) has a path in its document.
func explainSubresourcePaths(t *testing.T, s *apiServer) {
	t.Helper()
	code, b := s.raw("GET", "/openapi/v3", "", nil, s.token())
	var idx struct {
		Paths map[string]struct {
			ServerRelativeURL string `json:"serverRelativeURL"`
		} `json:"paths"`
	}
	if code != 200 || json.Unmarshal(b, &idx) != nil {
		t.Fatalf("/openapi/v3: %d %s", code, b)
	}
	for gvPath, e := range idx.Paths {
		code, b := s.raw("GET", "/"+gvPath, "", nil, s.token())
		var list metav1.APIResourceList
		if code != 200 || json.Unmarshal(b, &list) != nil {
			t.Fatalf("/%s: %d %s", gvPath, code, b)
		}
		code, b = s.raw("GET", e.ServerRelativeURL, "", nil, s.token())
		var doc struct {
			Paths map[string]json.RawMessage `json:"paths"`
		}
		if code != 200 || json.Unmarshal(b, &doc) != nil {
			t.Fatalf("%s: %d %.200s", e.ServerRelativeURL, code, b)
		}
		for _, r := range list.APIResources {
			p := "/" + gvPath + "/"
			if r.Namespaced {
				p += "namespaces/{namespace}/"
			}
			res, sub, isSub := strings.Cut(r.Name, "/")
			p += res + "/{name}"
			if isSub {
				p += "/" + sub
			} else if r.Name == "selfsubjectaccessreviews" || r.Name == "selfsubjectreviews" {
				p = "/" + gvPath + "/" + r.Name // create-only
			}
			if _, ok := doc.Paths[p]; !ok {
				t.Errorf("%s: no path %s for %s", e.ServerRelativeURL, p, r.Name)
			}
		}
	}
}
