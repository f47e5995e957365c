package storage

import (
	"reflect"
	"strings"

	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
)

// keyFilter selects the keys a watch or list of key covers: every key under
// key/ when recursive, key itself otherwise.
type keyFilter struct {
	key       string
	recursive bool
}

func newKeyFilter(key string, recursive bool) keyFilter {
	if recursive {
		return keyFilter{key: listPrefix(key), recursive: true}
	}
	return keyFilter{key: key}
}

func (f keyFilter) matches(key string) bool {
	if f.recursive {
		return strings.HasPrefix(key, f.key)
	}
	return key == f.key
}

// transition decides what a watcher whose predicate is pred sees of event
// e, as kube-apiserver's cacher does: an object that starts matching is
// ADDED, one that stops matching is DELETED (carrying its last matching
// state with the event's resourceVersion), others pass through or are
// dropped. The returned object is e.Obj or e.PrevObj, not a copy; setRV
// reports that the caller must set its resourceVersion to e.Rev on a copy.
func transition(e cacheEvent, pred SelectionPredicate) (typ watch.EventType, obj runtime.Object, setRV bool, ok bool, err error) {
	return transitionAttrs(e, pred, nil)
}

// transitionAttrs is transition with the attributes of e's objects taken
// from (and kept in) ea, computed once for all the watchers of e.
func transitionAttrs(e cacheEvent, pred SelectionPredicate, ea *eventAttrs) (typ watch.EventType, obj runtime.Object, setRV bool, ok bool, err error) {
	curMatches := false
	if e.Type != watch.Deleted && e.Obj != nil {
		if curMatches, err = ea.matches(pred, e.Obj, false); err != nil {
			return "", nil, false, false, err
		}
	}
	prevMatches := false
	if e.PrevObj != nil {
		if prevMatches, err = ea.matches(pred, e.PrevObj, true); err != nil {
			return "", nil, false, false, err
		}
	}
	switch e.Type {
	case watch.Added:
		if curMatches {
			return watch.Added, e.Obj, false, true, nil
		}
	case watch.Modified:
		switch {
		case curMatches && prevMatches:
			return watch.Modified, e.Obj, false, true, nil
		case curMatches:
			return watch.Added, e.Obj, false, true, nil
		case prevMatches:
			return watch.Deleted, e.PrevObj, true, true, nil
		}
	case watch.Deleted:
		if prevMatches {
			return watch.Deleted, e.Obj, false, true, nil
		}
	}
	return "", nil, false, false, nil
}

// eventAttrs holds the labels and fields of one event's objects, computed
// by the first watcher with a selector and reused by the others (kube's
// watch cache keeps them with the event likewise): each further watcher
// only matches its selectors against them. A cacher serves one resource,
// so its watchers' predicates share one GetAttrs; a predicate with
// another GetAttrs function computes its own.
type eventAttrs struct {
	getAttrs  uintptr // the GetAttrs the attributes come from
	cur, prev objAttrs
}

type objAttrs struct {
	done bool
	ls   labels.Set
	fs   fields.Set
	err  error
}

func (ea *eventAttrs) matches(pred SelectionPredicate, obj runtime.Object, prev bool) (bool, error) {
	if ea == nil || pred.Empty() || pred.GetAttrs == nil {
		return pred.Matches(obj)
	}
	fn := reflect.ValueOf(pred.GetAttrs).Pointer()
	if ea.getAttrs == 0 {
		ea.getAttrs = fn
	} else if ea.getAttrs != fn {
		return pred.Matches(obj)
	}
	a := &ea.cur
	if prev {
		a = &ea.prev
	}
	if !a.done {
		a.ls, a.fs, a.err = pred.GetAttrs(obj)
		a.done = true
	}
	if a.err != nil {
		return false, a.err
	}
	if pred.Label != nil && !pred.Label.Matches(a.ls) {
		return false, nil
	}
	if pred.Field != nil && !pred.Field.Matches(a.fs) {
		return false, nil
	}
	return true, nil
}
