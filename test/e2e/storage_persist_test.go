package e2e

// Encryption, persistence and recovery tests of internal/storage.

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/peapod/peapod/internal/storage"
)

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
	// What an operator sees with etcdctl: ciphertext only.
	if _, err := os.Stat("/usr/bin/etcdctl"); err == nil {
		cmd := exec.Command("/usr/bin/etcdctl", "--endpoints", b.endpoint, "get", key("a"), "--print-value-only")
		cmd.Env = append(os.Environ(), "ETCDCTL_API=3")
		out, err := cmd.CombinedOutput()
		if err != nil || !bytes.HasPrefix(out, []byte("k8s:enc:aesgcm:v1:key1:")) || bytes.Contains(out, []byte("supersecret")) {
			t.Fatalf("etcdctl get: %v\n%q", err, out)
		}
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
