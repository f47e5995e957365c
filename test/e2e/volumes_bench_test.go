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
