package objects

import (
	"context"
	"sync"
	"testing"
	"time"

	authv1 "k8s.io/api/authentication/v1"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/peapod/peapod/internal/agent/volume"
)

func TestSecretsAndConfigMapsFollowTheWatch(t *testing.T) {
	ctx := context.Background()
	client := fake.NewSimpleClientset(
		&v1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "user"}, Data: map[string][]byte{"u": []byte("admin")}},
		&v1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "cfg"}, Data: map[string]string{"k": "v"}},
	)
	s := New(client, nil, t.Logf)
	defer s.Stop()
	var mu sync.Mutex
	var changes []volume.ObjectRef
	s.Subscribe(func(r volume.ObjectRef) {
		mu.Lock()
		changes = append(changes, r)
		mu.Unlock()
	})

	sec, err := s.GetSecret("ns", "user")
	if err != nil || string(sec.Data["u"]) != "admin" {
		t.Fatalf("secret %v %v", sec, err)
	}
	cm, err := s.GetConfigMap("ns", "cfg")
	if err != nil || cm.Data["k"] != "v" {
		t.Fatalf("configmap %v %v", cm, err)
	}
	_, err = s.GetSecret("ns", "nope")
	if !apierrors.IsNotFound(err) || err.Error() != `secret "nope" not found` {
		t.Fatalf("missing secret: %v", err)
	}
	_, err = s.GetConfigMap("other", "cfg")
	if !apierrors.IsNotFound(err) || err.Error() != `configmap "cfg" not found` {
		t.Fatalf("missing configmap: %v", err)
	}

	// An update reaches the cache and the subscribers.
	sec = sec.DeepCopy()
	sec.Data["u"] = []byte("root")
	if _, err := client.CoreV1().Secrets("ns").Update(ctx, sec, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	// A created object that was missing appears too.
	if _, err := client.CoreV1().Secrets("ns").Create(ctx, &v1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "nope"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, _ := s.GetSecret("ns", "user")
		_, err := s.GetSecret("ns", "nope")
		if got != nil && string(got.Data["u"]) == "root" && err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("update not seen: %v, %v", got, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The watches report the changes (the first reads may have been
	// direct GETs while they listed).
	for {
		mu.Lock()
		seen := map[volume.ObjectRef]bool{}
		for _, c := range changes {
			seen[c] = true
		}
		mu.Unlock()
		if seen[volume.ObjectRef{Kind: "Secret", Namespace: "ns", Name: "user"}] && seen[volume.ObjectRef{Kind: "Secret", Namespace: "ns", Name: "nope"}] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("changes %v", seen)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestTokensRenewPast80Percent(t *testing.T) {
	client := fake.NewSimpleClientset()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := base
	issued := 0
	var lastReq *authv1.TokenRequest
	client.PrependReactor("create", "serviceaccounts", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "token" {
			return false, nil, nil
		}
		issued++
		req := a.(k8stesting.CreateAction).GetObject().(*authv1.TokenRequest).DeepCopy()
		lastReq = req
		req.Status.Token = "t" + string(rune('0'+issued))
		req.Status.ExpirationTimestamp = metav1.NewTime(clock.Add(time.Duration(*req.Spec.ExpirationSeconds) * time.Second))
		return true, req, nil
	})
	s := New(client, func() time.Time { return clock }, nil)
	defer s.Stop()
	exp := int64(1000)
	req := &authv1.TokenRequest{Spec: authv1.TokenRequestSpec{ExpirationSeconds: &exp,
		BoundObjectRef: &authv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: "p", UID: "u1"}}}
	steps := []struct {
		at   time.Duration
		want string
	}{
		{0, "t1"},
		{700 * time.Second, "t1"}, // 70%: cached
		{801 * time.Second, "t2"}, // past 80%: renewed
		{900 * time.Second, "t2"},
	}
	for _, st := range steps {
		clock = base.Add(st.at)
		tr, err := s.RequestToken("ns", "default", req)
		if err != nil {
			t.Fatal(err)
		}
		if tr.Status.Token != st.want {
			t.Fatalf("at %v: token %s, want %s", st.at, tr.Status.Token, st.want)
		}
	}
	if lastReq.Spec.BoundObjectRef.UID != "u1" {
		t.Fatalf("request %+v", lastReq.Spec)
	}
}

func TestIdleWatchesAreCollected(t *testing.T) {
	client := fake.NewSimpleClientset(&v1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "a"}})
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := New(client, func() time.Time { return clock }, nil)
	defer s.Stop()
	if _, err := s.GetConfigMap("ns", "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetConfigMap("ns", "b"); err == nil {
		t.Fatal("b found")
	}
	clock = clock.Add(IdleWatch / 2)
	s.GetConfigMap("ns", "a") // a stays in use
	clock = clock.Add(IdleWatch/2 + time.Second)
	if n := s.GC(); n != 1 {
		t.Fatalf("%d watches left, want 1", n)
	}
	clock = clock.Add(IdleWatch + time.Second)
	if n := s.GC(); n != 0 {
		t.Fatalf("%d watches left, want 0", n)
	}
	// A read after collection starts a new watch.
	if cm, err := s.GetConfigMap("ns", "a"); err != nil || cm.Name != "a" {
		t.Fatalf("%v %v", cm, err)
	}
}
