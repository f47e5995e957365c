package storage

// Benchmarks on a real embedded etcd (not run by plain `go test`):
//
//	go test ./internal/storage -run '^$' -bench . -benchtime 20x

import (
	"context"
	"fmt"
	goruntime "runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/scheme"
)

// benchPod is a pod of realistic size (about 1.5 KB in protobuf).
func benchPod(ns, name string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: ns, Name: name, UID: "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
			Labels:            map[string]string{"app": "web", "tier": "frontend", "pod-template-hash": "5d8f7c9b6"},
			Annotations:       map[string]string{"kubectl.kubernetes.io/restartedAt": "2026-11-25T00:00:00Z"},
			CreationTimestamp: metav1.Unix(1795560000, 0),
		},
		Spec: corev1.PodSpec{
			NodeName: "node-1", RestartPolicy: corev1.RestartPolicyAlways, DNSPolicy: corev1.DNSClusterFirst,
			SchedulerName: "default-scheduler", ServiceAccountName: "default",
			Containers: []corev1.Container{{
				Name: "web", Image: "docker.io/library/nginx:1.27", ImagePullPolicy: corev1.PullIfNotPresent,
				Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 80, Protocol: corev1.ProtocolTCP}},
				Env:   []corev1.EnvVar{{Name: "MODE", Value: "production"}, {Name: "LOG_LEVEL", Value: "info"}},
				Resources: corev1.ResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
					Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")},
				},
				VolumeMounts:             []corev1.VolumeMount{{Name: "kube-api-access", MountPath: "/var/run/secrets/kubernetes.io/serviceaccount", ReadOnly: true}},
				TerminationMessagePath:   "/dev/termination-log",
				TerminationMessagePolicy: corev1.TerminationMessageReadFile,
			}},
			Volumes: []corev1.Volume{{Name: "kube-api-access", VolumeSource: corev1.VolumeSource{
				Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{{
					ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: ptr(int64(3607))},
				}}},
			}}},
		},
		Status: corev1.PodStatus{
			Phase: corev1.PodRunning, HostIP: "10.0.0.1", PodIP: "10.88.0.17", QOSClass: corev1.PodQOSBurstable,
			Conditions: []corev1.PodCondition{
				{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.Unix(1795560010, 0)},
				{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: metav1.Unix(1795560001, 0)},
			},
			ContainerStatuses: []corev1.ContainerStatus{{
				Name: "web", Ready: true, Image: "docker.io/library/nginx:1.27", ImageID: "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
				ContainerID: "runc://3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d",
				State:       corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Unix(1795560005, 0)}},
			}},
		},
	}
}

func ptr[T any](v T) *T { return &v }

func benchStore(b *testing.B) *Store {
	b.Helper()
	e, err := StartEmbedded(context.Background(), EmbeddedConfig{DataDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Close() })
	s := New(e.Client(), NewCodec(scheme.Scheme))
	b.Cleanup(s.Close)
	return s
}

func BenchmarkList10000Pods(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	const n = 10000
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < 32; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1); i <= n; i = next.Add(1) {
				name := fmt.Sprintf("pod-%05d", i)
				if err := s.Create(ctx, "/registry/pods/bench/"+name, benchPod("bench", name), nil); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	size, _ := NewCodec(scheme.Scheme).Encode(benchPod("bench", "pod-00001"))
	b.Logf("%d pods of %d bytes each", n, len(size))
	goruntime.GC()
	var before goruntime.MemStats
	goruntime.ReadMemStats(&before)
	b.Logf("Go heap in use with %d pods in the embedded etcd: %d MiB", n, before.HeapInuse>>20)
	rev, err := s.CurrentRevision(ctx)
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		opts ListOptions
	}{
		// etcd: a read at an exact revision always goes to etcd.
		{"etcd", ListOptions{Recursive: true, ResourceVersion: fmt.Sprint(rev), ResourceVersionMatch: "Exact"}},
		// consistent: resourceVersion "", served by the caught-up watch cache.
		{"consistent", ListOptions{Recursive: true}},
		// watchcache: resourceVersion "0".
		{"watchcache", ListOptions{Recursive: true, ResourceVersion: "0"}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				list := &corev1.PodList{}
				if err := s.GetList(ctx, "/registry/pods", tc.opts, list); err != nil {
					b.Fatal(err)
				}
				if len(list.Items) != n {
					b.Fatalf("%d items", len(list.Items))
				}
			}
		})
	}
	// The memory of this process: embedded etcd plus the pods' watch cache.
	goruntime.GC()
	var ms goruntime.MemStats
	goruntime.ReadMemStats(&ms)
	b.Logf("Go heap in use with %d pods in etcd and the watch cache: %d MiB", n, ms.HeapInuse>>20)
}

func BenchmarkCreate(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	var seq atomic.Int64 // names stay unique across the benchmark's runs
	b.Run("serial", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			name := fmt.Sprintf("serial-%d", seq.Add(1))
			if err := s.Create(ctx, "/registry/pods/bench/"+name, benchPod("bench", name), &corev1.Pod{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	// 100 concurrent clients (50 x GOMAXPROCS 2); reports p50/p99 latency.
	b.Run("parallel", func(b *testing.B) {
		var mu sync.Mutex
		var all []time.Duration
		b.SetParallelism(max(1, 100/goruntime.GOMAXPROCS(0)))
		b.RunParallel(func(pb *testing.PB) {
			var mine []time.Duration
			for pb.Next() {
				name := fmt.Sprintf("par-%d", seq.Add(1))
				start := time.Now()
				if err := s.Create(ctx, "/registry/pods/bench/"+name, benchPod("bench", name), &corev1.Pod{}); err != nil {
					b.Error(err)
					return
				}
				mine = append(mine, time.Since(start))
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		})
		if len(all) > 0 {
			slices.Sort(all)
			b.ReportMetric(float64(all[len(all)/2])/1e6, "p50-ms")
			b.ReportMetric(float64(all[len(all)*99/100])/1e6, "p99-ms")
		}
	})
}

// BenchmarkWatchDelivery measures the time from the start of a Create to
// the ADDED event at each of 10 watchers of the watch cache.
func BenchmarkWatchDelivery(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	const watchers = 10
	chans := make([]<-chan watch.Event, watchers)
	for i := range chans {
		w, err := s.Watch(ctx, "/registry/pods/delivery", ListOptions{Recursive: true, ResourceVersion: "0"})
		if err != nil {
			b.Fatal(err)
		}
		defer w.Stop()
		chans[i] = w.ResultChan()
	}
	var lat []time.Duration
	var seq atomic.Int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		name := fmt.Sprintf("w-%d", seq.Add(1))
		start := time.Now()
		if err := s.Create(ctx, "/registry/pods/delivery/"+name, benchPod("delivery", name), nil); err != nil {
			b.Fatal(err)
		}
		for _, ch := range chans {
			ev := <-ch
			if p, ok := ev.Object.(*corev1.Pod); !ok || p.Name != name {
				b.Fatalf("unexpected event %s %T", ev.Type, ev.Object)
			}
			lat = append(lat, time.Since(start))
		}
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2])/1e6, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100])/1e6, "p99-ms")
}
