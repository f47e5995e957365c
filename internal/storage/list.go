package storage

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	goruntime "runtime"
	"strconv"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
)

// listItems appends decoded objects to the Items slice of a list object.
type listItems struct {
	slice   reflect.Value // the Items slice (settable)
	elem    reflect.Type  // its element type: T or *T
	isPtr   bool
	objType reflect.Type // T
}

func newListItems(listObj runtime.Object) (*listItems, error) {
	ptr, err := meta.GetItemsPtr(listObj)
	if err != nil {
		return nil, err
	}
	v := reflect.ValueOf(ptr).Elem()
	if v.Kind() != reflect.Slice {
		return nil, fmt.Errorf("%T: items is not a slice", listObj)
	}
	l := &listItems{slice: v, elem: v.Type().Elem()}
	switch {
	case l.elem.Kind() == reflect.Pointer && l.elem.Elem().Kind() == reflect.Struct:
		l.isPtr, l.objType = true, l.elem.Elem()
	case l.elem.Kind() == reflect.Struct:
		l.objType = l.elem
	default:
		return nil, fmt.Errorf("%T: unsupported item type %s", listObj, l.elem)
	}
	if !reflect.PointerTo(l.objType).Implements(reflect.TypeOf((*runtime.Object)(nil)).Elem()) {
		return nil, fmt.Errorf("%T: item type %s is not a runtime.Object", listObj, l.objType)
	}
	v.Set(reflect.MakeSlice(v.Type(), 0, 0))
	return l, nil
}

func (l *listItems) grow(n int) {
	if l.slice.Cap()-l.slice.Len() < n {
		ns := reflect.MakeSlice(l.slice.Type(), l.slice.Len(), l.slice.Len()+n)
		reflect.Copy(ns, l.slice)
		l.slice.Set(ns)
	}
}

// next returns a zero slot at the end of the slice to decode into; keep
// reports whether to keep it.
func (l *listItems) next() runtime.Object {
	n := l.slice.Len()
	l.grow(1)
	l.slice.SetLen(n + 1)
	slot := l.slice.Index(n)
	if l.isPtr {
		p := reflect.New(l.objType)
		slot.Set(p)
		return p.Interface().(runtime.Object)
	}
	return slot.Addr().Interface().(runtime.Object)
}

// drop removes the last slot (it did not match).
func (l *listItems) drop() {
	n := l.slice.Len() - 1
	l.slice.Index(n).Set(reflect.Zero(l.elem))
	l.slice.SetLen(n)
}

// add appends a copy of obj (shallow: the item shares maps and slices with obj).
func (l *listItems) add(obj runtime.Object) error {
	v := reflect.ValueOf(obj)
	if v.Type() != reflect.PointerTo(l.objType) {
		return fmt.Errorf("cannot put a %T into a list of %s", obj, l.objType)
	}
	if l.isPtr {
		l.slice.Set(reflect.Append(l.slice, v))
		return nil
	}
	l.slice.Set(reflect.Append(l.slice, v.Elem()))
	return nil
}

func (l *listItems) len() int { return l.slice.Len() }

// extend appends n zero items and returns pointers to them, to decode into.
func (l *listItems) extend(n int) []runtime.Object {
	start := l.slice.Len()
	l.grow(n)
	l.slice.SetLen(start + n)
	objs := make([]runtime.Object, n)
	for i := range objs {
		slot := l.slice.Index(start + i)
		if l.isPtr {
			p := reflect.New(l.objType)
			slot.Set(p)
			objs[i] = p.Interface().(runtime.Object)
			continue
		}
		objs[i] = slot.Addr().Interface().(runtime.Object)
	}
	return objs
}

// move copies item from to index to.
func (l *listItems) move(from, to int) { l.slice.Index(to).Set(l.slice.Index(from)) }

// truncate drops the items from index n on.
func (l *listItems) truncate(n int) {
	for i := n; i < l.slice.Len(); i++ {
		l.slice.Index(i).Set(reflect.Zero(l.elem))
	}
	l.slice.SetLen(n)
}

// parallelDecodeMin is the batch size from which decoding uses every CPU.
const parallelDecodeMin = 256

// decodeBatch decodes kvs into objs (same length) and reports which match
// pred. Large batches are decoded by GOMAXPROCS goroutines: decoding is
// most of the cost of a big list.
func (s *Store) decodeBatch(ctx context.Context, kvs []*mvccpb.KeyValue, objs []runtime.Object, pred SelectionPredicate) ([]bool, error) {
	matched := make([]bool, len(kvs))
	work := func(lo, hi int) error {
		for i := lo; i < hi; i++ {
			if err := s.decodeKV(ctx, kvs[i], objs[i]); err != nil {
				return err
			}
			ok, err := pred.Matches(objs[i])
			if err != nil {
				return fmt.Errorf("%q: %w", kvs[i].Key, err)
			}
			matched[i] = ok
		}
		return nil
	}
	return matched, parallelRange(len(kvs), work)
}

// parallelRange runs fn over [0, n) split into GOMAXPROCS contiguous parts
// (one part below parallelDecodeMin) and joins their errors.
func parallelRange(n int, fn func(lo, hi int) error) error {
	workers := goruntime.GOMAXPROCS(0)
	if n < parallelDecodeMin || workers < 2 {
		return fn(0, n)
	}
	errs := make([]error, workers)
	var wg sync.WaitGroup
	chunk := (n + workers - 1) / workers
	for w := 0; w < workers; w++ {
		lo, hi := w*chunk, min((w+1)*chunk, n)
		if lo >= hi {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[w] = fn(lo, hi)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func setListMeta(listObj runtime.Object, rev int64, cont string) error {
	acc, err := meta.ListAccessor(listObj)
	if err != nil {
		return err
	}
	acc.SetResourceVersion(strconv.FormatInt(rev, 10))
	acc.SetContinue(cont)
	acc.SetRemainingItemCount(nil)
	return nil
}

// GetList implements Interface. RV "0" (without continue) is served from
// the watch cache, ignoring Limit as kube-apiserver does. "" and "N"
// (NotOlderThan) without Limit are served from the watch cache too once it
// has caught up with etcd's current revision (a consistent read, as
// kube-apiserver's ConsistentListFromCache; only on etcd 3.5.13+), else
// from etcd. "N" with ResourceVersionMatch Exact reads the state at
// revision N, a continue token the revision of the first page (both
// ErrExpired once compacted).
func (s *Store) GetList(ctx context.Context, key string, opts ListOptions, listObj runtime.Object) error {
	pred := opts.Predicate
	if opts.ResourceVersion == "0" && pred.Continue == "" && opts.ResourceVersionMatch != "Exact" {
		if c := s.cacherFor(key); c != nil {
			return c.list(ctx, key, opts, listObj)
		}
	}
	if served, err := s.consistentListFromCache(ctx, key, opts, listObj); served || err != nil {
		return err
	}
	items, err := newListItems(listObj)
	if err != nil {
		return fmt.Errorf("%q: %w", key, err)
	}
	minRV, err := parseRV(opts.ResourceVersion)
	if err != nil {
		return fmt.Errorf("%q: %w", key, err)
	}
	var readRev int64
	switch opts.ResourceVersionMatch {
	case "", "NotOlderThan":
	case "Exact":
		if minRV == 0 {
			return fmt.Errorf("%q: resourceVersionMatch=Exact needs a resourceVersion: %w", key, ErrInvalidRV)
		}
		readRev = minRV
	default:
		return fmt.Errorf("%q: unknown resourceVersionMatch %q: %w", key, opts.ResourceVersionMatch, ErrInvalidRV)
	}

	if !opts.Recursive {
		getOpts := []clientv3.OpOption{}
		if readRev > 0 {
			getOpts = append(getOpts, clientv3.WithRev(readRev))
		}
		resp, err := s.client.Get(ctx, key, getOpts...)
		if err != nil {
			return wrapErr(key, err)
		}
		if minRV > resp.Header.Revision {
			return fmt.Errorf("%q: %w: too large resource version %d, current %d", key, ErrTimeout, minRV, resp.Header.Revision)
		}
		for _, kv := range resp.Kvs {
			slot := items.next()
			if err := s.decodeKV(ctx, kv, slot); err != nil {
				return err
			}
			if ok, err := pred.Matches(slot); err != nil {
				return fmt.Errorf("%q: %w", key, err)
			} else if !ok {
				items.drop()
			}
		}
		rev := resp.Header.Revision
		if readRev > 0 {
			rev = readRev
		}
		return setListMeta(listObj, rev, "")
	}

	prefix := listPrefix(key)
	fromKey := prefix
	if pred.Continue != "" {
		if opts.ResourceVersion != "" && opts.ResourceVersion != "0" {
			return fmt.Errorf("%q: specifying resource version is not allowed when using continue: %w", key, ErrInvalidRV)
		}
		fromKey, readRev, err = decodeContinue(pred.Continue, prefix)
		if err != nil {
			return fmt.Errorf("%q: %w", key, err)
		}
	}
	limit := pred.Limit
	rangeEnd := clientv3.GetPrefixRangeEnd(prefix)
	for {
		getOpts := []clientv3.OpOption{clientv3.WithRange(rangeEnd)}
		if readRev > 0 {
			getOpts = append(getOpts, clientv3.WithRev(readRev))
		}
		if limit > 0 {
			batch := limit - int64(items.len())
			if !pred.Empty() && batch < 100 {
				batch = 100 // filtering: read more per round trip
			}
			getOpts = append(getOpts, clientv3.WithLimit(batch))
		}
		resp, err := s.client.Get(ctx, fromKey, getOpts...)
		if err != nil {
			return wrapErr(key, err)
		}
		if readRev == 0 {
			readRev = resp.Header.Revision
			if minRV > readRev {
				return fmt.Errorf("%q: %w: too large resource version %d, current %d", key, ErrTimeout, minRV, readRev)
			}
		}
		start := items.len()
		matched, err := s.decodeBatch(ctx, resp.Kvs, items.extend(len(resp.Kvs)), pred)
		if err != nil {
			return err
		}
		n := start
		for i, kv := range resp.Kvs {
			if !matched[i] {
				continue
			}
			if n != start+i {
				items.move(start+i, n)
			}
			n++
			if limit > 0 && int64(n) == limit {
				items.truncate(n)
				if i == len(resp.Kvs)-1 && !resp.More {
					return setListMeta(listObj, readRev, "")
				}
				cont, err := encodeContinue(string(kv.Key)+"\x00", prefix, readRev)
				if err != nil {
					return fmt.Errorf("%q: %w", key, err)
				}
				return setListMeta(listObj, readRev, cont)
			}
		}
		items.truncate(n)
		if !resp.More || len(resp.Kvs) == 0 {
			return setListMeta(listObj, readRev, "")
		}
		fromKey = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}

// consistentListWait bounds how long a consistent list waits for the watch
// cache before reading etcd instead.
const consistentListWait = 250 * time.Millisecond

// consistentListFromCache serves a list that must be at least as new as
// etcd's current revision from the watch cache, when the cache can prove
// it has caught up (ordered progress notifications). served is false when
// the caller must read etcd.
func (s *Store) consistentListFromCache(ctx context.Context, key string, opts ListOptions, listObj runtime.Object) (served bool, err error) {
	if !opts.Recursive || opts.Predicate.Limit > 0 || opts.Predicate.Continue != "" ||
		(opts.ResourceVersionMatch != "" && opts.ResourceVersionMatch != "NotOlderThan") {
		return false, nil
	}
	minRV, err := parseRV(opts.ResourceVersion)
	if err != nil {
		return false, nil // GetList reports it
	}
	c := s.cacherFor(key)
	if c == nil || !s.progressReliable() {
		return false, nil
	}
	select {
	case <-c.readyCh:
	default:
		return false, nil // a cold cache: etcd answers sooner
	}
	rev, err := s.CurrentRevision(ctx)
	if err != nil {
		return false, err
	}
	if minRV > rev {
		return false, nil // GetList reports the too large resourceVersion
	}
	wctx, cancel := context.WithTimeout(ctx, consistentListWait)
	defer cancel()
	if err := c.waitForRev(wctx, rev); err != nil {
		return false, nil
	}
	return true, c.list(ctx, key, opts, listObj)
}
