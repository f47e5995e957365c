package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
)

// MaxObjectSize is the largest encoded object the store accepts (1.5 MiB,
// etcd's default request limit); larger ones fail with ErrTooLarge.
const MaxObjectSize = 3 << 19

// Store is Interface on etcd v3. Create it with New; it is safe for
// concurrent use. Close stops its watch caches.
type Store struct {
	client      *clientv3.Client
	codec       Codec
	transformer Transformer
	maxSize     int
	cacheCfg    cacherConfig
	newFuncs    map[string]func() runtime.Object

	progressOnce sync.Once
	progressOK   bool

	revs *revisionBatcher // shares reads of etcd's current revision

	mu      sync.Mutex
	caches  map[string]*cacher // by resource prefix, "/registry/pods/"
	closed  bool
	stopAll context.CancelFunc
	baseCtx context.Context
}

var _ Interface = (*Store)(nil)

// Option configures a Store.
type Option func(*Store)

// WithTransformer sets the value transformer (encryption at rest), for
// example SecretsEncryption(aesgcm). The default stores values unchanged.
func WithTransformer(t Transformer) Option { return func(s *Store) { s.transformer = t } }

// WithMaxObjectSize overrides MaxObjectSize (tests).
func WithMaxObjectSize(n int) Option { return func(s *Store) { s.maxSize = n } }

// WithWatchCacheSize sets how many recent events each watch cache keeps
// (default 1024); a watch from an older resourceVersion gets 410 Expired.
func WithWatchCacheSize(n int) Option { return func(s *Store) { s.cacheCfg.bufferSize = n } }

// WithWatcherBuffer sets how many events a watcher may fall behind before
// the watch cache waits for it and then ends it (default 1000; see
// timeBudget). Only events the watcher selects count.
func WithWatcherBuffer(n int) Option { return func(s *Store) { s.cacheCfg.watcherBuffer = n } }

// WithBookmarkInterval sets how often idle watchers that asked for
// bookmarks get one (default 1s).
func WithBookmarkInterval(d time.Duration) Option {
	return func(s *Store) { s.cacheCfg.bookmarkInterval = d }
}

// WithLogger sets where the watch caches log (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(s *Store) { s.cacheCfg.logger = l } }

// WithNewFunc tells the watch cache of keyPrefix (such as
// "/registry/pods/") which type it holds, for BOOKMARK events of an empty
// collection. Without it the type is guessed from the scheme.
func WithNewFunc(keyPrefix string, newFunc func() runtime.Object) Option {
	return func(s *Store) { s.newFuncs[keyPrefix] = newFunc }
}

// New returns a store on client. codec (NewCodec(scheme)) encodes the
// values; objects passed to the store must be registered in its scheme.
func New(client *clientv3.Client, codec Codec, opts ...Option) *Store {
	ctx, cancel := context.WithCancel(context.Background())
	s := &Store{
		client:      client,
		codec:       codec,
		transformer: IdentityTransformer{},
		maxSize:     MaxObjectSize,
		cacheCfg:    defaultCacherConfig(),
		newFuncs:    map[string]func() runtime.Object{},
		caches:      map[string]*cacher{},
		baseCtx:     ctx,
		stopAll:     cancel,
	}
	s.revs = newRevisionBatcher(s.readRevision)
	for _, o := range opts {
		o(s)
	}
	return s
}

// Close stops the watch caches (their watchers see their channels close).
// It does not close the etcd client.
func (s *Store) Close() {
	s.mu.Lock()
	s.closed = true
	caches := s.caches
	s.caches = map[string]*cacher{}
	s.mu.Unlock()
	s.stopAll()
	for _, c := range caches {
		c.wait()
	}
}

// Client returns the etcd client of the store.
func (s *Store) Client() *clientv3.Client { return s.client }

// wrapErr maps etcd client errors to the sentinels of this package.
func wrapErr(key string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, rpctypes.ErrCompacted):
		return fmt.Errorf("%q: %w: %v", key, ErrExpired, err)
	case errors.Is(err, rpctypes.ErrFutureRev):
		return fmt.Errorf("%q: %w: too large resource version: %v", key, ErrTimeout, err)
	case errors.Is(err, rpctypes.ErrRequestTooLarge):
		return fmt.Errorf("%q: %w: %v", key, ErrTooLarge, err)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, rpctypes.ErrTimeout),
		errors.Is(err, rpctypes.ErrTimeoutDueToLeaderFail), errors.Is(err, rpctypes.ErrTimeoutDueToConnectionLost):
		return fmt.Errorf("%q: %w: %v", key, ErrTimeout, err)
	}
	return fmt.Errorf("%q: %w", key, err)
}

// parseRV parses a resourceVersion; "" and "0" are 0.
func parseRV(rv string) (int64, error) {
	if rv == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(rv, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q: %w", rv, ErrInvalidRV)
	}
	return n, nil
}

func setRV(obj runtime.Object, rev int64) error {
	acc, err := meta.Accessor(obj)
	if err != nil {
		return err
	}
	acc.SetResourceVersion(strconv.FormatInt(rev, 10))
	return nil
}

// zero resets *obj so decoding does not merge into old content.
func zero(obj runtime.Object) {
	v := reflect.ValueOf(obj)
	if v.Kind() == reflect.Pointer && !v.IsNil() {
		v.Elem().Set(reflect.Zero(v.Elem().Type()))
	}
}

// newLike returns a new empty object of obj's type.
func newLike(obj runtime.Object) runtime.Object {
	return reflect.New(reflect.TypeOf(obj).Elem()).Interface().(runtime.Object)
}

// encode returns the plain (codec) bytes and the stored (transformed)
// bytes of obj, whose resourceVersion must already be empty.
func (s *Store) encode(ctx context.Context, key string, obj runtime.Object) (plain, stored []byte, err error) {
	plain, err = s.codec.Encode(obj)
	if err != nil {
		return nil, nil, fmt.Errorf("%q: %w", key, err)
	}
	if len(plain) > s.maxSize {
		return nil, nil, fmt.Errorf("%q: %w: %d bytes encoded, the limit is %d", key, ErrTooLarge, len(plain), s.maxSize)
	}
	stored, err = s.transformer.TransformToStorage(ctx, plain, key)
	if err != nil {
		return nil, nil, fmt.Errorf("%q: %w", key, err)
	}
	return plain, stored, nil
}

// decodePlain decodes codec bytes into into and sets its resourceVersion.
func (s *Store) decodePlain(key string, plain []byte, into runtime.Object, rev int64) error {
	zero(into)
	if _, err := s.codec.Decode(plain, into); err != nil {
		return fmt.Errorf("%q: %w", key, err)
	}
	return setRV(into, rev)
}

// untransform returns the plain bytes of a stored value.
func (s *Store) untransform(ctx context.Context, key string, value []byte) (plain []byte, stale bool, err error) {
	plain, stale, err = s.transformer.TransformFromStorage(ctx, value, key)
	if err != nil {
		return nil, false, fmt.Errorf("%q: %w", key, err)
	}
	return plain, stale, nil
}

// decodeKV decodes a stored key-value into into.
func (s *Store) decodeKV(ctx context.Context, kv *mvccpb.KeyValue, into runtime.Object) error {
	key := string(kv.Key)
	plain, _, err := s.untransform(ctx, key, kv.Value)
	if err != nil {
		return err
	}
	return s.decodePlain(key, plain, into, kv.ModRevision)
}

// Create implements Interface.
func (s *Store) Create(ctx context.Context, key string, obj, out runtime.Object) error {
	acc, err := meta.Accessor(obj)
	if err != nil {
		return fmt.Errorf("%q: %w", key, err)
	}
	if acc.GetResourceVersion() != "" {
		return fmt.Errorf("%q: resourceVersion must not be set on create: %w", key, ErrInvalidRV)
	}
	plain, stored, err := s.encode(ctx, key, obj)
	if err != nil {
		return err
	}
	resp, err := s.client.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, string(stored))).
		Commit()
	if err != nil {
		return wrapErr(key, err)
	}
	if !resp.Succeeded {
		return fmt.Errorf("%q: %w", key, ErrKeyExists)
	}
	if out != nil {
		return s.decodePlain(key, plain, out, resp.Header.Revision)
	}
	return nil
}

// Get implements Interface.
func (s *Store) Get(ctx context.Context, key string, resourceVersion string, out runtime.Object, ignoreNotFound bool) error {
	minRV, err := parseRV(resourceVersion)
	if err != nil {
		return fmt.Errorf("%q: %w", key, err)
	}
	if served, err := s.consistentGetFromCache(ctx, key, minRV, out); served || err != nil {
		return err
	}
	resp, err := s.client.Get(ctx, key)
	if err != nil {
		return wrapErr(key, err)
	}
	if minRV > resp.Header.Revision {
		return fmt.Errorf("%q: %w: too large resource version %d, current %d", key, ErrTimeout, minRV, resp.Header.Revision)
	}
	if len(resp.Kvs) == 0 {
		if ignoreNotFound {
			zero(out)
			return nil
		}
		return fmt.Errorf("%q: %w", key, ErrNotFound)
	}
	return s.decodeKV(ctx, resp.Kvs[0], out)
}

// CurrentRevision implements Interface. Concurrent calls share etcd
// requests (revisionBatcher): each still gets a revision at least as new as
// etcd's at the time of its call.
func (s *Store) CurrentRevision(ctx context.Context) (int64, error) {
	rev, err := s.revs.get(ctx)
	if err != nil && ctx.Err() != nil {
		return 0, wrapErr(compactRevKey, ctx.Err())
	}
	return rev, err
}

// readRevision reads etcd's current revision (a linearizable read).
func (s *Store) readRevision(ctx context.Context) (int64, error) {
	resp, err := s.client.Get(ctx, compactRevKey, clientv3.WithCountOnly())
	if err != nil {
		return 0, wrapErr(compactRevKey, err)
	}
	return resp.Header.Revision, nil
}

// checkPreconditions returns ErrConflict when obj does not satisfy p.
func checkPreconditions(key string, p *Preconditions, obj runtime.Object) error {
	if p == nil {
		return nil
	}
	acc, err := meta.Accessor(obj)
	if err != nil {
		return fmt.Errorf("%q: %w", key, err)
	}
	if p.UID != nil && *p.UID != acc.GetUID() {
		return fmt.Errorf("%q: precondition failed: UID in precondition: %s, UID in object meta: %s: %w", key, *p.UID, acc.GetUID(), ErrConflict)
	}
	if p.ResourceVersion != nil && *p.ResourceVersion != acc.GetResourceVersion() {
		return fmt.Errorf("%q: precondition failed: ResourceVersion in precondition: %s, ResourceVersion in object meta: %s: %w", key, *p.ResourceVersion, acc.GetResourceVersion(), ErrConflict)
	}
	return nil
}

// current is the state of one key read from etcd.
type current struct {
	exists bool
	rev    int64
	plain  []byte
	stale  bool
	obj    runtime.Object
}

// readCurrent decodes the state of key from kvs (empty: absent) into a new
// object of like's type, or of the stored kind when like is nil.
func (s *Store) readCurrent(ctx context.Context, key string, kvs []*mvccpb.KeyValue, like runtime.Object) (*current, error) {
	c := &current{}
	if like != nil {
		c.obj = newLike(like)
	}
	if len(kvs) == 0 {
		return c, nil
	}
	kv := kvs[0]
	plain, stale, err := s.untransform(ctx, key, kv.Value)
	if err != nil {
		return nil, err
	}
	if c.obj == nil {
		obj, err := s.codec.Decode(plain, nil)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", key, err)
		}
		c.obj = obj
		if err := setRV(obj, kv.ModRevision); err != nil {
			return nil, fmt.Errorf("%q: %w", key, err)
		}
	} else if err := s.decodePlain(key, plain, c.obj, kv.ModRevision); err != nil {
		return nil, err
	}
	c.exists, c.rev, c.plain, c.stale = true, kv.ModRevision, plain, stale
	return c, nil
}

// GuaranteedUpdate implements Interface. out must be a non-nil pointer of
// the stored type.
func (s *Store) GuaranteedUpdate(ctx context.Context, key string, out runtime.Object, ignoreNotFound bool,
	preconditions *Preconditions, tryUpdate UpdateFunc) error {
	if out == nil {
		return fmt.Errorf("%q: GuaranteedUpdate needs an out object", key)
	}
	getResp, err := s.client.Get(ctx, key)
	if err != nil {
		return wrapErr(key, err)
	}
	cur, err := s.readCurrent(ctx, key, getResp.Kvs, out)
	if err != nil {
		return err
	}
	for {
		if err := ctx.Err(); err != nil {
			return wrapErr(key, err)
		}
		if !cur.exists && !ignoreNotFound {
			return fmt.Errorf("%q: %w", key, ErrNotFound)
		}
		if cur.exists {
			if err := checkPreconditions(key, preconditions, cur.obj); err != nil {
				return err
			}
		}
		updated, err := tryUpdate(cur.obj)
		if err != nil {
			return err
		}
		acc, err := meta.Accessor(updated)
		if err != nil {
			return fmt.Errorf("%q: %w", key, err)
		}
		if rv := acc.GetResourceVersion(); rv != "" {
			n, err := parseRV(rv)
			if err != nil {
				return fmt.Errorf("%q: %w", key, err)
			}
			if n != cur.rev {
				return fmt.Errorf("%q: the object has been modified (resourceVersion %s, stored %d): %w", key, rv, cur.rev, ErrConflict)
			}
		}
		acc.SetResourceVersion("")
		plain, stored, err := s.encode(ctx, key, updated)
		if err != nil {
			return err
		}
		if cur.exists && !cur.stale && bytes.Equal(plain, cur.plain) {
			return s.decodePlain(key, cur.plain, out, cur.rev)
		}
		cmp := clientv3.Compare(clientv3.ModRevision(key), "=", cur.rev)
		if !cur.exists {
			cmp = clientv3.Compare(clientv3.CreateRevision(key), "=", 0)
		}
		resp, err := s.client.Txn(ctx).If(cmp).
			Then(clientv3.OpPut(key, string(stored))).
			Else(clientv3.OpGet(key)).
			Commit()
		if err != nil {
			return wrapErr(key, err)
		}
		if !resp.Succeeded {
			cur, err = s.readCurrent(ctx, key, resp.Responses[0].GetResponseRange().Kvs, out)
			if err != nil {
				return err
			}
			continue
		}
		return s.decodePlain(key, plain, out, resp.Header.Revision)
	}
}

// Delete implements Interface. out may be nil.
func (s *Store) Delete(ctx context.Context, key string, out runtime.Object, preconditions *Preconditions,
	validate ValidateDeleteFunc) error {
	getResp, err := s.client.Get(ctx, key)
	if err != nil {
		return wrapErr(key, err)
	}
	cur, err := s.readCurrent(ctx, key, getResp.Kvs, out)
	if err != nil {
		return err
	}
	for {
		if !cur.exists {
			return fmt.Errorf("%q: %w", key, ErrNotFound)
		}
		if err := checkPreconditions(key, preconditions, cur.obj); err != nil {
			return err
		}
		if validate != nil {
			if err := validate(ctx, cur.obj); err != nil {
				return err
			}
		}
		resp, err := s.client.Txn(ctx).
			If(clientv3.Compare(clientv3.ModRevision(key), "=", cur.rev)).
			Then(clientv3.OpDelete(key)).
			Else(clientv3.OpGet(key)).
			Commit()
		if err != nil {
			return wrapErr(key, err)
		}
		if !resp.Succeeded {
			cur, err = s.readCurrent(ctx, key, resp.Responses[0].GetResponseRange().Kvs, out)
			if err != nil {
				return err
			}
			continue
		}
		if out != nil {
			return s.decodePlain(key, cur.plain, out, resp.Header.Revision)
		}
		return nil
	}
}

// listPrefix returns the etcd prefix a recursive list or watch of key covers.
func listPrefix(key string) string {
	if !strings.HasSuffix(key, "/") {
		return key + "/"
	}
	return key
}
