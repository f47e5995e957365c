package e2e

// Conformance suite of internal/storage, run against the embedded etcd and
// against Debian's etcd 3.4 (/usr/bin/etcd) started here.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
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

func storageTestWatchFromRV(t *testing.T, b *storageBackend, warm bool) {
	s := storageNew(t, b)
	ctx := storageCtx(t)
	ns := "wrv"
	if !warm {
		ns = "wrv-cold"
	}
	if warm {
		if err := s.StartWatchCache(ctx, "/registry/pods"); err != nil {
			t.Fatal(err)
		}
	}
	a := storageMustCreate(t, s, storagePod(ns, "a", nil))
	upd := &corev1.Pod{}
	if err := s.GuaranteedUpdate(ctx, storagePodKey(ns, "a"), upd, false, nil, func(cur runtime.Object) (runtime.Object, error) {
		p := cur.(*corev1.Pod)
		p.Labels = map[string]string{"x": "1"}
		return p, nil
	}); err != nil {
		t.Fatal(err)
	}
	bp := storageMustCreate(t, s, storagePod(ns, "b", nil))

	w, err := s.Watch(ctx, "/registry/pods/"+ns, storage.ListOptions{ResourceVersion: a.ResourceVersion, Recursive: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if typ, p := storageNextObject(t, w); typ != watch.Modified || p.Name != "a" || p.ResourceVersion != upd.ResourceVersion {
		t.Fatalf("first event %s %s rv %s", typ, p.Name, p.ResourceVersion)
	}
	if typ, p := storageNextObject(t, w); typ != watch.Added || p.Name != "b" || p.ResourceVersion != bp.ResourceVersion {
		t.Fatalf("second event %s %s", typ, p.Name)
	}
	// Live events follow.
	if err := s.Delete(ctx, storagePodKey(ns, "a"), &corev1.Pod{}, nil, nil); err != nil {
		t.Fatal(err)
	}
	if typ, p := storageNextObject(t, w); typ != watch.Deleted || p.Name != "a" || p.Labels["x"] != "1" {
		t.Fatalf("delete event %s %s %v", typ, p.Name, p.Labels)
	}

	// From "0": synthetic ADDED for the current state, then changes.
	w0, err := s.Watch(ctx, "/registry/pods/"+ns+"/", storage.ListOptions{ResourceVersion: "0", Recursive: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w0.Stop()
	if typ, p := storageNextObject(t, w0); typ != watch.Added || p.Name != "b" {
		t.Fatalf("initial event %s %s", typ, p.Name)
	}
	storageMustCreate(t, s, storagePod(ns, "c", nil))
	if typ, p := storageNextObject(t, w0); typ != watch.Added || p.Name != "c" {
		t.Fatalf("live event %s %s", typ, p.Name)
	}

	// A single key, not recursive.
	w1, err := s.Watch(ctx, storagePodKey(ns, "c"), storage.ListOptions{ResourceVersion: "0"})
	if err != nil {
		t.Fatal(err)
	}
	defer w1.Stop()
	if typ, p := storageNextObject(t, w1); typ != watch.Added || p.Name != "c" {
		t.Fatalf("single key event %s %s", typ, p.Name)
	}
	storageMustCreate(t, s, storagePod(ns, "d", nil))
	storageExpectNone(t, w1, 300*time.Millisecond)

	// A watch ends with its context.
	cctx, cancel := context.WithCancel(ctx)
	wc, err := s.Watch(cctx, "/registry/pods/"+ns, storage.ListOptions{Recursive: true, ResourceVersion: bp.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	for range wc.ResultChan() {
	}
}

func storageTestSelectorTransitions(t *testing.T, b *storageBackend) {
	s := storageNew(t, b)
	ctx := storageCtx(t)
	pred := storage.SelectionPredicate{Label: labels.SelectorFromSet(labels.Set{"app": "web"}), GetAttrs: storagePodAttrs}
	w, err := s.Watch(ctx, "/registry/pods/sel", storage.ListOptions{ResourceVersion: "0", Recursive: true, Predicate: pred})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	key := storagePodKey("sel", "a")
	setLabels := func(l map[string]string, ann string) *corev1.Pod {
		out := &corev1.Pod{}
		if err := s.GuaranteedUpdate(ctx, key, out, false, nil, func(cur runtime.Object) (runtime.Object, error) {
			p := cur.(*corev1.Pod)
			p.Labels = l
			p.Annotations = map[string]string{"a": ann}
			return p, nil
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	storageMustCreate(t, s, storagePod("sel", "a", map[string]string{"app": "db"}))
	setLabels(map[string]string{"app": "web"}, "1")
	if typ, p := storageNextObject(t, w); typ != watch.Added || p.Labels["app"] != "web" {
		t.Fatalf("entering the selector: %s %v", typ, p.Labels)
	}
	setLabels(map[string]string{"app": "web"}, "2")
	if typ, p := storageNextObject(t, w); typ != watch.Modified || p.Annotations["a"] != "2" {
		t.Fatalf("inside the selector: %s %v", typ, p.Annotations)
	}
	left := setLabels(map[string]string{"app": "db"}, "3")
	typ, p := storageNextObject(t, w)
	if typ != watch.Deleted || p.Labels["app"] != "web" || p.Annotations["a"] != "2" || p.ResourceVersion != left.ResourceVersion {
		t.Fatalf("leaving the selector: %s labels %v ann %v rv %s (want last matching state at rv %s)",
			typ, p.Labels, p.Annotations, p.ResourceVersion, left.ResourceVersion)
	}
	if err := s.Delete(ctx, key, &corev1.Pod{}, nil, nil); err != nil {
		t.Fatal(err)
	}
	storageExpectNone(t, w, 300*time.Millisecond)
}

func storageTestBookmarks(t *testing.T, b *storageBackend) {
	s := storageNew(t, b, storage.WithBookmarkInterval(200*time.Millisecond))
	ctx := storageCtx(t)
	storageMustCreate(t, s, storagePod("bm", "a", nil))
	storageMustCreate(t, s, storagePod("bm", "b", nil))
	yes := true
	w, err := s.Watch(ctx, "/registry/pods/bm", storage.ListOptions{Recursive: true, SendInitialEvents: &yes, ProgressNotify: true,
		ResourceVersionMatch: "NotOlderThan"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	for _, name := range []string{"a", "b"} {
		ev := storageNext(t, w, 5*time.Second)
		if p, ok := ev.Object.(*corev1.Pod); ev.Type != watch.Added || !ok || p.Name != name {
			t.Fatalf("initial event %s %v", ev.Type, ev.Object)
		}
	}
	ev := storageNext(t, w, 5*time.Second)
	p, ok := ev.Object.(*corev1.Pod)
	if ev.Type != watch.Bookmark || !ok || p.Annotations[storage.InitialEventsAnnotation] != "true" || p.ResourceVersion == "" {
		t.Fatalf("want the initial-events-end bookmark, got %s %v", ev.Type, ev.Object)
	}
	ev = storageNext(t, w, 3*time.Second)
	if p, ok := ev.Object.(*corev1.Pod); ev.Type != watch.Bookmark || !ok || p.ResourceVersion == "" {
		t.Fatalf("want a periodic bookmark, got %s %v", ev.Type, ev.Object)
	}

	// An empty collection still gets its bookmarks (type from the scheme).
	w2, err := s.Watch(ctx, "/registry/configmaps/empty", storage.ListOptions{Recursive: true, SendInitialEvents: &yes, ProgressNotify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Stop()
	ev = storageNext(t, w2, 5*time.Second)
	if cm, ok := ev.Object.(*corev1.ConfigMap); ev.Type != watch.Bookmark || !ok || cm.Annotations[storage.InitialEventsAnnotation] != "true" {
		t.Fatalf("empty collection: want a ConfigMap initial-events-end bookmark, got %s %T", ev.Type, ev.Object)
	}
}

// storageEtcdWatchers reads etcd's count of server-side watchers.
func storageEtcdWatchers(t *testing.T, endpoint string) int {
	t.Helper()
	resp, err := http.Get(endpoint + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "etcd_debugging_mvcc_watcher_total "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return int(f)
		}
	}
	t.Fatal("etcd_debugging_mvcc_watcher_total not in /metrics")
	return 0
}

func storageTestManyWatchers(t *testing.T, b *storageBackend) {
	s := storageNew(t, b)
	ctx := storageCtx(t)
	// Start the store's caches (pods and the compaction key) first.
	w0, err := s.Watch(ctx, "/registry/pods/many", storage.ListOptions{Recursive: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w0.Stop()
	before := storageEtcdWatchers(t, b.endpoint)
	const n = 50
	ws := make([]watch.Interface, n)
	for i := range ws {
		if ws[i], err = s.Watch(ctx, "/registry/pods/many", storage.ListOptions{Recursive: true}); err != nil {
			t.Fatal(err)
		}
		defer ws[i].Stop()
	}
	if after := storageEtcdWatchers(t, b.endpoint); after > before {
		t.Fatalf("etcd watchers %d -> %d after %d store watches; want them to share one", before, after, n)
	}
	storageMustCreate(t, s, storagePod("many", "a", nil))
	for i, w := range ws {
		if typ, p := storageNextObject(t, w); typ != watch.Added || p.Name != "a" {
			t.Fatalf("watcher %d: %s %s", i, typ, p.Name)
		}
	}
}

func storageTestSlowWatcher(t *testing.T, b *storageBackend) {
	s := storageNew(t, b, storage.WithWatcherBuffer(5))
	ctx := storageCtx(t)
	slow, err := s.Watch(ctx, "/registry/pods/slow", storage.ListOptions{Recursive: true})
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Stop()
	// A watcher whose selector matches none of the burst is not behind.
	picky, err := s.Watch(ctx, "/registry/pods/slow", storage.ListOptions{Recursive: true,
		Predicate: storage.SelectionPredicate{Label: labels.SelectorFromSet(labels.Set{"app": "rare"}), GetAttrs: storagePodAttrs}})
	if err != nil {
		t.Fatal(err)
	}
	defer picky.Stop()
	// The fast watcher keeps up; should the loaded machine make it fall
	// behind too, it re-watches from its last resourceVersion, as clients do.
	fast, err := s.Watch(ctx, "/registry/pods/slow", storage.ListOptions{Recursive: true})
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan int, 1)
	go func() {
		seen := map[string]bool{}
		w, last := fast, ""
		for len(seen) < 40 {
			ev, ok := <-w.ResultChan()
			if !ok {
				w.Stop()
				var werr error
				if w, werr = s.Watch(ctx, "/registry/pods/slow", storage.ListOptions{Recursive: true, ResourceVersion: last}); werr != nil {
					t.Error(werr)
					got <- len(seen)
					return
				}
				continue
			}
			p := ev.Object.(*corev1.Pod)
			seen[p.Name], last = true, p.ResourceVersion
		}
		w.Stop()
		got <- len(seen)
	}()
	for i := 0; i < 40; i++ {
		storageMustCreate(t, s, storagePod("slow", fmt.Sprintf("p%02d", i), nil))
	}
	select {
	case n := <-got:
		if n != 40 {
			t.Fatalf("fast watcher saw %d events", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the fast watcher was blocked by the slow one")
	}
	storageMustCreate(t, s, storagePod("slow", "rare", map[string]string{"app": "rare"}))
	if typ, p := storageNextObject(t, picky); typ != watch.Added || p.Name != "rare" {
		t.Fatalf("selective watcher: %s %s", typ, p.Name)
	}
	// The slow one was ended: its channel closes after what it buffered.
	n := 0
	deadline := time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-slow.ResultChan():
			if !ok {
				if n >= 41 {
					t.Fatalf("slow watcher got all %d events; want it ended", n)
				}
				return
			}
			n++
		case <-deadline:
			t.Fatal("slow watcher not ended")
		}
	}
}

func storageTestEncryption(t *testing.T, b *storageBackend) {
	ctx := storageCtx(t)
	dir := t.TempDir()
	keysFile := filepath.Join(dir, "encryption-keys")
	keys, err := storage.LoadOrCreateKeys(keysFile, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(keysFile); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("keys file: %v %v", st.Mode(), err)
	}
	aes1, err := storage.NewAESGCMTransformer(keys, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	plainStore := storageNew(t, b)
	s := storageNew(t, b, storage.WithTransformer(storage.SecretsEncryption(aes1)))

	secret := func(name string) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "enc", Name: name},
			Data: map[string][]byte{"password": []byte("supersecret-" + name)}}
	}
	key := func(name string) string { return "/registry/secrets/enc/" + name }
	raw := func(name string) []byte {
		resp, err := b.client.Get(ctx, key(name))
		if err != nil || len(resp.Kvs) != 1 {
			t.Fatalf("raw get %s: %v", name, err)
		}
		return resp.Kvs[0].Value
	}
	if err := s.Create(ctx, key("a"), secret("a"), &corev1.Secret{}); err != nil {
		t.Fatal(err)
	}
	if v := raw("a"); !bytes.HasPrefix(v, []byte("k8s:enc:aesgcm:v1:key1:")) || bytes.Contains(v, []byte("supersecret")) {
		t.Fatalf("stored secret is not encrypted: %q", v)
	}
	got := &corev1.Secret{}
	if err := s.Get(ctx, key("a"), "", got, false); err != nil || string(got.Data["password"]) != "supersecret-a" {
		t.Fatalf("read back: %v %q", err, got.Data["password"])
	}
	// Pods stay plain.
	storageMustCreate(t, s, storagePod("enc", "p", nil))
	resp, err := b.client.Get(ctx, storagePodKey("enc", "p"))
	if err != nil || !bytes.HasPrefix(resp.Kvs[0].Value, []byte("k8s\x00")) {
		t.Fatalf("pod value: %v", err)
	}
	// Old plain data still reads, and the watch cache decrypts too.
	if err := plainStore.Create(ctx, key("old"), secret("old"), &corev1.Secret{}); err != nil {
		t.Fatal(err)
	}
	list := &corev1.SecretList{}
	if err := s.GetList(ctx, "/registry/secrets/enc", storage.ListOptions{Recursive: true, ResourceVersion: "0"}, list); err != nil || len(list.Items) != 2 {
		t.Fatalf("list through the cache: %v %d", err, len(list.Items))
	}
	for _, it := range list.Items {
		if !strings.HasPrefix(string(it.Data["password"]), "supersecret-") {
			t.Fatalf("cached secret %s: %q", it.Name, it.Data["password"])
		}
	}

	// Rotation: a new first key; all keys still decrypt; re-encrypt.
	k2 := make([]byte, 32)
	rand.Read(k2)
	rotated := append([]storage.AESKey{{Name: "key2", Secret: k2}}, keys...)
	if err := os.WriteFile(keysFile, storage.FormatKeys(rotated), 0o600); err != nil {
		t.Fatal(err)
	}
	reloaded, err := storage.LoadOrCreateKeys(keysFile, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	aes2, err := storage.NewAESGCMTransformer(reloaded, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s2 := storageNew(t, b, storage.WithTransformer(storage.SecretsEncryption(aes2)))
	if err := s2.Get(ctx, key("a"), "", &corev1.Secret{}, false); err != nil {
		t.Fatalf("old key no longer decrypts: %v", err)
	}
	n, err := s2.ReencryptSecrets(ctx)
	if err != nil || n < 2 {
		t.Fatalf("re-encrypt: %d %v (want at least a and old)", n, err)
	}
	for _, name := range []string{"a", "old"} {
		if v := raw(name); !bytes.HasPrefix(v, []byte("k8s:enc:aesgcm:v1:key2:")) || bytes.Contains(v, []byte("supersecret")) {
			t.Fatalf("%s after re-encryption: %q", name, v[:30])
		}
	}
	// Without the new key, the data cannot be read: an error, not garbage.
	s1 := storageNew(t, b, storage.WithTransformer(storage.SecretsEncryption(aes1)))
	if err := s1.Get(ctx, key("a"), "", &corev1.Secret{}, false); !errors.Is(err, storage.ErrDecrypt) {
		t.Fatalf("read with a retired key set: %v, want ErrDecrypt", err)
	}
}

func storageTestCompaction(t *testing.T, b *storageBackend) {
	s := storageNew(t, b, storage.WithBookmarkInterval(100*time.Millisecond))
	ctx := storageCtx(t)
	first := storageMustCreate(t, s, storagePod("cmp", "a", nil))
	// Start the cache before the history goes.
	w, err := s.Watch(ctx, "/registry/pods/cmp", storage.ListOptions{ResourceVersion: first.ResourceVersion, Recursive: true})
	if err != nil {
		t.Fatal(err)
	}
	w.Stop()
	for i := 0; i < 5; i++ {
		storageMustCreate(t, s, storagePod("cmp", fmt.Sprintf("p%d", i), nil))
	}
	page := &corev1.PodList{}
	if err := s.GetList(ctx, "/registry/pods/cmp", storage.ListOptions{Recursive: true, Predicate: storage.SelectionPredicate{Limit: 2}}, page); err != nil || page.Continue == "" {
		t.Fatalf("first page: %v %q", err, page.Continue)
	}
	storageMustCreate(t, s, storagePod("cmp", "later", nil))
	rev, err := s.CurrentRevision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := storage.Compact(ctx, b.client, rev); err != nil {
		t.Fatal(err)
	}
	// Watching from before the compaction: 410 Expired.
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err = s.Watch(ctx, "/registry/pods/cmp", storage.ListOptions{ResourceVersion: first.ResourceVersion, Recursive: true})
		if errors.Is(err, storage.ErrExpired) || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !errors.Is(err, storage.ErrExpired) {
		t.Fatalf("watch from a compacted rv: %v, want ErrExpired", err)
	}
	// An old continue token and an exact read of old history: expired too.
	pred := storage.SelectionPredicate{Limit: 2, Continue: page.Continue}
	if err := s.GetList(ctx, "/registry/pods/cmp", storage.ListOptions{Recursive: true, Predicate: pred}, &corev1.PodList{}); !errors.Is(err, storage.ErrExpired) {
		t.Fatalf("continue after compaction: %v, want ErrExpired", err)
	}
	if err := s.GetList(ctx, "/registry/pods/cmp", storage.ListOptions{Recursive: true, ResourceVersion: first.ResourceVersion, ResourceVersionMatch: "Exact"}, &corev1.PodList{}); !errors.Is(err, storage.ErrExpired) {
		t.Fatalf("exact list at compacted rv: %v, want ErrExpired", err)
	}
	// A fresh watch from the current list works and sees changes.
	list := &corev1.PodList{}
	if err := s.GetList(ctx, "/registry/pods/cmp", storage.ListOptions{Recursive: true}, list); err != nil {
		t.Fatal(err)
	}
	w, err = s.Watch(ctx, "/registry/pods/cmp", storage.ListOptions{ResourceVersion: list.ResourceVersion, Recursive: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	storageMustCreate(t, s, storagePod("cmp", "after", nil))
	if typ, p := storageNextObject(t, w); typ != watch.Added || p.Name != "after" {
		t.Fatalf("after compaction: %s %s", typ, p.Name)
	}
}

// TestStorageRestartPersistence closes and reopens the embedded etcd:
// objects and resourceVersions are intact, and the client URL is kept.
func TestStorageRestartPersistence(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "etcd")
	e := storageStartEmbedded(t, dir)
	b := &storageBackend{name: "embedded", client: e.Client(), endpoint: e.ClientURL()}
	s := storage.New(b.client, storageCodec())
	want := map[string]string{}
	for i := 0; i < 5; i++ {
		p := storageMustCreate(t, s, storagePod("persist", fmt.Sprintf("p%d", i), nil))
		want[p.Name] = p.ResourceVersion
	}
	s.Close()
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	e = storageStartEmbedded(t, dir)
	defer e.Close()
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("embedded etcd restart took %s, want < 2s", d)
	}
	if e.ClientURL() != b.endpoint {
		t.Errorf("client URL changed across restarts: %s -> %s", b.endpoint, e.ClientURL())
	}
	s = storage.New(e.Client(), storageCodec())
	defer s.Close()
	list := &corev1.PodList{}
	if err := s.GetList(storageCtx(t), "/registry/pods/persist", storage.ListOptions{Recursive: true}, list); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != len(want) {
		t.Fatalf("after restart: %d pods, want %d", len(list.Items), len(want))
	}
	for _, p := range list.Items {
		if want[p.Name] != p.ResourceVersion {
			t.Fatalf("%s: rv %s after restart, want %s", p.Name, p.ResourceVersion, want[p.Name])
		}
	}
}

// storageProxy forwards TCP connections to target and can cut them all,
// to make a store lose etcd for a while.
type storageProxy struct {
	l      net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
	down   bool
}

func storageStartProxy(t *testing.T, target string) *storageProxy {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &storageProxy{l: l, target: target}
	t.Cleanup(func() {
		l.Close()
		p.cut()
	})
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			down := p.down
			p.mu.Unlock()
			if down {
				c.Close()
				continue
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			go func() { io.Copy(u, c); u.Close() }()
			go func() { io.Copy(c, u); c.Close() }()
		}
	}()
	return p
}

func (p *storageProxy) url() string { return "http://" + p.l.Addr().String() }

func (p *storageProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *storageProxy) resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = false
}

// TestStorageCacheRelistsAfterOwnCompaction: the watch cache loses etcd,
// etcd compacts past the cache's position meanwhile, and the cache relists:
// its watchers are ended, old resourceVersions expire, and new watches see
// the writes made while it was away.
func TestStorageCacheRelistsAfterOwnCompaction(t *testing.T) {
	e := storageStartEmbedded(t, filepath.Join(t.TempDir(), "etcd"))
	defer e.Close()
	proxy := storageStartProxy(t, strings.TrimPrefix(e.ClientURL(), "http://"))
	client, err := storage.NewClient(storage.ClientConfig{Endpoints: []string{proxy.url()}})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ctx := storageCtx(t)
	s := storage.New(client, storageCodec())
	defer s.Close()
	direct := storage.New(e.Client(), storageCodec())
	defer direct.Close()
	if err := s.StartWatchCache(ctx, "/registry/pods"); err != nil {
		t.Fatal(err)
	}
	w, err := s.Watch(ctx, "/registry/pods/own", storage.ListOptions{Recursive: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	a := storageMustCreate(t, s, storagePod("own", "a", nil))
	if typ, p := storageNextObject(t, w); typ != watch.Added || p.Name != "a" {
		t.Fatalf("%s %s", typ, p.Name)
	}

	proxy.cut()
	storageMustCreate(t, direct, storagePod("own", "b", nil))
	storageMustCreate(t, direct, storagePod("own", "c", nil))
	rev, err := direct.CurrentRevision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := storage.Compact(ctx, e.Client(), rev); err != nil {
		t.Fatal(err)
	}
	proxy.resume()

	// The old watcher is ended by the relist (it may first see nothing).
	deadline := time.After(30 * time.Second)
	for ended := false; !ended; {
		select {
		case _, ok := <-w.ResultChan():
			ended = !ok
		case <-deadline:
			t.Fatal("watcher not ended after the cache relisted")
		}
	}
	if _, err := s.Watch(ctx, "/registry/pods/own", storage.ListOptions{Recursive: true, ResourceVersion: a.ResourceVersion}); !errors.Is(err, storage.ErrExpired) {
		t.Fatalf("watch from before the compaction: %v, want ErrExpired", err)
	}
	w2, err := s.Watch(ctx, "/registry/pods/own", storage.ListOptions{Recursive: true, ResourceVersion: "0"})
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Stop()
	for _, name := range []string{"a", "b", "c"} {
		if typ, p := storageNextObject(t, w2); typ != watch.Added || p.Name != name {
			t.Fatalf("after relist: %s %s, want ADDED %s", typ, p.Name, name)
		}
	}
	storageMustCreate(t, direct, storagePod("own", "d", nil))
	if typ, p := storageNextObject(t, w2); typ != watch.Added || p.Name != "d" {
		t.Fatalf("live after relist: %s %s", typ, p.Name)
	}
}
