package apiserver

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/peapod/peapod/internal/storage"
)

// memStore is a small in-memory storage.Interface for the edge's unit
// tests: revisions, history for watches, compaction.
type memStore struct {
	mu        sync.Mutex
	rev       int64
	objs      map[string]runtime.Object
	history   []memEvent
	compacted int64
	watchers  map[*memWatcher]bool
}

type memEvent struct {
	rev  int64
	key  string
	typ  watch.EventType
	obj  runtime.Object
	prev runtime.Object
}

var _ storage.Interface = (*memStore)(nil)

func newMemStore() *memStore {
	return &memStore{objs: map[string]runtime.Object{}, watchers: map[*memWatcher]bool{}}
}

func setRV(obj runtime.Object, rev int64) {
	acc, _ := meta.Accessor(obj)
	acc.SetResourceVersion(strconv.FormatInt(rev, 10))
}

func copyInto(dst, src runtime.Object) {
	reflect.ValueOf(dst).Elem().Set(reflect.ValueOf(src.DeepCopyObject()).Elem())
}

func mustUnstructured(o runtime.Object) map[string]any {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
	if err != nil {
		panic(err)
	}
	return m
}

func (m *memStore) emit(ev memEvent) {
	m.history = append(m.history, ev)
	for w := range m.watchers {
		w.send(ev)
	}
}

func (m *memStore) Create(ctx context.Context, key string, obj, out runtime.Object) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.objs[key]; ok {
		return fmt.Errorf("%q: %w", key, storage.ErrKeyExists)
	}
	if data, _ := runtime.DefaultUnstructuredConverter.ToUnstructured(obj); len(fmt.Sprint(data)) > 1536*1024 {
		return fmt.Errorf("%q: %w", key, storage.ErrTooLarge)
	}
	m.rev++
	c := obj.DeepCopyObject()
	setRV(c, m.rev)
	m.objs[key] = c
	copyInto(out, c)
	m.emit(memEvent{rev: m.rev, key: key, typ: watch.Added, obj: c})
	return nil
}

func (m *memStore) Get(ctx context.Context, key string, rv string, out runtime.Object, ignoreNotFound bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.objs[key]
	if !ok {
		if ignoreNotFound {
			return nil
		}
		return fmt.Errorf("%q: %w", key, storage.ErrNotFound)
	}
	copyInto(out, o)
	return nil
}

func (m *memStore) sortedKeys(prefix string) []string {
	var keys []string
	for k := range m.objs {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

func (m *memStore) GetList(ctx context.Context, key string, opts storage.ListOptions, listObj runtime.Object) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var items []runtime.Object
	for _, k := range m.sortedKeys(key) {
		ok, err := opts.Predicate.Matches(m.objs[k])
		if err != nil {
			return err
		}
		if ok {
			items = append(items, m.objs[k].DeepCopyObject())
		}
	}
	if err := meta.SetList(listObj, items); err != nil {
		return err
	}
	la, _ := meta.ListAccessor(listObj)
	la.SetResourceVersion(strconv.FormatInt(m.rev, 10))
	return nil
}

func checkPre(obj runtime.Object, p *storage.Preconditions) error {
	if p == nil {
		return nil
	}
	acc, _ := meta.Accessor(obj)
	if p.UID != nil && *p.UID != acc.GetUID() {
		return storage.ErrConflict
	}
	if p.ResourceVersion != nil && *p.ResourceVersion != acc.GetResourceVersion() {
		return storage.ErrConflict
	}
	return nil
}

func (m *memStore) GuaranteedUpdate(ctx context.Context, key string, out runtime.Object, ignoreNotFound bool, pre *storage.Preconditions, try storage.UpdateFunc) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	cur, ok := m.objs[key]
	if !ok {
		return fmt.Errorf("%q: %w", key, storage.ErrNotFound)
	}
	if err := checkPre(cur, pre); err != nil {
		return err
	}
	next, err := try(cur.DeepCopyObject())
	if err != nil {
		return err
	}
	acc, _ := meta.Accessor(next)
	curAcc, _ := meta.Accessor(cur)
	if rv := acc.GetResourceVersion(); rv != "" && rv != curAcc.GetResourceVersion() {
		return fmt.Errorf("%q: %w", key, storage.ErrConflict)
	}
	acc.SetResourceVersion(curAcc.GetResourceVersion())
	next.GetObjectKind().SetGroupVersionKind(cur.GetObjectKind().GroupVersionKind())
	if equality.Semantic.DeepEqual(mustUnstructured(next), mustUnstructured(cur)) {
		copyInto(out, cur)
		return nil
	}
	m.rev++
	c := next.DeepCopyObject()
	setRV(c, m.rev)
	m.objs[key] = c
	copyInto(out, c)
	m.emit(memEvent{rev: m.rev, key: key, typ: watch.Modified, obj: c, prev: cur})
	return nil
}

func (m *memStore) Delete(ctx context.Context, key string, out runtime.Object, pre *storage.Preconditions, validate storage.ValidateDeleteFunc) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	cur, ok := m.objs[key]
	if !ok {
		return fmt.Errorf("%q: %w", key, storage.ErrNotFound)
	}
	if err := checkPre(cur, pre); err != nil {
		return err
	}
	if validate != nil {
		if err := validate(ctx, cur); err != nil {
			return err
		}
	}
	delete(m.objs, key)
	m.rev++
	c := cur.DeepCopyObject()
	setRV(c, m.rev)
	copyInto(out, cur)
	m.emit(memEvent{rev: m.rev, key: key, typ: watch.Deleted, obj: c})
	return nil
}

// compact forgets history up to the current revision.
func (m *memStore) compact() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.compacted = m.rev
	m.history = nil
}

func (m *memStore) Watch(ctx context.Context, key string, opts storage.ListOptions) (watch.Interface, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	w := &memWatcher{ch: make(chan watch.Event, 1000), prefix: key, pred: opts.Predicate, done: make(chan struct{})}
	switch opts.ResourceVersion {
	case "", "0":
		for _, k := range m.sortedKeys(key) {
			w.send(memEvent{key: k, typ: watch.Added, obj: m.objs[k]})
		}
	default:
		rv, err := strconv.ParseInt(opts.ResourceVersion, 10, 64)
		if err != nil {
			return nil, storage.ErrInvalidRV
		}
		if rv < m.compacted {
			return nil, fmt.Errorf("too old resource version: %d (%d): %w", rv, m.compacted, storage.ErrExpired)
		}
		for _, ev := range m.history {
			if ev.rev > rv {
				w.send(ev)
			}
		}
	}
	m.watchers[w] = true
	go func() {
		select {
		case <-ctx.Done():
		case <-w.done:
		}
		m.mu.Lock()
		delete(m.watchers, w)
		m.mu.Unlock()
		w.stopOnce.Do(func() { close(w.ch) })
	}()
	return w, nil
}

func (m *memStore) CurrentRevision(ctx context.Context) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.rev, nil
}

type memWatcher struct {
	ch       chan watch.Event
	prefix   string
	pred     storage.SelectionPredicate
	done     chan struct{}
	doneOnce sync.Once
	stopOnce sync.Once
}

func (w *memWatcher) send(ev memEvent) {
	if !strings.HasPrefix(ev.key, w.prefix) {
		return
	}
	if ok, _ := w.pred.Matches(ev.obj); !ok {
		return
	}
	select {
	case w.ch <- watch.Event{Type: ev.typ, Object: ev.obj.DeepCopyObject()}:
	default:
	}
}

func (w *memWatcher) Stop()                          { w.doneOnce.Do(func() { close(w.done) }) }
func (w *memWatcher) ResultChan() <-chan watch.Event { return w.ch }

var _ = metav1.Now
