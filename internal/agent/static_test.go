package agent

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"

	"github.com/peapod/peapod/internal/agent/plan"
)

const staticYAML = `apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
  - name: c
    image: busybox
    ports: [{containerPort: 80}]
  - name: d
    image: registry.local:5000/tools:1.2
`

func TestDecodeStaticPod(t *testing.T) {
	p, err := DecodeStaticPod([]byte(staticYAML), "/m/web.yaml", "node-a")
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "web-node-a" || p.Namespace != "default" || p.Spec.NodeName != "node-a" {
		t.Fatalf("identity: %s/%s on %s", p.Namespace, p.Name, p.Spec.NodeName)
	}
	if len(p.UID) != 32 || p.Annotations[ConfigHashAnnotation] != string(p.UID) || !plan.IsStaticPod(p) {
		t.Fatalf("uid %q annotations %v", p.UID, p.Annotations)
	}
	c, d := p.Spec.Containers[0], p.Spec.Containers[1]
	if c.ImagePullPolicy != v1.PullAlways || d.ImagePullPolicy != v1.PullIfNotPresent {
		t.Fatalf("pull policies %s %s", c.ImagePullPolicy, d.ImagePullPolicy)
	}
	if p.Spec.RestartPolicy != v1.RestartPolicyAlways || *p.Spec.TerminationGracePeriodSeconds != 30 ||
		c.TerminationMessagePath != "/dev/termination-log" || c.Ports[0].Protocol != v1.ProtocolTCP || p.Status.Phase != v1.PodPending {
		t.Fatalf("defaults: %+v", p.Spec)
	}
	// Same content, same UID; another node or path or content, another UID.
	again, _ := DecodeStaticPod([]byte(staticYAML), "/m/web.yaml", "node-a")
	other, _ := DecodeStaticPod([]byte(staticYAML), "/m/web.yaml", "node-b")
	moved, _ := DecodeStaticPod([]byte(staticYAML), "/m/web2.yaml", "node-a")
	changed, _ := DecodeStaticPod([]byte(strings.Replace(staticYAML, "1.2", "1.3", 1)), "/m/web.yaml", "node-a")
	if again.UID != p.UID || other.UID == p.UID || moved.UID == p.UID || changed.UID == p.UID {
		t.Fatal("UID does not follow content, node and path")
	}
}

func TestDecodeStaticPodErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"not: [yaml", "decoding"},
		{`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"}}`, "expected a v1 Pod"},
		{`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"Bad_Name"},"spec":{"containers":[{"name":"c"},{"name":"c","image":"x"}]}}`,
			"metadata.name \"Bad_Name\""},
		{`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"x"},"spec":{"containers":[{"name":"c"},{"name":"c","image":"x","volumeMounts":[{"name":"v","mountPath":"/v"}]}]}}`,
			"spec.containers[0].image: required\nspec.containers[1].name \"c\": duplicate\ncontainer \"c\": volumeMount \"v\": no volume of that name"},
		{`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"x"},"spec":{"initContainers":[{"name":"s","image":"x","restartPolicy":"Never"}],"containers":[{"name":"c","image":"x"}]}}`,
			`spec.initContainers[0].restartPolicy: Unsupported value: "Never": supported values: "Always"`},
		{`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"x"},"spec":{"initContainers":[{"name":"i","image":"x","livenessProbe":{"tcpSocket":{"port":80}}}],"containers":[{"name":"c","image":"x"}]}}`,
			`spec.initContainers[0].livenessProbe: Forbidden: may not be set for init containers without restartPolicy=Always`},
	} {
		_, err := DecodeStaticPod([]byte(tc.in), "/m/x.yaml", "n")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.in, err, tc.want)
		}
	}
}

// A sidecar (restartPolicy Always) is a valid static pod.
func TestDecodeStaticPodSidecar(t *testing.T) {
	in := `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"x"},"spec":{"initContainers":[{"name":"s","image":"x","restartPolicy":"Always"}],"containers":[{"name":"c","image":"x"}]}}`
	if _, err := DecodeStaticPod([]byte(in), "/m/x.yaml", "n"); err != nil {
		t.Fatal(err)
	}
}

func TestStaticSourceScan(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.yaml"), []byte(staticYAML), 0o644)
	os.WriteFile(filepath.Join(dir, "b.json"), []byte(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"b","namespace":"kube-system"},"spec":{"containers":[{"name":"c","image":"x"}]}}`), 0o644)
	os.WriteFile(filepath.Join(dir, "dup.yml"), []byte(staticYAML), 0o644)
	os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte("kind: Pod"), 0o644)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("ignored"), 0o644)
	os.WriteFile(filepath.Join(dir, ".hidden.yaml"), []byte(staticYAML), 0o644)
	var logs []string
	s := &StaticSource{Dir: dir, NodeName: "n", Logf: func(f string, a ...any) { logs = append(logs, f) }}
	pods, ok := s.Scan()
	if !ok || len(pods) != 2 || pods[0].Name != "web-n" || pods[1].Namespace != "kube-system" {
		t.Fatalf("pods %v", pods)
	}
	if len(logs) != 2 {
		t.Fatalf("want one report for bad.yaml and one for dup.yml, got %v", logs)
	}
	s.Scan()
	if len(logs) != 2 {
		t.Fatal("the same errors were reported again")
	}

	// A good file turning bad keeps its pod; removing it drops the pod.
	os.WriteFile(filepath.Join(dir, "a.yaml"), []byte("kind: Pod\nspec: ["), 0o644)
	pods, _ = s.Scan()
	if len(pods) != 2 || pods[0].Name != "web-n" || len(logs) != 3 || !strings.Contains(logs[2], "static pod") {
		t.Fatalf("after a bad edit: %d pods, logs %v", len(pods), logs)
	}
	os.Remove(filepath.Join(dir, "a.yaml"))
	// (dup.yml now defines web-n alone.)
	if pods, ok = s.Scan(); !ok || len(pods) != 2 || pods[1].Annotations[manifestPathAnnotation] != filepath.Join(dir, "dup.yml") {
		t.Fatalf("after removal: %d pods", len(pods))
	}
	// An unreadable directory keeps everything; a missing one holds nothing.
	if _, ok := (&StaticSource{Dir: filepath.Join(dir, "b.json")}).Scan(); ok {
		t.Fatal("a file as the directory counted as empty")
	}
	if pods, ok := (&StaticSource{Dir: filepath.Join(dir, "missing")}).Scan(); !ok || len(pods) != 0 {
		t.Fatal("a missing directory is not empty")
	}
}

func TestStaticSourceRunSendsChanges(t *testing.T) {
	dir := t.TempDir()
	s := &StaticSource{Dir: dir, NodeName: "n", Interval: 5 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := make(chan []*v1.Pod)
	go s.Run(ctx, out)
	recv := func() []*v1.Pod {
		t.Helper()
		select {
		case p := <-out:
			return p
		case <-time.After(5 * time.Second):
			t.Fatal("no update")
			return nil
		}
	}
	if p := recv(); len(p) != 0 {
		t.Fatalf("first set: %d pods", len(p))
	}
	os.WriteFile(filepath.Join(dir, "a.yaml"), []byte(staticYAML), 0o644)
	first := recv()
	if len(first) != 1 {
		t.Fatalf("after write: %d pods", len(first))
	}
	// Nothing changes: nothing is sent.
	select {
	case p := <-out:
		t.Fatalf("unchanged directory sent %d pods", len(p))
	case <-time.After(50 * time.Millisecond):
	}
	os.WriteFile(filepath.Join(dir, "a.yaml"), []byte(strings.Replace(staticYAML, "1.2", "1.4", 1)), 0o644)
	if second := recv(); len(second) != 1 || second[0].UID == first[0].UID {
		t.Fatal("edit did not produce a new pod")
	}
	os.Remove(filepath.Join(dir, "a.yaml"))
	if p := recv(); len(p) != 0 {
		t.Fatalf("after removal: %d pods", len(p))
	}
}

func TestStaticSourceSkipsUnchangedFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.yaml")
	os.WriteFile(path, []byte(staticYAML), 0o644)
	os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte("kind: Pod"), 0o644)
	var logs []string
	now := time.Now()
	s := &StaticSource{Dir: dir, NodeName: "n", Logf: func(f string, a ...any) { logs = append(logs, f) },
		now: func() time.Time { return now }}
	// Just written: decoded on every scan (its timestamps are too close to
	// tell a same-size rewrite apart).
	a, _ := s.Scan()
	b, _ := s.Scan()
	if len(a) != 1 || a[0] == b[0] {
		t.Fatal("a file changed just now was not decoded again")
	}
	// Same-size rewrite right away: seen.
	os.WriteFile(path, []byte(strings.Replace(staticYAML, "1.2", "1.3", 1)), 0o644)
	if c, _ := s.Scan(); c[0].UID == a[0].UID {
		t.Fatal("a same-size rewrite right after a scan was missed")
	}
	// Older than staticRacy: the decode is reused, the error not logged again.
	now = now.Add(time.Hour)
	c, _ := s.Scan()
	d, _ := s.Scan()
	if c[0] != d[0] || len(logs) != 1 {
		t.Fatalf("an unchanged file was decoded again (logs %v)", logs)
	}
	// Any change of the file (a new inode through rename, another size) is
	// decoded.
	tmp := filepath.Join(dir, ".a.tmp")
	os.WriteFile(tmp, []byte(strings.Replace(staticYAML, "1.2", "1.4", 1)), 0o644)
	os.Rename(tmp, path)
	if e, _ := s.Scan(); len(e) != 1 || e[0].UID == d[0].UID || e[0].Spec.Containers[1].Image != "registry.local:5000/tools:1.4" {
		t.Fatal("a file replaced by rename was not decoded again")
	}
	os.WriteFile(path, []byte(staticYAML+"\n"), 0o644)
	if f, _ := s.Scan(); f[0].Spec.Containers[1].Image != "registry.local:5000/tools:1.2" {
		t.Fatal("a rewritten file was not decoded again")
	}
	os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte(staticYAML), 0o644)
	if g, _ := s.Scan(); len(g) != 1 || len(logs) != 2 {
		t.Fatalf("fixing the bad file: %d pods, logs %v", len(g), logs)
	}
}
