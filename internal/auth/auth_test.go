package auth

import (
	"context"
	"crypto/x509"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestEnsurePKIReusesAndCovers(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	p1, err := EnsurePKI(dir, []string{"localhost", "127.0.0.1", "::1"}, now)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(p1.CACert)
	for _, name := range []string{"localhost", "127.0.0.1", "::1"} {
		if _, err := p1.Serving.Leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: roots}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	p2, err := EnsurePKI(dir, []string{"localhost"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if !p2.CACert.Equal(p1.CACert) || !p2.Serving.Leaf.Equal(p1.Serving.Leaf) {
		t.Fatal("second start regenerated the PKI")
	}
	p3, err := EnsurePKI(dir, []string{"localhost", "api.example.com"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if !p3.CACert.Equal(p1.CACert) || p3.Serving.Leaf.VerifyHostname("api.example.com") != nil {
		t.Fatal("a new SAN must re-issue the serving cert with the same CA")
	}
	st, _ := os.Stat(filepath.Join(dir, "ca.key"))
	if st.Mode().Perm() != 0o600 {
		t.Errorf("ca.key mode %v", st.Mode())
	}
}

func TestTokensAndAuthenticator(t *testing.T) {
	dir := t.TempDir()
	admin, err := EnsureToken(filepath.Join(dir, "admin-token"))
	if err != nil {
		t.Fatal(err)
	}
	again, _ := EnsureToken(filepath.Join(dir, "admin-token"))
	if admin != again || len(admin) != 64 {
		t.Fatalf("token not stable: %q %q", admin, again)
	}
	node, _ := EnsureToken(filepath.Join(dir, "node-token"))
	iss, err := EnsureTokenIssuer(filepath.Join(dir, "sa.key"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	a := &TokenAuthenticator{AdminToken: admin, NodeToken: node, Issuer: iss, Now: func() time.Time { return now }}
	sa, err := iss.Issue(SAClaims{Subject: "system:serviceaccount:ns:sa", Audience: []string{DefaultIssuer}, Expiry: now.Add(time.Hour).Unix(),
		K8s: K8sClaims{Namespace: "ns", ServiceAccount: Ref{Name: "sa", UID: "u1"}}})
	if err != nil {
		t.Fatal(err)
	}
	expired, _ := iss.Issue(SAClaims{Expiry: now.Add(-time.Minute).Unix(), K8s: K8sClaims{Namespace: "ns", ServiceAccount: Ref{Name: "sa"}}})
	other, _ := EnsureTokenIssuer(filepath.Join(dir, "other.key"))
	forged, _ := other.Issue(SAClaims{Expiry: now.Add(time.Hour).Unix(), K8s: K8sClaims{Namespace: "ns", ServiceAccount: Ref{Name: "sa"}}})
	cases := []struct {
		name, header, nodeName string
		user                   string
		ok                     bool
	}{
		{"admin", "Bearer " + admin, "", AdminUser, true},
		{"node", "Bearer " + node, "n1", "system:node:n1", true},
		{"service account", "Bearer " + sa, "", "system:serviceaccount:ns:sa", true},
		{"none", "", "", "", false},
		{"wrong", "Bearer nope", "", "", false},
		{"basic", "Basic " + admin, "", "", false},
		{"expired", "Bearer " + expired, "", "", false},
		{"forged", "Bearer " + forged, "", "", false},
		{"tampered", "Bearer " + strings.Replace(sa, ".", ".x", 1), "", "", false},
	}
	for _, c := range cases {
		r, _ := http.NewRequest("GET", "/", nil)
		if c.header != "" {
			r.Header.Set("Authorization", c.header)
		}
		if c.nodeName != "" {
			r.Header.Set(NodeNameHeader, c.nodeName)
		}
		u, err := a.AuthenticateRequest(r)
		if (err == nil) != c.ok || u.Name != c.user {
			t.Errorf("%s: user %q err %v", c.name, u.Name, err)
		}
	}
	var az Authorizer
	ctx := context.Background()
	if !az.Authorize(ctx, User{Groups: []string{GroupMasters}}, Request{Verb: "delete", Resource: "pods"}) ||
		az.Authorize(ctx, User{Name: "system:serviceaccount:ns:sa", Groups: []string{GroupServiceAccounts}}, Request{Verb: "get", Resource: "secrets"}) ||
		!az.Authorize(ctx, User{Groups: []string{GroupAuthenticated}}, Request{Verb: "get", Path: "/apis"}) {
		t.Fatal("authorizer decisions wrong")
	}
}

func TestWriteKubeconfig(t *testing.T) {
	p := filepath.Join(t.TempDir(), "admin.kubeconfig")
	if err := WriteKubeconfig(p, "https://127.0.0.1:6443", []byte("PEM"), "admin", "tok"); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	for _, want := range []string{"server: https://127.0.0.1:6443", "token: tok", "certificate-authority-data: UEVN"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("kubeconfig lacks %q:\n%s", want, b)
		}
	}
}
