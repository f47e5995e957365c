package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/peapod/peapod/internal/agent/objects"
	"github.com/peapod/peapod/internal/agent/volume"
)

// TestVolumesSecretPropagation (PEAPOD_BENCH_VOLUMES=<pods>, e.g. 100):
// pods mount one Secret; after `kubectl apply` of a changed Secret the time
// until each pod's file has the new content. The file is read on the host
// side of each pod's tmpfs — the very files the containers see.
func TestVolumesSecretPropagation(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("PEAPOD_BENCH_VOLUMES"))
	if n <= 0 {
		t.Skip("set PEAPOD_BENCH_VOLUMES=<pods> to run")
	}
	s, cs := volumesStart(t)
	ctx := context.Background()
	s.kubectl("create", "secret", "generic", "shared", "--from-literal=v=0")
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `---
apiVersion: v1
kind: Pod
metadata: {name: vb-%d, labels: {bench: volumes}}
spec:
  automountServiceAccountToken: false
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sleep", "3600"]
    volumeMounts: [{name: s, mountPath: /s}]
  volumes: [{name: s, secret: {secretName: shared}}]
`, i)
	}
	s.write("vb.yaml", b.String())
	start := time.Now()
	s.kubectl("apply", "-f", "vb.yaml")
	var pods []v1.Pod
	deadline := time.Now().Add(time.Duration(n) * 3 * time.Second)
	for {
		l, err := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "bench=volumes"})
		running := 0
		if err == nil {
			for _, p := range l.Items {
				if p.Status.Phase == v1.PodRunning {
					running++
				}
			}
		}
		if running == n {
			pods = l.Items
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d/%d pods running", running, n)
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Logf("%d pods running in %v", n, time.Since(start).Round(time.Millisecond))
	files := make([]string, 0, n)
	for _, p := range pods {
		matches, _ := filepath.Glob(filepath.Join(s.dataDir, "pods", "*_"+string(p.UID), "volumes", "kubernetes.io~secret", "s", "v"))
		if len(matches) != 1 {
			t.Fatalf("pod %s: volume file not found on the host", p.Name)
		}
		files = append(files, matches[0])
	}
	for round := 1; round <= 3; round++ {
		want := fmt.Sprintf("round-%d", round)
		s.write("shared.yaml", fmt.Sprintf("apiVersion: v1\nkind: Secret\nmetadata: {name: shared}\nstringData: {v: %s}\n", want))
		applied := time.Now()
		s.kubectl("apply", "-f", "shared.yaml")
		returned := time.Since(applied)
		lat := make([]time.Duration, len(files))
		left := len(files)
		for left > 0 && time.Since(applied) < 30*time.Second {
			for i, f := range files {
				if lat[i] != 0 {
					continue
				}
				if b, err := os.ReadFile(f); err == nil && string(b) == want {
					lat[i] = time.Since(applied)
					left--
				}
			}
			time.Sleep(2 * time.Millisecond)
		}
		if left > 0 {
			t.Fatalf("round %d: %d pods never saw the update", round, left)
		}
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		p := func(q float64) time.Duration { return lat[int(q*float64(len(lat)-1))].Round(time.Millisecond) }
		t.Logf("round %d: kubectl apply took %v; propagation to %d pods (from the start of kubectl apply): p50 %v p90 %v p99 %v max %v",
			round, returned.Round(time.Millisecond), n, p(0.5), p(0.9), p(0.99), lat[len(lat)-1].Round(time.Millisecond))
		if p(0.99) > 2*time.Second {
			t.Errorf("round %d: p99 %v over the 2 s goal", round, p(0.99))
		}
	}
}

// TestVolumesSetUpCost (PEAPOD_BENCH_VOLUMES set): the agent's extra work
// to start a pod with the kube-api-access token volume plus a projected
// volume of two Secrets, over a pod without volumes: volume SetUp (tmpfs
// mounts, a TokenRequest, watched Secrets, atomic writes) through the real
// object source against a real server.
func TestVolumesSetUpCost(t *testing.T) {
	if os.Getenv("PEAPOD_BENCH_VOLUMES") == "" {
		t.Skip("set PEAPOD_BENCH_VOLUMES=<pods> to run")
	}
	s := apiStart(t)
	cfg, err := clientcmd.BuildConfigFromFlags("", s.kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cfg.QPS, cfg.Burst = 200, 400 // as the agent's client (the default 5 QPS would be measured instead)
	cs := kubernetes.NewForConfigOrDie(cfg)
	ctx := context.Background()
	s.kubectl("create", "secret", "generic", "user", "--from-literal=username.txt=admin")
	s.kubectl("create", "secret", "generic", "pass", "--from-literal=password.txt=pw")
	src := objects.New(cs, nil, t.Logf)
	defer src.Stop()
	vm := volume.NewManager(volume.DefaultPlugins()...)
	const pods = 30
	var costs []time.Duration
	for i := 0; i < pods; i++ {
		p, err := cs.CoreV1().Pods("default").Create(ctx, &v1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cost-%d", i)},
			Spec: v1.PodSpec{NodeName: "nowhere", Containers: []v1.Container{{Name: "c", Image: "busybox"}},
				Volumes: []v1.Volume{{Name: "both", VolumeSource: v1.VolumeSource{Projected: &v1.ProjectedVolumeSource{Sources: []v1.VolumeProjection{
					{Secret: &v1.SecretProjection{LocalObjectReference: v1.LocalObjectReference{Name: "user"}}},
					{Secret: &v1.SecretProjection{LocalObjectReference: v1.LocalObjectReference{Name: "pass"}}},
				}}}}}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Spec.Volumes) != 2 {
			t.Fatalf("pod volumes %v (no kube-api-access added?)", p.Spec.Volumes)
		}
		dir := filepath.Join(t.TempDir(), "pod")
		start := time.Now()
		if _, err := vm.SetUp(ctx, p, dir, src); err != nil {
			t.Fatal(err)
		}
		costs = append(costs, time.Since(start))
		if err := vm.TearDown(ctx, dir); err != nil {
			t.Fatal(err)
		}
	}
	first := costs[0]
	rest := append([]time.Duration(nil), costs[1:]...)
	sort.Slice(rest, func(i, j int) bool { return rest[i] < rest[j] })
	t.Logf("volume SetUp, token + two projected secrets: first pod %v (starts the Secret/ConfigMap watches); next %d pods p50 %v p90 %v max %v",
		first.Round(10*time.Microsecond), len(rest), rest[len(rest)/2].Round(10*time.Microsecond),
		rest[len(rest)*9/10].Round(10*time.Microsecond), rest[len(rest)-1].Round(10*time.Microsecond))
	if rest[len(rest)/2] > 10*time.Millisecond {
		t.Errorf("median SetUp %v over the 10 ms goal", rest[len(rest)/2])
	}
}
