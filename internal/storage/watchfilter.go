package storage

import (
	"strings"

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
	curMatches := false
	if e.Type != watch.Deleted && e.Obj != nil {
		if curMatches, err = pred.Matches(e.Obj); err != nil {
			return "", nil, false, false, err
		}
	}
	prevMatches := false
	if e.PrevObj != nil {
		if prevMatches, err = pred.Matches(e.PrevObj); err != nil {
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
