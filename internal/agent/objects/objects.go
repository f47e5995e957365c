// Package objects is the agent's source of Secrets, ConfigMaps and service
// account tokens for the pods it runs (volume.ObjectSource).
//
// Each referenced object gets its own watch (a list+watch with a
// metadata.name field selector in its namespace, as the kubelet's
// watch-based manager does), started on first use; reads come from the
// watch's cache, so an update reaches the pods' files as fast as the watch
// delivers it. Subscribers hear of every add, update and delete. Tokens
// come from the TokenRequest API, cached and renewed past 80% of their
// life (or after 24 h).
package objects

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/peapod/peapod/internal/agent/volume"
)

// SyncTimeout bounds a direct read while a new watch lists.
const SyncTimeout = 10 * time.Second

// IdleWatch is how long a watch lives without reads. Pods with volumes
// read their objects at least every minute, so only objects no pod
// uses any more (or used only for env, fixed at container start) lapse;
// the next read starts a new watch.
const IdleWatch = 2 * time.Minute

// Source is a volume.ObjectSource on an API client.
type Source struct {
	client kubernetes.Interface
	now    func() time.Time
	logf   func(string, ...any)

	mu      sync.Mutex
	watches map[volume.ObjectRef]*objectWatch
	subs    []func(volume.ObjectRef)
	stop    chan struct{}
	stopped bool

	tokens *tokenCache
}

var (
	_ volume.ObjectSource = (*Source)(nil)
	_ volume.Notifier     = (*Source)(nil)
)

// New returns a source on client; now may be nil (the clock).
func New(client kubernetes.Interface, now func() time.Time, logf func(string, ...any)) *Source {
	if now == nil {
		now = time.Now
	}
	if logf == nil {
		logf = func(string, ...any) {}
	}
	return &Source{
		client: client, now: now, logf: logf,
		watches: map[volume.ObjectRef]*objectWatch{},
		stop:    make(chan struct{}),
		tokens:  newTokenCache(client, now),
	}
}

// Stop ends every watch.
func (s *Source) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.stopped {
		s.stopped = true
		close(s.stop)
	}
}

// Subscribe registers fn for changes of any watched object.
func (s *Source) Subscribe(fn func(volume.ObjectRef)) {
	s.mu.Lock()
	s.subs = append(s.subs, fn)
	s.mu.Unlock()
}

func (s *Source) notify(ref volume.ObjectRef) {
	s.mu.Lock()
	subs := make([]func(volume.ObjectRef), len(s.subs))
	copy(subs, s.subs)
	s.mu.Unlock()
	for _, fn := range subs {
		fn(ref)
	}
}

// GetSecret returns the Secret from its watch's cache.
func (s *Source) GetSecret(namespace, name string) (*v1.Secret, error) {
	obj, err := s.get(volume.ObjectRef{Kind: "Secret", Namespace: namespace, Name: name})
	if err != nil {
		return nil, err
	}
	return obj.(*v1.Secret), nil
}

// GetConfigMap returns the ConfigMap from its watch's cache.
func (s *Source) GetConfigMap(namespace, name string) (*v1.ConfigMap, error) {
	obj, err := s.get(volume.ObjectRef{Kind: "ConfigMap", Namespace: namespace, Name: name})
	if err != nil {
		return nil, err
	}
	return obj.(*v1.ConfigMap), nil
}

// objectWatch is one object's informer.
type objectWatch struct {
	informer cache.SharedIndexInformer
	stop     chan struct{}
	mu       sync.Mutex
	lastErr  error
	lastUsed time.Time
}

func (w *objectWatch) used(now time.Time) {
	w.mu.Lock()
	w.lastUsed = now
	w.mu.Unlock()
}

func (w *objectWatch) idleSince() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lastUsed
}

// GC stops the watches not read for IdleWatch; it returns how many remain.
func (s *Source) GC() int {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for ref, w := range s.watches {
		if now.Sub(w.idleSince()) > IdleWatch {
			close(w.stop)
			delete(s.watches, ref)
		}
	}
	return len(s.watches)
}

// Run collects idle watches until ctx ends, then stops every watch.
func (s *Source) Run(ctx context.Context) {
	t := time.NewTicker(IdleWatch / 4)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			s.Stop()
			return
		case <-t.C:
			s.GC()
		}
	}
}

func (w *objectWatch) err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lastErr
}

func (s *Source) get(ref volume.ObjectRef) (runtime.Object, error) {
	kind := "secret"
	if ref.Kind == "ConfigMap" {
		kind = "configmap"
	}
	w, err := s.watchFor(ref)
	if err != nil {
		return nil, err
	}
	w.used(s.now())
	if !w.informer.HasSynced() {
		// A new watch is still listing: read the object directly once
		// (one GET instead of waiting for the list; the watch takes over).
		return s.direct(ref, kind, w)
	}
	obj, ok, err := w.informer.GetStore().GetByKey(ref.Namespace + "/" + ref.Name)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, volume.NotFound(kind, ref.Name)
	}
	return obj.(runtime.Object), nil
}

// direct GETs ref while its watch syncs.
func (s *Source) direct(ref volume.ObjectRef, kind string, w *objectWatch) (runtime.Object, error) {
	ctx, cancel := context.WithTimeout(context.Background(), SyncTimeout)
	defer cancel()
	var obj runtime.Object
	var err error
	if ref.Kind == "Secret" {
		obj, err = s.client.CoreV1().Secrets(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
	} else {
		obj, err = s.client.CoreV1().ConfigMaps(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
	}
	if apierrors.IsNotFound(err) {
		return nil, volume.NotFound(kind, ref.Name)
	}
	if err != nil {
		if e := w.err(); e != nil {
			err = e
		}
		return nil, fmt.Errorf("%s %q: %w", kind, ref.Name, err)
	}
	return obj, nil
}

// mergeStop closes when either a or b does.
func mergeStop(a, b <-chan struct{}) <-chan struct{} {
	out := make(chan struct{})
	go func() {
		select {
		case <-a:
		case <-b:
		}
		close(out)
	}()
	return out
}

// watchFor returns ref's watch, starting it on first use.
func (s *Source) watchFor(ref volume.ObjectRef) (*objectWatch, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if w, ok := s.watches[ref]; ok {
		return w, nil
	}
	if s.stopped {
		return nil, errors.New("object source stopped")
	}
	sel := fields.OneTermEqualSelector("metadata.name", ref.Name).String()
	opts := func(o *metav1.ListOptions) { o.FieldSelector = sel }
	var lw *cache.ListWatch
	var example runtime.Object
	if ref.Kind == "Secret" {
		c := s.client.CoreV1().Secrets(ref.Namespace)
		example = &v1.Secret{}
		lw = &cache.ListWatch{
			ListFunc: func(o metav1.ListOptions) (runtime.Object, error) {
				opts(&o)
				return c.List(context.Background(), o)
			},
			WatchFunc: func(o metav1.ListOptions) (watch.Interface, error) {
				opts(&o)
				return c.Watch(context.Background(), o)
			},
		}
	} else {
		c := s.client.CoreV1().ConfigMaps(ref.Namespace)
		example = &v1.ConfigMap{}
		lw = &cache.ListWatch{
			ListFunc: func(o metav1.ListOptions) (runtime.Object, error) {
				opts(&o)
				return c.List(context.Background(), o)
			},
			WatchFunc: func(o metav1.ListOptions) (watch.Interface, error) {
				opts(&o)
				return c.Watch(context.Background(), o)
			},
		}
	}
	w := &objectWatch{informer: cache.NewSharedIndexInformer(lw, example, 0, cache.Indexers{}), stop: make(chan struct{}), lastUsed: s.now()}
	w.informer.SetWatchErrorHandler(func(_ *cache.Reflector, err error) {
		w.mu.Lock()
		w.lastErr = err
		w.mu.Unlock()
		s.logf("objects: watching %s %s/%s: %v", ref.Kind, ref.Namespace, ref.Name, err)
	})
	notify := func(any) { s.notify(ref) }
	w.informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    notify,
		UpdateFunc: func(_, n any) { s.notify(ref) },
		DeleteFunc: notify,
	})
	s.watches[ref] = w
	go w.informer.Run(mergeStop(s.stop, w.stop))
	return w, nil
}
