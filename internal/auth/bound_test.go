package auth

import (
	"context"
	"errors"
	"testing"
)

type fakeBound struct {
	sas, pods map[string]ObjectState
}

var _ BoundObjects = fakeBound{}

func (f fakeBound) ServiceAccount(_ context.Context, ns, name string) (ObjectState, bool, error) {
	s, ok := f.sas[ns+"/"+name]
	return s, ok, nil
}

func (f fakeBound) Pod(_ context.Context, ns, name string) (ObjectState, bool, error) {
	s, ok := f.pods[ns+"/"+name]
	return s, ok, nil
}

func TestCheckBound(t *testing.T) {
	objs := fakeBound{
		sas:  map[string]ObjectState{"ns/sa": {UID: "sa1"}, "ns/gone": {UID: "sa2", Deleting: true}},
		pods: map[string]ObjectState{"ns/p": {UID: "p1"}, "ns/dying": {UID: "p2", Deleting: true}},
	}
	claims := func(sa, saUID string, pod *Ref, aud ...string) *SAClaims {
		if aud == nil {
			aud = []string{DefaultIssuer}
		}
		return &SAClaims{Audience: aud, K8s: K8sClaims{Namespace: "ns", ServiceAccount: Ref{Name: sa, UID: saUID}, Pod: pod}}
	}
	cases := []struct {
		name string
		c    *SAClaims
		err  error
	}{
		{"sa token", claims("sa", "sa1", nil), nil},
		{"pod-bound", claims("sa", "sa1", &Ref{Name: "p", UID: "p1"}), nil},
		{"sa deleted", claims("nosuch", "x", nil), ErrTokenInvalidated},
		{"sa recreated", claims("sa", "old", nil), ErrTokenInvalidated},
		{"sa being deleted", claims("gone", "sa2", nil), ErrTokenInvalidated},
		{"pod deleted", claims("sa", "sa1", &Ref{Name: "nosuch", UID: "p1"}), ErrTokenInvalidated},
		{"pod recreated", claims("sa", "sa1", &Ref{Name: "p", UID: "other"}), ErrTokenInvalidated},
		{"pod being deleted", claims("sa", "sa1", &Ref{Name: "dying", UID: "p2"}), ErrTokenInvalidated},
		{"other audience", claims("sa", "sa1", nil, "vault"), ErrInvalidToken},
	}
	for _, c := range cases {
		err := CheckBound(context.Background(), objs, c.c, DefaultIssuer)
		if (c.err == nil) != (err == nil) || (c.err != nil && !errors.Is(err, c.err)) {
			t.Errorf("%s: err %v, want %v", c.name, err, c.err)
		}
	}
}
