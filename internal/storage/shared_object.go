package storage

import (
	"context"
	"sync"

	"k8s.io/apimachinery/pkg/runtime"
)

// Shared watch objects: by default every watcher gets its own deep copy of
// each event's object, which it may modify. A consumer that only reads and
// encodes the objects (the API server's watch handler) asks for shared
// objects instead with WithSharedObjects: its events then carry a
// *SharedObject wrapping the watch cache's own object, read-only, and an
// encoding memo shared by every watcher of the event, so an event is
// encoded once per format however many watchers send it (kube-apiserver's
// cachingObject).

type sharedObjectsKey struct{}

// WithSharedObjects makes the watches started with ctx deliver
// *SharedObject event objects (the storage Interface's Watch otherwise
// delivers private copies). Implementations that do not share objects
// ignore it.
func WithSharedObjects(ctx context.Context) context.Context {
	return context.WithValue(ctx, sharedObjectsKey{}, true)
}

func sharedObjects(ctx context.Context) bool {
	v, _ := ctx.Value(sharedObjectsKey{}).(bool)
	return v
}

// SharedObject is an event object shared by all the watchers of an event.
// The embedded Object must not be modified: copy it first.
type SharedObject struct {
	runtime.Object
	enc *encodings
}

// Encoded returns the encoding of the object named key (a format and what
// else the bytes depend on), calling encode with the object the first time
// and returning the same bytes (or error) to every later caller. Callers
// must not modify the bytes.
func (o *SharedObject) Encoded(key string, encode func(runtime.Object) ([]byte, error)) ([]byte, error) {
	return o.enc.get(key, o.Object, encode)
}

// encodings memoizes the encodings of one event's object, per key. A
// caller that finds the key being computed waits for it rather than
// encoding the object again.
type encodings struct {
	mu      sync.Mutex
	entries []encoding
}

type encoding struct {
	key  string
	data []byte
	err  error
}

func (e *encodings) get(key string, obj runtime.Object, encode func(runtime.Object) ([]byte, error)) ([]byte, error) {
	if e == nil {
		return encode(obj)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, en := range e.entries {
		if en.key == key {
			return en.data, en.err
		}
	}
	data, err := encode(obj)
	e.entries = append(e.entries, encoding{key: key, data: data, err: err})
	return data, err
}
