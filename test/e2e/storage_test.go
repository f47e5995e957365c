package e2e

// Conformance suite of internal/storage, run against the embedded etcd and
// against Debian's etcd 3.4 (/usr/bin/etcd) started here.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/peapod/peapod/internal/storage"
)

// storageBackend is one etcd the suite runs against.
type storageBackend struct {
	name     string
	client   *clientv3.Client
	endpoint string
}

func storageFreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// storageStartEmbedded starts an embedded etcd in dir and stops it at the
// end of the test.
func storageStartEmbedded(t testing.TB, dir string) *storage.Embedded {
	t.Helper()
	start := time.Now()
	e, err := storage.StartEmbedded(context.Background(), storage.EmbeddedConfig{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("embedded etcd at %s started in %s", e.ClientURL(), time.Since(start).Round(time.Millisecond))
	return e
}

// storageStartExternal runs /usr/bin/etcd on random loopback ports in a
// temporary directory; the process and the directory go at the end.
func storageStartExternal(t testing.TB) *storageBackend {
	t.Helper()
	if _, err := os.Stat("/usr/bin/etcd"); err != nil {
		t.Skip("no /usr/bin/etcd (Debian etcd-server)")
	}
	dir := t.TempDir()
	cport, pport := storageFreePort(t), storageFreePort(t)
	curl := fmt.Sprintf("http://127.0.0.1:%d", cport)
	purl := fmt.Sprintf("http://127.0.0.1:%d", pport)
	cmd := exec.Command("/usr/bin/etcd",
		"--name", "e2e", "--data-dir", filepath.Join(dir, "data"),
		"--listen-client-urls", curl, "--advertise-client-urls", curl,
		"--listen-peer-urls", purl, "--initial-advertise-peer-urls", purl,
		"--initial-cluster", "e2e="+purl, "--log-level", "warn", "--logger", "zap")
	logf, err := os.Create(filepath.Join(dir, "etcd.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		logf.Close()
	})
	client, err := storage.NewClient(storage.ClientConfig{Endpoints: []string{curl}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := client.Get(ctx, "health")
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			out, _ := os.ReadFile(filepath.Join(dir, "etcd.log"))
			t.Fatalf("external etcd not ready: %v\n%s", err, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return &storageBackend{name: "etcd3.4", client: client, endpoint: curl}
}

func storageBackends(t *testing.T) []*storageBackend {
	e := storageStartEmbedded(t, filepath.Join(t.TempDir(), "etcd"))
	t.Cleanup(func() { e.Close() })
	return []*storageBackend{
		{name: "embedded", client: e.Client(), endpoint: e.ClientURL()},
		storageStartExternal(t),
	}
}

func storageCodec() *storage.SchemeCodec { return storage.NewCodec(scheme.Scheme) }

func storageNew(t testing.TB, b *storageBackend, opts ...storage.Option) *storage.Store {
	t.Helper()
	s := storage.New(b.client, storageCodec(), opts...)
	t.Cleanup(s.Close)
	return s
}

func storagePod(ns, name string, lbls map[string]string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: lbls, UID: types.UID("uid-" + name)},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}
}

func storagePodKey(ns, name string) string { return "/registry/pods/" + ns + "/" + name }

// storagePodAttrs is the GetAttrs of pods: labels plus metadata.name,
// metadata.namespace and spec.nodeName.
func storagePodAttrs(obj runtime.Object) (labels.Set, fields.Set, error) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return nil, nil, fmt.Errorf("not a pod: %T", obj)
	}
	return labels.Set(p.Labels), fields.Set{
		"metadata.name": p.Name, "metadata.namespace": p.Namespace, "spec.nodeName": p.Spec.NodeName,
	}, nil
}

func storageCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func storageMustCreate(t testing.TB, s storage.Interface, p *corev1.Pod) *corev1.Pod {
	t.Helper()
	out := &corev1.Pod{}
	if err := s.Create(storageCtx(t), storagePodKey(p.Namespace, p.Name), p, out); err != nil {
		t.Fatal(err)
	}
	return out
}

// storageNext returns the next event of w or fails after timeout.
func storageNext(t testing.TB, w watch.Interface, timeout time.Duration) watch.Event {
	t.Helper()
	select {
	case ev, ok := <-w.ResultChan():
		if !ok {
			t.Fatal("watch closed")
		}
		return ev
	case <-time.After(timeout):
		t.Fatalf("no watch event in %s", timeout)
	}
	return watch.Event{}
}

// storageNextObject skips bookmarks.
func storageNextObject(t testing.TB, w watch.Interface) (watch.EventType, *corev1.Pod) {
	t.Helper()
	for {
		ev := storageNext(t, w, 10*time.Second)
		if ev.Type == watch.Bookmark {
			continue
		}
		p, ok := ev.Object.(*corev1.Pod)
		if !ok {
			t.Fatalf("event %s carries %T: %v", ev.Type, ev.Object, ev.Object)
		}
		return ev.Type, p
	}
}

func storageExpectNone(t testing.TB, w watch.Interface, d time.Duration) {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				t.Fatal("watch closed")
			}
			if ev.Type != watch.Bookmark {
				t.Fatalf("unexpected event %s %v", ev.Type, ev.Object)
			}
		case <-deadline:
			return
		}
	}
}

func TestStorageConformance(t *testing.T) {
	for _, b := range storageBackends(t) {
		t.Run(b.name, func(t *testing.T) {
			t.Run("CreateGet", func(t *testing.T) { storageTestCreateGet(t, b) })
			t.Run("List", func(t *testing.T) { storageTestList(t, b) })
			t.Run("UpdateConflict", func(t *testing.T) { storageTestUpdate(t, b) })
			t.Run("DeletePreconditions", func(t *testing.T) { storageTestDelete(t, b) })
			t.Run("TooLarge", func(t *testing.T) { storageTestTooLarge(t, b) })
			t.Run("BadResourceVersions", func(t *testing.T) { storageTestBadRVs(t, b) })
			t.Run("WatchFromRV", func(t *testing.T) { storageTestWatchFromRV(t, b, true) })
			if b.name == "embedded" {
				// etcd 3.5.13+: a new cache replays etcd's recent history.
				t.Run("WatchFromRVBeforeCacheStart", func(t *testing.T) { storageTestWatchFromRV(t, b, false) })
			}
			t.Run("SelectorTransitions", func(t *testing.T) { storageTestSelectorTransitions(t, b) })
			t.Run("BookmarksAndInitialEvents", func(t *testing.T) { storageTestBookmarks(t, b) })
			t.Run("ManyWatchersOneEtcdWatch", func(t *testing.T) { storageTestManyWatchers(t, b) })
			t.Run("SlowWatcherEnded", func(t *testing.T) { storageTestSlowWatcher(t, b) })
			t.Run("Encryption", func(t *testing.T) { storageTestEncryption(t, b) })
			t.Run("Compaction", func(t *testing.T) { storageTestCompaction(t, b) })
		})
	}
}

func storageTestCreateGet(t *testing.T, b *storageBackend) {
	s := storageNew(t, b)
	ctx := storageCtx(t)
	created := storageMustCreate(t, s, storagePod("cg", "a", nil))
	if created.ResourceVersion == "" || created.Spec.Containers[0].Image != "busybox" {
		t.Fatalf("created = %+v", created)
	}
	got := &corev1.Pod{}
	if err := s.Get(ctx, storagePodKey("cg", "a"), "", got, false); err != nil {
		t.Fatal(err)
	}
	if got.ResourceVersion != created.ResourceVersion || got.UID != "uid-a" {
		t.Fatalf("get: rv %q uid %q, want rv %q", got.ResourceVersion, got.UID, created.ResourceVersion)
	}
	if err := s.Create(ctx, storagePodKey("cg", "a"), storagePod("cg", "a", nil), &corev1.Pod{}); !errors.Is(err, storage.ErrKeyExists) {
		t.Fatalf("duplicate create: %v, want ErrKeyExists", err)
	}
	withRV := storagePod("cg", "b", nil)
	withRV.ResourceVersion = "5"
	if err := s.Create(ctx, storagePodKey("cg", "b"), withRV, &corev1.Pod{}); !errors.Is(err, storage.ErrInvalidRV) {
		t.Fatalf("create with resourceVersion: %v, want ErrInvalidRV", err)
	}
	err := s.Get(ctx, storagePodKey("cg", "missing"), "", &corev1.Pod{}, false)
	if !errors.Is(err, storage.ErrNotFound) || !strings.Contains(err.Error(), "/registry/pods/cg/missing") {
		t.Fatalf("get missing: %v, want ErrNotFound with the key", err)
	}
	zero := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "junk"}}
	if err := s.Get(ctx, storagePodKey("cg", "missing"), "", zero, true); err != nil || zero.Name != "" {
		t.Fatalf("get missing ignoreNotFound: %v, %+v", err, zero)
	}
	// The resourceVersion is never stored inside the value.
	resp, err := b.client.Get(ctx, storagePodKey("cg", "a"))
	if err != nil {
		t.Fatal(err)
	}
	raw := &corev1.Pod{}
	if _, err := storageCodec().Decode(resp.Kvs[0].Value, raw); err != nil {
		t.Fatal(err)
	}
	if raw.ResourceVersion != "" {
		t.Fatalf("stored value holds resourceVersion %q", raw.ResourceVersion)
	}
	if !bytes.HasPrefix(resp.Kvs[0].Value, []byte("k8s\x00")) {
		t.Fatalf("pod not stored as protobuf: %q", resp.Kvs[0].Value[:10])
	}
}

func storageTestList(t *testing.T, b *storageBackend) {
	s := storageNew(t, b)
	ctx := storageCtx(t)
	var maxRV int64
	for i := 0; i < 7; i++ {
		app := "web"
		if i%2 == 1 {
			app = "db"
		}
		p := storageMustCreate(t, s, storagePod("ls", fmt.Sprintf("p%d", i), map[string]string{"app": app}))
		rv, _ := strconv.ParseInt(p.ResourceVersion, 10, 64)
		maxRV = max(maxRV, rv)
	}
	storageMustCreate(t, s, storagePod("ls-other", "x", nil))

	list := &corev1.PodList{}
	if err := s.GetList(ctx, "/registry/pods/ls", storage.ListOptions{Recursive: true}, list); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 7 {
		t.Fatalf("list: %d items, want 7", len(list.Items))
	}
	for i, p := range list.Items {
		if p.Name != fmt.Sprintf("p%d", i) || p.ResourceVersion == "" {
			t.Fatalf("item %d = %s rv %q", i, p.Name, p.ResourceVersion)
		}
	}
	if rv, _ := strconv.ParseInt(list.ResourceVersion, 10, 64); rv < maxRV {
		t.Fatalf("list resourceVersion %s < newest item %d", list.ResourceVersion, maxRV)
	}

	sel := storage.SelectionPredicate{Label: labels.SelectorFromSet(labels.Set{"app": "web"}), GetAttrs: storagePodAttrs}
	for _, rv := range []string{"", "0"} {
		list := &corev1.PodList{}
		if err := s.GetList(ctx, "/registry/pods/ls/", storage.ListOptions{Recursive: true, Predicate: sel, ResourceVersion: rv}, list); err != nil {
			t.Fatal(err)
		}
		if len(list.Items) != 4 {
			t.Fatalf("rv %q: app=web list: %d items, want 4", rv, len(list.Items))
		}
	}

	// Chunks of 2 with a selector: every match exactly once, in order.
	var names []string
	cont := ""
	pages := 0
	for {
		pred := sel
		pred.Limit, pred.Continue = 2, cont
		page := &corev1.PodList{}
		if err := s.GetList(ctx, "/registry/pods/ls", storage.ListOptions{Recursive: true, Predicate: pred}, page); err != nil {
			t.Fatal(err)
		}
		pages++
		for _, p := range page.Items {
			names = append(names, p.Name)
		}
		if page.Continue == "" {
			break
		}
		cont = page.Continue
	}
	if got := strings.Join(names, ","); got != "p0,p2,p4,p6" || pages != 2 {
		t.Fatalf("chunked list = %s in %d pages", got, pages)
	}
	bad := storage.SelectionPredicate{Limit: 2, Continue: "not-a-token"}
	if err := s.GetList(ctx, "/registry/pods/ls", storage.ListOptions{Recursive: true, Predicate: bad}, &corev1.PodList{}); !errors.Is(err, storage.ErrInvalidRV) {
		t.Fatalf("bad continue: %v, want ErrInvalidRV", err)
	}

	// A single object (not recursive) and a field selector.
	one := &corev1.PodList{}
	if err := s.GetList(ctx, storagePodKey("ls", "p3"), storage.ListOptions{}, one); err != nil || len(one.Items) != 1 {
		t.Fatalf("single: %v %d", err, len(one.Items))
	}
	byName := storage.SelectionPredicate{Field: fields.OneTermEqualSelector("metadata.name", "p5"), GetAttrs: storagePodAttrs}
	list = &corev1.PodList{}
	if err := s.GetList(ctx, "/registry/pods/", storage.ListOptions{Recursive: true, Predicate: byName}, list); err != nil || len(list.Items) != 1 {
		t.Fatalf("field selector: %v %d", err, len(list.Items))
	}
}

func storageTestUpdate(t *testing.T, b *storageBackend) {
	s := storageNew(t, b)
	ctx := storageCtx(t)
	created := storageMustCreate(t, s, storagePod("up", "a", nil))
	key := storagePodKey("up", "a")

	out := &corev1.Pod{}
	err := s.GuaranteedUpdate(ctx, key, out, false, nil, func(cur runtime.Object) (runtime.Object, error) {
		p := cur.(*corev1.Pod)
		p.Labels = map[string]string{"v": "2"}
		return p, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if out.Labels["v"] != "2" || out.ResourceVersion == created.ResourceVersion {
		t.Fatalf("updated = %v rv %s", out.Labels, out.ResourceVersion)
	}

	// A stale resourceVersion is a conflict, and nothing is written.
	err = s.GuaranteedUpdate(ctx, key, &corev1.Pod{}, false, nil, func(cur runtime.Object) (runtime.Object, error) {
		p := cur.(*corev1.Pod)
		p.ResourceVersion = created.ResourceVersion
		p.Labels = map[string]string{"v": "stale"}
		return p, nil
	})
	if !errors.Is(err, storage.ErrConflict) {
		t.Fatalf("stale update: %v, want ErrConflict", err)
	}
	wrongUID := types.UID("other")
	err = s.GuaranteedUpdate(ctx, key, &corev1.Pod{}, false, &storage.Preconditions{UID: &wrongUID},
		func(cur runtime.Object) (runtime.Object, error) { return cur, nil })
	if !errors.Is(err, storage.ErrConflict) {
		t.Fatalf("UID precondition: %v, want ErrConflict", err)
	}
	boom := errors.New("boom")
	if err := s.GuaranteedUpdate(ctx, key, &corev1.Pod{}, false, nil,
		func(runtime.Object) (runtime.Object, error) { return nil, boom }); err != boom {
		t.Fatalf("tryUpdate error: %v, want it unchanged", err)
	}
	if err := s.GuaranteedUpdate(ctx, storagePodKey("up", "missing"), &corev1.Pod{}, false, nil,
		func(cur runtime.Object) (runtime.Object, error) { return cur, nil }); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("update missing: %v", err)
	}
	// A no-op update writes nothing.
	noop := &corev1.Pod{}
	if err := s.GuaranteedUpdate(ctx, key, noop, false, nil, func(cur runtime.Object) (runtime.Object, error) { return cur, nil }); err != nil {
		t.Fatal(err)
	}
	if noop.ResourceVersion != out.ResourceVersion {
		t.Fatalf("no-op update changed rv %s -> %s", out.ResourceVersion, noop.ResourceVersion)
	}
	// Create on update (ignoreNotFound).
	made := &corev1.Pod{}
	if err := s.GuaranteedUpdate(ctx, storagePodKey("up", "new"), made, true, nil, func(cur runtime.Object) (runtime.Object, error) {
		return storagePod("up", "new", nil), nil
	}); err != nil || made.ResourceVersion == "" {
		t.Fatalf("create on update: %v %q", err, made.ResourceVersion)
	}

	// Racing updates all land: tryUpdate is retried on the new state.
	var wg sync.WaitGroup
	const n = 10
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.GuaranteedUpdate(ctx, key, &corev1.Pod{}, false, nil, func(cur runtime.Object) (runtime.Object, error) {
				p := cur.(*corev1.Pod)
				c, _ := strconv.Atoi(p.Annotations["count"])
				if p.Annotations == nil {
					p.Annotations = map[string]string{}
				}
				p.Annotations["count"] = strconv.Itoa(c + 1)
				return p, nil
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	final := &corev1.Pod{}
	if err := s.Get(ctx, key, "", final, false); err != nil || final.Annotations["count"] != strconv.Itoa(n) {
		t.Fatalf("after %d racing updates: count %q (%v)", n, final.Annotations["count"], err)
	}
}

func storageTestDelete(t *testing.T, b *storageBackend) {
	s := storageNew(t, b)
	ctx := storageCtx(t)
	created := storageMustCreate(t, s, storagePod("del", "a", map[string]string{"k": "v"}))
	key := storagePodKey("del", "a")
	wrongUID, wrongRV := types.UID("nope"), "1"
	for _, p := range []*storage.Preconditions{{UID: &wrongUID}, {ResourceVersion: &wrongRV}} {
		if err := s.Delete(ctx, key, &corev1.Pod{}, p, nil); !errors.Is(err, storage.ErrConflict) {
			t.Fatalf("delete with %+v: %v, want ErrConflict", p, err)
		}
	}
	veto := errors.New("vetoed")
	if err := s.Delete(ctx, key, &corev1.Pod{}, nil, func(context.Context, runtime.Object) error { return veto }); err != veto {
		t.Fatalf("validate: %v", err)
	}
	if err := s.Get(ctx, key, "", &corev1.Pod{}, false); err != nil {
		t.Fatalf("object gone after failed deletes: %v", err)
	}
	uid, rv := created.UID, created.ResourceVersion
	out := &corev1.Pod{}
	if err := s.Delete(ctx, key, out, &storage.Preconditions{UID: &uid, ResourceVersion: &rv}, nil); err != nil {
		t.Fatal(err)
	}
	if out.Name != "a" || out.Labels["k"] != "v" || out.ResourceVersion == rv {
		t.Fatalf("deleted = %s %v rv %s", out.Name, out.Labels, out.ResourceVersion)
	}
	if err := s.Get(ctx, key, "", &corev1.Pod{}, false); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("get after delete: %v", err)
	}
	if err := s.Delete(ctx, key, &corev1.Pod{}, nil, nil); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("delete missing: %v", err)
	}
	// Without an out object, preconditions and validate still see the pod.
	b2 := storageMustCreate(t, s, storagePod("del", "b", nil))
	var seen string
	err := s.Delete(ctx, storagePodKey("del", "b"), nil, &storage.Preconditions{UID: &b2.UID},
		func(_ context.Context, cur runtime.Object) error { seen = cur.(*corev1.Pod).Name; return nil })
	if err != nil || seen != "b" {
		t.Fatalf("delete with nil out: %v, validate saw %q", err, seen)
	}
}

func storageTestTooLarge(t *testing.T, b *storageBackend) {
	s := storageNew(t, b)
	ctx := storageCtx(t)
	p := storagePod("big", "a", nil)
	p.Annotations = map[string]string{"blob": strings.Repeat("x", 1600*1024)}
	if err := s.Create(ctx, storagePodKey("big", "a"), p, &corev1.Pod{}); !errors.Is(err, storage.ErrTooLarge) {
		t.Fatalf("create 1.6 MiB: %v, want ErrTooLarge", err)
	}
	if err := s.Get(ctx, storagePodKey("big", "a"), "", &corev1.Pod{}, false); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("too large object was stored: %v", err)
	}
	storageMustCreate(t, s, storagePod("big", "b", nil))
	err := s.GuaranteedUpdate(ctx, storagePodKey("big", "b"), &corev1.Pod{}, false, nil, func(cur runtime.Object) (runtime.Object, error) {
		p := cur.(*corev1.Pod)
		p.Annotations = map[string]string{"blob": strings.Repeat("x", 1600*1024)}
		return p, nil
	})
	if !errors.Is(err, storage.ErrTooLarge) {
		t.Fatalf("update to 1.6 MiB: %v, want ErrTooLarge", err)
	}
}

// storageEtcdWatchers reads etcd's count of server-side watchers.
// TestStorageRestartPersistence closes and reopens the embedded etcd:
// objects and resourceVersions are intact, and the client URL is kept.
// storageProxy forwards TCP connections to target and can cut them all,
// to make a store lose etcd for a while.
// TestStorageCacheRelistsAfterOwnCompaction: the watch cache loses etcd,
// etcd compacts past the cache's position meanwhile, and the cache relists:
// its watchers are ended, old resourceVersions expire, and new watches see
// the writes made while it was away.

func storageTestBadRVs(t *testing.T, b *storageBackend) {
	s := storageNew(t, b)
	ctx := storageCtx(t)
	p := storageMustCreate(t, s, storagePod("rvs", "a", nil))
	key := storagePodKey("rvs", "a")
	if err := s.Get(ctx, key, "abc", &corev1.Pod{}, false); !errors.Is(err, storage.ErrInvalidRV) {
		t.Fatalf("get rv=abc: %v, want ErrInvalidRV", err)
	}
	if err := s.GetList(ctx, "/registry/pods/rvs", storage.ListOptions{Recursive: true, ResourceVersion: "-3"}, &corev1.PodList{}); !errors.Is(err, storage.ErrInvalidRV) {
		t.Fatalf("list rv=-3: %v, want ErrInvalidRV", err)
	}
	if err := s.GetList(ctx, "/registry/pods/rvs", storage.ListOptions{Recursive: true, ResourceVersionMatch: "Sometimes"}, &corev1.PodList{}); !errors.Is(err, storage.ErrInvalidRV) {
		t.Fatalf("bad resourceVersionMatch: %v, want ErrInvalidRV", err)
	}
	future := "999999999"
	if err := s.Get(ctx, key, future, &corev1.Pod{}, false); !errors.Is(err, storage.ErrTimeout) {
		t.Fatalf("get from the future: %v, want ErrTimeout (too large resource version)", err)
	}
	if err := s.GetList(ctx, "/registry/pods/rvs", storage.ListOptions{Recursive: true, ResourceVersion: future}, &corev1.PodList{}); !errors.Is(err, storage.ErrTimeout) {
		t.Fatalf("list from the future: %v, want ErrTimeout", err)
	}
	if _, err := s.Watch(ctx, "/registry/pods/rvs", storage.ListOptions{Recursive: true, ResourceVersion: future}); !errors.Is(err, storage.ErrTimeout) {
		t.Fatalf("watch from the future: %v, want ErrTimeout", err)
	}
	if _, err := s.Watch(ctx, "/registry/pods/rvs", storage.ListOptions{Recursive: true, ResourceVersion: "x"}); !errors.Is(err, storage.ErrInvalidRV) {
		t.Fatalf("watch rv=x: %v, want ErrInvalidRV", err)
	}
	// Exact read of the current state at the object's revision.
	list := &corev1.PodList{}
	if err := s.GetList(ctx, "/registry/pods/rvs", storage.ListOptions{Recursive: true, ResourceVersion: p.ResourceVersion, ResourceVersionMatch: "Exact"}, list); err != nil || len(list.Items) != 1 || list.ResourceVersion != p.ResourceVersion {
		t.Fatalf("exact list: %v %d rv %s", err, len(list.Items), list.ResourceVersion)
	}
}
