package agent

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	authv1 "k8s.io/api/authentication/v1"
	v1 "k8s.io/api/core/v1"

	"github.com/peapod/peapod/internal/agent/volume"
)

// notifyingObjects is an ObjectSource whose changes are announced by hand.
type notifyingObjects struct {
	mu   sync.Mutex
	cms  map[string]*v1.ConfigMap
	subs []func(volume.ObjectRef)
}

var (
	_ volume.ObjectSource = (*notifyingObjects)(nil)
	_ volume.Notifier     = (*notifyingObjects)(nil)
)

func (o *notifyingObjects) GetSecret(_, name string) (*v1.Secret, error) {
	return nil, volume.NotFound("secret", name)
}

func (o *notifyingObjects) GetConfigMap(ns, name string) (*v1.ConfigMap, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if c, ok := o.cms[ns+"/"+name]; ok {
		return c, nil
	}
	return nil, volume.NotFound("configmap", name)
}

func (o *notifyingObjects) RequestToken(string, string, *authv1.TokenRequest) (*authv1.TokenRequest, error) {
	return nil, volume.ErrNoAPIServer
}

func (o *notifyingObjects) Subscribe(fn func(volume.ObjectRef)) { o.subs = append(o.subs, fn) }

func (o *notifyingObjects) set(ns, name, key, value string) {
	o.setQuietly(ns, name, key, value)
	for _, fn := range o.subs {
		fn(volume.ObjectRef{Kind: "ConfigMap", Namespace: ns, Name: name})
	}
}

// setQuietly changes the object without announcing it.
func (o *notifyingObjects) setQuietly(ns, name, key, value string) {
	o.mu.Lock()
	o.cms[ns+"/"+name] = &v1.ConfigMap{Data: map[string]string{key: value}}
	o.mu.Unlock()
}

// A pod waits for its missing ConfigMap (FailedMount), starts once it is
// announced, and its file follows an update through the change
// notification alone (the periodic resync is an hour here).
func TestConfigMapChangesWakeThePod(t *testing.T) {
	testConfigMapChanges(t, time.Hour)
}

// With a fast resync the volumes are still written only on a change: an
// unannounced update stays out of the file until it is announced.
func TestResyncDoesNotRewriteVolumes(t *testing.T) {
	testConfigMapChanges(t, 5*time.Millisecond)
}

func testConfigMapChanges(t *testing.T, resync time.Duration) {
	objs := &notifyingObjects{cms: map[string]*v1.ConfigMap{}}
	rt := newFakeRuntime()
	status := NewMemoryStatus()
	events := &eventLog{}
	dataDir := t.TempDir()
	m, err := NewManager(Config{
		Runtime: rt, Volumes: volume.NewManager(volume.DefaultPlugins()...), Status: status, Events: events,
		DataDir: dataDir, NodeName: "n1", HostIP: "192.0.2.1", Objects: objs,
		Resync: resync, Housekeeping: time.Hour, Logf: t.Logf,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	updates := make(chan []*v1.Pod)
	go func() { m.Run(ctx, updates); close(done) }()
	defer func() { cancel(); <-done }()

	pod := staticPod(t, `
apiVersion: v1
kind: Pod
metadata: {name: cfg, namespace: ns}
spec:
  volumes: [{name: conf, configMap: {name: game}}]
  containers:
  - {name: app, image: busybox, imagePullPolicy: IfNotPresent, volumeMounts: [{name: conf, mountPath: /etc/conf}]}
`)
	updates <- []*v1.Pod{pod}
	until := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(3 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s; events %v", what, events.list())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	until("FailedMount", func() bool {
		for _, e := range events.list() {
			if e == `Warning FailedMount : MountVolume.SetUp failed for volume "conf" : configmap "game" not found` {
				return true
			}
		}
		return false
	})
	if sb, _ := rt.count(); sb != 0 {
		t.Fatal("a sandbox was created before the volume was ready")
	}
	objs.set("ns", "game", "lives", "3")
	file := filepath.Join(PodDir(dataDir, pod), "volumes", "kubernetes.io~configmap", "conf", "lives")
	read := func() string { b, _ := os.ReadFile(file); return string(b) }
	until("the file", func() bool { return read() == "3" })
	until("running", func() bool {
		for _, p := range status.Pods() {
			if running("app")(&p) {
				return true
			}
		}
		return false
	})
	objs.setQuietly("ns", "game", "lives", "4")
	time.Sleep(100 * time.Millisecond) // many resyncs when resync is short
	if got := read(); got != "3" {
		t.Fatalf("file %q rewritten without a change notification", got)
	}
	start := time.Now()
	objs.set("ns", "game", "lives", "4")
	until("the update", func() bool { return read() == "4" })
	t.Logf("notification -> file: %v", time.Since(start))
	creates := 0
	for _, c := range rt.callList() {
		if strings.HasPrefix(c, "create ") {
			creates++
		}
	}
	if creates != 1 {
		t.Fatalf("%d container creations (an update must not restart): %v", creates, rt.callList())
	}
}
