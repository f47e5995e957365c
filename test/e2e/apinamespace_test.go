package e2e

import (
	"strings"
	"testing"
)

// TestAPINamespacedCollections: list, watch and deletecollection of a
// namespaced resource see only their namespace; -A sees all.
func TestAPINamespacedCollections(t *testing.T) {
	s := apiStart(t, "--disable-scheduler", "--disable-controllers")
	s.kubectl("create", "namespace", "iso-a")
	s.kubectl("create", "namespace", "iso-b")
	s.kubectl("-n", "iso-a", "create", "configmap", "only-a", "--from-literal=k=a")
	s.kubectl("-n", "iso-b", "create", "configmap", "only-b", "--from-literal=k=b")

	a := s.kubectl("-n", "iso-a", "get", "configmaps", "-o", "name")
	if !strings.Contains(a, "configmap/only-a") || strings.Contains(a, "only-b") {
		t.Fatalf("configmaps in iso-a:\n%s", a)
	}
	all := s.kubectl("get", "configmaps", "-A", "-o", "name")
	apiContains(t, "configmaps -A", all, "configmap/only-a", "configmap/only-b")

	// deletecollection in iso-a leaves iso-b alone.
	s.kubectl("-n", "iso-a", "delete", "configmaps", "--all")
	b := s.kubectl("-n", "iso-b", "get", "configmaps", "-o", "name")
	apiContains(t, "configmaps in iso-b after deleting iso-a's", b, "configmap/only-b")

	// A namespaced watch sees only its namespace: the initial ADDED events
	// of a watch from resourceVersion 0.
	code, body := s.raw("GET", "/api/v1/namespaces/iso-b/configmaps?watch=true&resourceVersion=0&timeoutSeconds=1", "", nil, s.token())
	if code != 200 || !strings.Contains(string(body), "only-b") || strings.Contains(string(body), "only-a") {
		t.Fatalf("watch in iso-b: %d\n%s", code, body)
	}
}
