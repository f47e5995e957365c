// Command bench-podpreset measures what the PodPreset admission plugin
// costs a pod create on a real `peapod server` (embedded etcd): sequential
// create latency with no presets, with 10 matching presets, and with 100
// presets of which one matches.
//
//	go build -o bin/peapod ./cmd/peapod
//	go run ./hack/bench-podpreset --peapod bin/peapod --pods 300
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	settingsv1alpha1 "github.com/peapod/peapod/internal/apis/settings/v1alpha1"
)

func main() {
	bin := flag.String("peapod", "bin/peapod", "peapod binary")
	pods := flag.Int("pods", 300, "pods created per scenario")
	flag.Parse()
	if err := run(*bin, *pods); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func pct(d []time.Duration, p float64) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[int(float64(len(s)-1)*p)].Round(10 * time.Microsecond)
}

func run(bin string, n int) error {
	dir, err := os.MkdirTemp("", "peapod-bench-podpreset-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cmd := exec.Command(bin, "server", "--data-dir", dir, "--secure-port", strconv.Itoa(freePort()), "--bind-address", "127.0.0.1", "--disable-agent")
	logf, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()

	ctx := context.Background()
	var cs *kubernetes.Clientset
	for i := 0; ; i++ {
		if cfg, err := clientcmd.BuildConfigFromFlags("", filepath.Join(dir, "admin.kubeconfig")); err == nil {
			cfg.QPS, cfg.Burst = -1, 0
			cs = kubernetes.NewForConfigOrDie(cfg)
			if _, err := cs.CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{}); err == nil {
				break
			}
		}
		if i > 300 {
			return fmt.Errorf("server did not start")
		}
		time.Sleep(100 * time.Millisecond)
	}

	createPresets := func(ns string, count int, labels func(i int) map[string]string) error {
		if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			return err
		}
		for i := 0; i < count; i++ {
			pp := settingsv1alpha1.PodPreset{
				TypeMeta:   metav1.TypeMeta{APIVersion: "settings.k8s.io/v1alpha1", Kind: "PodPreset"},
				ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("p%03d", i)},
				Spec: settingsv1alpha1.PodPresetSpec{
					Selector:     metav1.LabelSelector{MatchLabels: labels(i)},
					Env:          []corev1.EnvVar{{Name: fmt.Sprintf("VAR_%d", i), Value: "v"}},
					Volumes:      []corev1.Volume{{Name: fmt.Sprintf("vol-%d", i), VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
					VolumeMounts: []corev1.VolumeMount{{Name: fmt.Sprintf("vol-%d", i), MountPath: fmt.Sprintf("/mnt/%d", i)}},
				},
			}
			body, _ := json.Marshal(&pp)
			if err := cs.CoreV1().RESTClient().Post().AbsPath("/apis/settings.k8s.io/v1alpha1/namespaces", ns, "podpresets").
				SetHeader("Content-Type", "application/json").Body(body).Do(ctx).Error(); err != nil {
				return fmt.Errorf("creating preset: %w", err)
			}
		}
		return nil
	}
	measure := func(name, ns string, wantAnnotations int) error {
		var lat []time.Duration
		for i := 0; i < n; i++ {
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("bench-%05d", i), Labels: map[string]string{"app": "bench"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}
			t0 := time.Now()
			out, err := cs.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
			lat = append(lat, time.Since(t0))
			if err != nil {
				return err
			}
			if len(out.Annotations) != wantAnnotations {
				return fmt.Errorf("%s: pod got %d preset annotations, want %d", name, len(out.Annotations), wantAnnotations)
			}
		}
		fmt.Printf("%-36s create %d pods sequentially: p50 %v, p99 %v\n", name, n, pct(lat, .5), pct(lat, .99))
		return nil
	}

	if err := createPresets("none", 0, nil); err != nil {
		return err
	}
	if err := measure("no presets", "none", 0); err != nil {
		return err
	}
	if err := createPresets("ten", 10, func(int) map[string]string { return map[string]string{"app": "bench"} }); err != nil {
		return err
	}
	if err := measure("10 matching presets", "ten", 10); err != nil {
		return err
	}
	if err := createPresets("hundred", 100, func(i int) map[string]string {
		if i == 0 {
			return map[string]string{"app": "bench"}
		}
		return map[string]string{"app": fmt.Sprintf("other-%d", i)}
	}); err != nil {
		return err
	}
	return measure("100 presets, 1 matching", "hundred", 1)
}
