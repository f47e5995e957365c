package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Service accounts, tokens and authorization through kubectl against a
// server without an agent (issue 5): the ServiceAccount admission plugin,
// TokenRequest, bound-token invalidation, RBAC and the Node authorizer.
func TestServiceAccountsTokensRBAC(t *testing.T) {
	s := apiStart(t, "--disable-scheduler")
	saWaitDefault(t, s, "default")

	t.Run("admission mounts the token volume", func(t *testing.T) {
		s.write("sa-pod.yaml", `apiVersion: v1
kind: Pod
metadata: {name: sa-pod}
spec:
  initContainers: [{name: init, image: busybox}]
  containers:
  - {name: a, image: busybox}
  - name: own
    image: busybox
    volumeMounts: [{name: mine, mountPath: /var/run/secrets/kubernetes.io/serviceaccount}]
  volumes: [{name: mine, emptyDir: {}}]
`)
		s.kubectl("apply", "-f", "sa-pod.yaml")
		out := s.kubectl("get", "pod", "sa-pod", "-o", "json")
		var pod struct {
			Spec struct {
				ServiceAccountName string `json:"serviceAccountName"`
				Volumes            []struct {
					Name      string          `json:"name"`
					Projected json.RawMessage `json:"projected"`
				} `json:"volumes"`
				InitContainers []saContainer `json:"initContainers"`
				Containers     []saContainer `json:"containers"`
			} `json:"spec"`
		}
		if err := json.Unmarshal([]byte(out), &pod); err != nil {
			t.Fatal(err)
		}
		if pod.Spec.ServiceAccountName != "default" || len(pod.Spec.Volumes) != 2 || !strings.HasPrefix(pod.Spec.Volumes[1].Name, "kube-api-access-") ||
			len(pod.Spec.Volumes[1].Name) != len("kube-api-access-")+5 {
			t.Fatalf("spec: %s", out)
		}
		vol := pod.Spec.Volumes[1].Name
		var projected bytes.Buffer
		if err := json.Compact(&projected, pod.Spec.Volumes[1].Projected); err != nil {
			t.Fatal(err)
		}
		apiContains(t, "projected volume", projected.String(),
			`"defaultMode":420`, `"serviceAccountToken":{"expirationSeconds":3607,"path":"token"}`,
			`"configMap":{"items":[{"key":"ca.crt","path":"ca.crt"}],"name":"kube-root-ca.crt"}`,
			`"fieldPath":"metadata.namespace"`, `"path":"namespace"`)
		for _, c := range []saContainer{pod.Spec.InitContainers[0], pod.Spec.Containers[0]} {
			if len(c.VolumeMounts) != 1 || c.VolumeMounts[0].Name != vol || !c.VolumeMounts[0].ReadOnly ||
				c.VolumeMounts[0].MountPath != "/var/run/secrets/kubernetes.io/serviceaccount" {
				t.Errorf("container %s mounts %+v", c.Name, c.VolumeMounts)
			}
		}
		if m := pod.Spec.Containers[1].VolumeMounts; len(m) != 1 || m[0].Name != "mine" {
			t.Errorf("container own mounts %+v", m)
		}

		// Opting out on the pod, and on the ServiceAccount.
		s.kubectl("run", "no-token", "--image=busybox", "--restart=Never", "--overrides", `{"spec":{"automountServiceAccountToken":false}}`)
		s.write("quiet-sa.yaml", "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: quiet}\nautomountServiceAccountToken: false\n")
		s.kubectl("apply", "-f", "quiet-sa.yaml")
		s.kubectl("run", "quiet-pod", "--image=busybox", "--restart=Never", "--overrides", `{"spec":{"serviceAccountName":"quiet"}}`)
		for _, name := range []string{"no-token", "quiet-pod"} {
			if out := s.kubectl("get", "pod", name, "-o", "jsonpath={.spec.volumes}{.spec.containers[0].volumeMounts}"); strings.TrimSpace(out) != "" {
				t.Errorf("%s got volumes/mounts: %s", name, out)
			}
		}

		// A missing ServiceAccount is refused with kube's message.
		ghost, err := s.kubectlCmd(context.Background(), "run", "ghost-pod", "--image=busybox", "--restart=Never", "--overrides", `{"spec":{"serviceAccountName":"ghost"}}`).CombinedOutput()
		if err == nil {
			t.Fatalf("pod with a missing SA admitted: %s", ghost)
		}
		apiContains(t, "missing SA", string(ghost), `pods "ghost-pod" is forbidden: error looking up service account default/ghost: serviceaccount "ghost" not found`)
	})

	t.Run("token authenticates and RBAC decides", func(t *testing.T) {
		tok := strings.TrimSpace(s.kubectl("create", "token", "default"))
		claims := saClaims(t, tok)
		apiContains(t, "claims", claims, `"sub":"system:serviceaccount:default:default"`, `"namespace":"default"`, `"serviceaccount":{"name":"default","uid":"`)
		apiContains(t, "discovery", s.kubectl("--token", tok, "get", "--raw", "/api"), `"kind":"APIVersions"`)

		const forbidden = `pods is forbidden: User "system:serviceaccount:default:default" cannot list resource "pods" in API group "" in the namespace "default"`
		out, err := s.kubectlCmd(context.Background(), "--token", tok, "get", "pods").CombinedOutput()
		if err == nil {
			t.Fatalf("list pods allowed without a binding: %s", out)
		}
		apiContains(t, "forbidden", string(out), forbidden)
		code, body := s.raw("GET", "/api/v1/namespaces/default/pods", "", nil, tok)
		if code != http.StatusForbidden {
			t.Fatalf("raw list: %d %s", code, body)
		}
		apiContains(t, "403 Status", string(body), `"kind":"Status"`, `"reason":"Forbidden"`, `"code":403`, strings.ReplaceAll(forbidden, `"`, `\"`))

		canI := func(args ...string) string {
			out, _ := s.kubectlCmd(context.Background(), append([]string{"auth", "can-i", "--token", tok}, args...)...).CombinedOutput()
			return strings.TrimSpace(string(out))
		}
		if got := canI("list", "pods"); got != "no" {
			t.Errorf("can-i list pods before the binding: %q", got)
		}
		s.kubectl("create", "rolebinding", "default-view", "--clusterrole=view", "--serviceaccount=default:default")
		for _, c := range []struct{ args, want string }{
			{"list pods", "yes"}, {"get pods/log", "yes"}, {"list pods -n kube-system", "no"}, {"get secrets", "no"}, {"delete pods", "no"}, {"get /api", "yes"},
		} {
			if got := canI(strings.Fields(c.args)...); got != c.want {
				t.Errorf("can-i %s: %q, want %q", c.args, got, c.want)
			}
		}
		apiContains(t, "rolebinding", s.kubectl("get", "rolebinding", "default-view", "-o", "wide"), "ClusterRole/view", "default/default")
		apiContains(t, "list with view", s.kubectl("--token", tok, "get", "pods"), "sa-pod")
		s.kubectl("create", "namespace", "sa-other")
		out, err = s.kubectlCmd(context.Background(), "--token", tok, "get", "pods", "-n", "sa-other").CombinedOutput()
		if err == nil || !strings.Contains(string(out), `in the namespace "sa-other"`) {
			t.Fatalf("view in another namespace: %v %s", err, out)
		}
		out, err = s.kubectlCmd(context.Background(), "--token", tok, "get", "secrets").CombinedOutput()
		if err == nil || !strings.Contains(string(out), `cannot list resource "secrets"`) {
			t.Fatalf("view reads secrets: %v %s", err, out)
		}
		// A token from another namespace is refused what it is not granted.
		saWaitDefault(t, s, "sa-other")
		other := strings.TrimSpace(s.kubectl("create", "token", "default", "-n", "sa-other"))
		if code, body := s.raw("GET", "/api/v1/namespaces/default/pods", "", nil, other); code != http.StatusForbidden {
			t.Fatalf("other namespace's token: %d %s", code, body)
		}
		// Bad input.
		out, err = s.kubectlCmd(context.Background(), "create", "token", "default", "--duration=5m").CombinedOutput()
		if err == nil || !strings.Contains(string(out), "may not specify a duration less than 10 minutes") {
			t.Fatalf("short token: %v %s", err, out)
		}
		if code, _ := s.raw("GET", "/api", "", nil, tok+"x"); code != http.StatusUnauthorized {
			t.Fatalf("tampered token: %d", code)
		}
	})

	t.Run("pod-bound token dies with the pod", func(t *testing.T) {
		s.kubectl("run", "bound", "--image=busybox", "--restart=Never")
		tok := strings.TrimSpace(s.kubectl("create", "token", "default", "--bound-object-kind", "Pod", "--bound-object-name", "bound"))
		apiContains(t, "bound claims", saClaims(t, tok), `"pod":{"name":"bound","uid":"`)
		if code, body := s.raw("GET", "/api", "", nil, tok); code != 200 {
			t.Fatalf("bound token before delete: %d %s", code, body)
		}
		s.kubectl("delete", "pod", "bound", "--grace-period=0", "--force")
		if code, body := s.raw("GET", "/api", "", nil, tok); code != http.StatusUnauthorized {
			t.Fatalf("bound token after delete: %d %s", code, body)
		}
		// A token of a deleted (even recreated) ServiceAccount is refused.
		s.kubectl("create", "serviceaccount", "temp")
		tempTok := strings.TrimSpace(s.kubectl("create", "token", "temp"))
		if code, body := s.raw("GET", "/api", "", nil, tempTok); code != 200 {
			t.Fatalf("temp SA token: %d %s", code, body)
		}
		s.kubectl("delete", "serviceaccount", "temp")
		s.kubectl("create", "serviceaccount", "temp")
		if code, body := s.raw("GET", "/api", "", nil, tempTok); code != http.StatusUnauthorized {
			t.Fatalf("token of a recreated SA: %d %s", code, body)
		}
		out, err := s.kubectlCmd(context.Background(), "create", "token", "default", "--bound-object-kind", "Pod", "--bound-object-name", "bound").CombinedOutput()
		if err == nil || !strings.Contains(string(out), `pods "bound" not found`) {
			t.Fatalf("token for a missing pod: %v %s", err, out)
		}
	})

	t.Run("node identity reads only its pods' secrets", func(t *testing.T) {
		nodeTok, err := os.ReadFile(filepath.Join(s.dataDir, "node-token"))
		if err != nil {
			t.Fatal(err)
		}
		asNode := func(node, path string) int {
			req, _ := http.NewRequest("GET", "https://127.0.0.1:"+strconv.Itoa(s.port)+path, nil)
			req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(nodeTok)))
			req.Header.Set("X-Peapod-Node-Name", node)
			resp, err := s.httpClient().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		s.kubectl("create", "secret", "generic", "sa-used", "--from-literal=k=v")
		s.kubectl("create", "secret", "generic", "sa-unused", "--from-literal=k=v")
		s.write("node-pod.yaml", `apiVersion: v1
kind: Pod
metadata: {name: on-n1}
spec:
  nodeName: sa-n1
  containers: [{name: c, image: busybox, env: [{name: K, valueFrom: {secretKeyRef: {name: sa-used, key: k}}}]}]
`)
		s.kubectl("apply", "-f", "node-pod.yaml")
		for _, c := range []struct {
			node, path string
			want       int
		}{
			{"sa-n1", "/api/v1/namespaces/default/secrets/sa-used", 200},
			{"sa-n1", "/api/v1/namespaces/default/secrets?fieldSelector=metadata.name%3Dsa-used", 200},
			{"sa-n1", "/api/v1/namespaces/default/configmaps/kube-root-ca.crt", 200},
			{"sa-n1", "/api/v1/namespaces/default/secrets/sa-unused", 403},
			{"sa-n1", "/api/v1/namespaces/default/secrets", 403},
			{"sa-n2", "/api/v1/namespaces/default/secrets/sa-used", 403},
			{"sa-n1", "/api/v1/namespaces/default/pods?fieldSelector=spec.nodeName%3Dsa-n1", 200},
		} {
			if got := asNode(c.node, c.path); got != c.want {
				t.Errorf("%s GET %s: %d, want %d", c.node, c.path, got, c.want)
			}
		}
	})

	t.Run("rbac objects through kubectl", func(t *testing.T) {
		apiContains(t, "clusterroles", s.kubectl("get", "clusterroles"), "cluster-admin", "admin", "edit", "view", "system:discovery")
		apiContains(t, "clusterrolebindings", s.kubectl("get", "clusterrolebindings", "-o", "wide"), "ClusterRole/cluster-admin", "system:masters")
		s.kubectl("create", "role", "pod-reader", "--verb=get,list", "--resource=pods")
		apiContains(t, "role", s.kubectl("get", "role", "pod-reader", "-o", "yaml"), "- pods", "- get")
		out, err := s.kubectlCmd(context.Background(), "create", "rolebinding", "bad", "--role=pod-reader").CombinedOutput()
		if err != nil {
			t.Fatalf("rolebinding without subjects: %v %s", err, out) // valid in kube too
		}
		s.write("bad-role.yaml", "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: bad}\nrules: [{nonResourceURLs: [\"/x\"], verbs: [get]}]\n")
		out, err = s.kubectlCmd(context.Background(), "apply", "-f", "bad-role.yaml").CombinedOutput()
		if err == nil || !strings.Contains(string(out), "namespaced rules cannot apply to non-resource URLs") {
			t.Fatalf("bad role: %v %s", err, out)
		}
	})
}

type saContainer struct {
	Name         string `json:"name"`
	VolumeMounts []struct {
		Name      string `json:"name"`
		MountPath string `json:"mountPath"`
		ReadOnly  bool   `json:"readOnly"`
	} `json:"volumeMounts"`
}

// saWaitDefault waits for the serviceaccount controller's default SA.
func saWaitDefault(t *testing.T, s *apiServer, ns string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if err := s.kubectlCmd(context.Background(), "get", "serviceaccount", "default", "-n", ns).Run(); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no default ServiceAccount in %s", ns)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// saClaims decodes a JWT's payload (no verification).
func saClaims(t *testing.T, tok string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", tok)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// saStripTokenVolume removes the kube-api-access-* volume and its mounts
// the ServiceAccount admission plugin adds, for tests about other plugins.
func saStripTokenVolume(p *corev1.Pod) {
	vols := p.Spec.Volumes[:0]
	for _, v := range p.Spec.Volumes {
		if !strings.HasPrefix(v.Name, "kube-api-access-") {
			vols = append(vols, v)
		}
	}
	p.Spec.Volumes = vols
	strip := func(cs []corev1.Container) {
		for i := range cs {
			ms := cs[i].VolumeMounts[:0]
			for _, m := range cs[i].VolumeMounts {
				if !strings.HasPrefix(m.Name, "kube-api-access-") {
					ms = append(ms, m)
				}
			}
			cs[i].VolumeMounts = ms
		}
	}
	strip(p.Spec.InitContainers)
	strip(p.Spec.Containers)
}

// TestServiceAccountTokenInPod: on a server with its agent, a pod's
// mounted token, ca.crt and namespace reach the API (TLS verified by the
// mounted CA), RBAC applies to it, and it dies with the pod; opting out
// leaves no directory.
func TestServiceAccountTokenInPod(t *testing.T) {
	s, cs := volumesStart(t)
	saWaitDefault(t, s, "default")
	const dir = "/var/run/secrets/kubernetes.io/serviceaccount"
	clusterApply(t, s, "tok", clusterPod("tok", "", "Always", "busybox", "exec sleep 3600"))
	clusterApply(t, s, "notok", clusterPod("notok", "  automountServiceAccountToken: false\n", "Always", "busybox", "exec sleep 3600"))
	pod := volumesRunning(t, cs, "tok")
	volumesRunning(t, cs, "notok")

	read := func(file string) string {
		out, err := volumesExec(s, "tok", "cat", dir+"/"+file)
		if err != nil {
			t.Fatalf("cat %s: %v %s", file, err, out)
		}
		return out
	}
	tok, ca := strings.TrimSpace(read("token")), read("ca.crt")
	if ns := read("namespace"); ns != "default" {
		t.Errorf("namespace file %q", ns)
	}
	apiContains(t, "mounted token claims", saClaims(t, tok), `"sub":"system:serviceaccount:default:default"`,
		`"pod":{"name":"tok","uid":"`+string(pod.UID)+`"}`)

	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(ca)) {
		t.Fatalf("ca.crt is not PEM: %q", ca)
	}
	// The in-cluster name the serving certificate carries, verified by
	// the mounted CA only.
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "kubernetes.default.svc"}}}
	get := func(path string) (int, string) {
		req, _ := http.NewRequest("GET", "https://127.0.0.1:"+strconv.Itoa(s.port)+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("GET %s with the mounted CA: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/api"); code != 200 {
		t.Fatalf("mounted token: GET /api %d %s", code, body)
	}
	if code, body := get("/api/v1/namespaces/default/pods"); code != http.StatusForbidden || !strings.Contains(body, `cannot list resource \"pods\"`) {
		t.Fatalf("mounted token without a binding: %d %s", code, body)
	}
	s.kubectl("create", "rolebinding", "tok-view", "--clusterrole=view", "--serviceaccount=default:default")
	if code, body := get("/api/v1/namespaces/default/pods"); code != 200 || !strings.Contains(body, `"name":"tok"`) {
		t.Fatalf("mounted token with view: %d %s", code, body)
	}

	if out, err := volumesExec(s, "notok", "ls", dir); err == nil {
		t.Errorf("automountServiceAccountToken: false still has %s: %s", dir, out)
	}

	s.kubectl("delete", "pod", "tok", "--grace-period=1")
	if code, body := get("/api"); code != http.StatusUnauthorized {
		t.Fatalf("token of a deleted pod: %d %s", code, body)
	}
}
