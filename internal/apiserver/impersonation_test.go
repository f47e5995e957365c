package apiserver

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	"github.com/peapod/peapod/internal/apiserver/admission"
	"github.com/peapod/peapod/internal/auth"
	"github.com/peapod/peapod/internal/registry/selfsubjectaccessreview"
	"github.com/peapod/peapod/internal/registry/selfsubjectreview"
)

// staticRBAC is an in-memory RBAC source.
type staticRBAC struct {
	clusterRoles map[string]*rbacv1.ClusterRole
	crbs         []rbacv1.ClusterRoleBinding
	rbs          []rbacv1.RoleBinding
}

func (s *staticRBAC) ClusterRoleBindings(context.Context) ([]rbacv1.ClusterRoleBinding, error) {
	return s.crbs, nil
}

func (s *staticRBAC) RoleBindings(_ context.Context, ns string) ([]rbacv1.RoleBinding, error) {
	var out []rbacv1.RoleBinding
	for _, b := range s.rbs {
		if b.Namespace == ns {
			out = append(out, b)
		}
	}
	return out, nil
}

func (s *staticRBAC) ClusterRole(_ context.Context, name string) (*rbacv1.ClusterRole, error) {
	return s.clusterRoles[name], nil
}

func (s *staticRBAC) Role(context.Context, string, string) (*rbacv1.Role, error) { return nil, nil }

// tokenUsers authenticates "Bearer <key>" as the mapped user.
type tokenUsers map[string]auth.User

func (m tokenUsers) AuthenticateRequest(r *http.Request) (auth.User, error) {
	if u, ok := m[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]; ok {
		return u, nil
	}
	return auth.User{}, auth.ErrUnauthenticated
}

// recordUsers is an admission plugin remembering the user of each request.
type recordUsers struct{ users []auth.User }

func (*recordUsers) Name() string { return "RecordUsers" }
func (p *recordUsers) Admit(_ context.Context, a *admission.Attributes) error {
	p.users = append(p.users, a.User)
	return nil
}

type impEnv struct {
	srv      *httptest.Server
	admitted *recordUsers
}

// newImpersonationEnv is a server with the real authorizer over the
// bootstrap policy plus: jane may edit in default, and "impersonator" may
// impersonate user jane, group devs, service account default/builder,
// uid 1234 and extra scopes=view, nothing else.
func newImpersonationEnv(t *testing.T) *impEnv {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	src := &staticRBAC{clusterRoles: map[string]*rbacv1.ClusterRole{}}
	for _, r := range auth.BootstrapClusterRoles() {
		src.clusterRoles[r.Name] = &r
	}
	src.crbs = auth.BootstrapClusterRoleBindings()
	src.clusterRoles["impersonate-some"] = &rbacv1.ClusterRole{Rules: []rbacv1.PolicyRule{
		{Verbs: []string{"impersonate"}, APIGroups: []string{""}, Resources: []string{"users"}, ResourceNames: []string{"jane"}},
		{Verbs: []string{"impersonate"}, APIGroups: []string{""}, Resources: []string{"groups"}, ResourceNames: []string{"devs"}},
		{Verbs: []string{"impersonate"}, APIGroups: []string{""}, Resources: []string{"serviceaccounts"}, ResourceNames: []string{"builder"}},
		{Verbs: []string{"impersonate"}, APIGroups: []string{"authentication.k8s.io"}, Resources: []string{"uids"}, ResourceNames: []string{"1234"}},
		{Verbs: []string{"impersonate"}, APIGroups: []string{"authentication.k8s.io"}, Resources: []string{"userextras/scopes"}, ResourceNames: []string{"view"}},
	}}
	src.crbs = append(src.crbs, rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "impersonator"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "impersonate-some"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "impersonator"}}})
	src.rbs = []rbacv1.RoleBinding{{ObjectMeta: metav1.ObjectMeta{Name: "jane-edit", Namespace: "default"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "edit"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "jane"}}}}
	users := tokenUsers{
		"admin": {Name: auth.AdminUser, Groups: []string{auth.GroupMasters, auth.GroupAuthenticated}},
		"sa": {Name: "system:serviceaccount:default:x",
			Groups: []string{auth.GroupServiceAccounts, auth.GroupServiceAccounts + ":default", auth.GroupAuthenticated}},
		"imp": {Name: "impersonator", Groups: []string{auth.GroupAuthenticated}},
	}
	rec := &recordUsers{}
	store := newMemStore()
	api, err := New(Config{Scheme: scheme, Storage: store, MinWatchTimeout: time.Minute,
		Resources: append(testResources(), selfsubjectaccessreview.NewResource(), selfsubjectreview.NewResource()),
		Log:       slog.New(slog.NewTextHandler(io.Discard, nil)), Authenticator: users,
		Authorizer: auth.Authorizer{RBAC: &auth.RBAC{Source: src}}, Admission: &admission.Chain{Mutating: []admission.MutationInterface{rec}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	e := &impEnv{srv: srv, admitted: rec}
	if code, b := e.do(t, "POST", "/api/v1/namespaces", "admin", `{"metadata":{"name":"default"}}`, nil); code != 201 {
		t.Fatalf("create namespace: %d %s", code, b)
	}
	rec.users = nil
	return e
}

// do sends a request with token and the headers (repeatable) in hdr.
func (e *impEnv) do(t *testing.T, method, path, token, body string, hdr http.Header) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range hdr {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// whoami is `kubectl auth whoami` with token and the headers.
func (e *impEnv) whoami(t *testing.T, token string, hdr http.Header) (int, authenticationv1.UserInfo, []byte) {
	t.Helper()
	code, b := e.do(t, "POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", token,
		`{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}`, hdr)
	var r authenticationv1.SelfSubjectReview
	if code == 201 {
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatal(err)
		}
	}
	return code, r.Status.UserInfo, b
}

func TestImpersonationRefused(t *testing.T) {
	e := newImpersonationEnv(t)
	for _, c := range []struct {
		name, token string
		hdr         http.Header
		code        int
		reason      metav1.StatusReason
		msg         string
	}{
		{"service account without rights", "sa", http.Header{"Impersonate-User": {"admin"}}, 403, metav1.StatusReasonForbidden,
			`users "admin" is forbidden: User "system:serviceaccount:default:x" cannot impersonate resource "users" in API group "" at the cluster scope`},
		{"user not granted", "imp", http.Header{"Impersonate-User": {"bob"}}, 403, metav1.StatusReasonForbidden,
			`users "bob" is forbidden: User "impersonator" cannot impersonate resource "users" in API group "" at the cluster scope`},
		{"group not granted", "imp", http.Header{"Impersonate-User": {"jane"}, "Impersonate-Group": {"devs", "system:masters"}}, 403, metav1.StatusReasonForbidden,
			`groups "system:masters" is forbidden: User "impersonator" cannot impersonate resource "groups" in API group "" at the cluster scope`},
		{"service account not granted", "imp", http.Header{"Impersonate-User": {"system:serviceaccount:default:other"}}, 403, metav1.StatusReasonForbidden,
			`serviceaccounts "other" is forbidden: User "impersonator" cannot impersonate resource "serviceaccounts" in API group "" in the namespace "default"`},
		{"uid not granted", "imp", http.Header{"Impersonate-User": {"jane"}, "Impersonate-Uid": {"42"}}, 403, metav1.StatusReasonForbidden,
			`uids.authentication.k8s.io "42" is forbidden: User "impersonator" cannot impersonate resource "uids" in API group "authentication.k8s.io" at the cluster scope`},
		{"extra not granted", "imp", http.Header{"Impersonate-User": {"jane"}, "Impersonate-Extra-Scopes": {"edit"}}, 403, metav1.StatusReasonForbidden,
			`userextras.authentication.k8s.io "edit" is forbidden: User "impersonator" cannot impersonate resource "userextras/scopes" in API group "authentication.k8s.io" at the cluster scope`},
		{"group without user", "admin", http.Header{"Impersonate-Group": {"devs"}}, 400, metav1.StatusReasonBadRequest,
			`requested [{Group  devs    }] without impersonating a user`},
		{"uid without user", "admin", http.Header{"Impersonate-Uid": {"1234"}}, 400, metav1.StatusReasonBadRequest,
			`requested [{UID  1234  authentication.k8s.io/v1  }] without impersonating a user`},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, b := e.do(t, "GET", "/api/v1/namespaces/default/configmaps", c.token, "", c.hdr)
			if st := status(t, b); code != c.code || st.Reason != c.reason || st.Message != c.msg {
				t.Errorf("%d %s %q\nwant %d %s %q", code, st.Reason, st.Message, c.code, c.reason, c.msg)
			}
		})
	}
}

func TestImpersonationUserInfo(t *testing.T) {
	e := newImpersonationEnv(t)
	for _, c := range []struct {
		name, token string
		hdr         http.Header
		want        authenticationv1.UserInfo
	}{
		{"no impersonation", "imp", nil, authenticationv1.UserInfo{Username: "impersonator", Groups: []string{"system:authenticated"}}},
		{"user", "imp", http.Header{"Impersonate-User": {"jane"}},
			authenticationv1.UserInfo{Username: "jane", Groups: []string{"system:authenticated"}}},
		{"user and group", "imp", http.Header{"Impersonate-User": {"jane"}, "Impersonate-Group": {"devs"}},
			authenticationv1.UserInfo{Username: "jane", Groups: []string{"devs", "system:authenticated"}}},
		{"service account", "imp", http.Header{"Impersonate-User": {"system:serviceaccount:default:builder"}},
			authenticationv1.UserInfo{Username: "system:serviceaccount:default:builder",
				Groups: []string{"system:serviceaccounts", "system:serviceaccounts:default", "system:authenticated"}}},
		{"service account with groups", "imp", http.Header{"Impersonate-User": {"system:serviceaccount:default:builder"}, "Impersonate-Group": {"devs"}},
			authenticationv1.UserInfo{Username: "system:serviceaccount:default:builder", Groups: []string{"devs", "system:authenticated"}}},
		{"uid and extra", "imp", http.Header{"Impersonate-User": {"jane"}, "Impersonate-Uid": {"1234"}, "Impersonate-Extra-Scopes": {"view"}},
			authenticationv1.UserInfo{Username: "jane", UID: "1234", Groups: []string{"system:authenticated"},
				Extra: map[string]authenticationv1.ExtraValue{"scopes": {"view"}}}},
		{"masters: anyone, escaped extra key", "admin", http.Header{"Impersonate-User": {"bob"}, "Impersonate-Group": {"a", "b"},
			"Impersonate-Extra-Example.com%2fteam": {"x", "y"}},
			authenticationv1.UserInfo{Username: "bob", Groups: []string{"a", "b", "system:authenticated"},
				Extra: map[string]authenticationv1.ExtraValue{"example.com/team": {"x", "y"}}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, got, b := e.whoami(t, c.token, c.hdr)
			if code != 201 || !reflect.DeepEqual(got, c.want) {
				t.Errorf("%d %+v, want %+v (%s)", code, got, c.want, b)
			}
		})
	}
}

// The impersonated user is the one authorized, admitted and asked about
// by `kubectl auth can-i --as`.
func TestImpersonatedUserIsAuthorizedAndAdmitted(t *testing.T) {
	e := newImpersonationEnv(t)
	asJane := http.Header{"Impersonate-User": {"jane"}}
	if code, b := e.do(t, "GET", "/api/v1/namespaces/default/configmaps", "imp", "", asJane); code != 200 {
		t.Fatalf("jane lists configmaps in default: %d %s", code, b)
	}
	code, b := e.do(t, "GET", "/api/v1/namespaces/kube-system/configmaps", "imp", "", asJane)
	if st := status(t, b); code != 403 ||
		st.Message != `configmaps is forbidden: User "jane" cannot list resource "configmaps" in API group "" in the namespace "kube-system"` {
		t.Fatalf("jane lists configmaps in kube-system: %d %q", code, st.Message)
	}
	// the impersonator itself may not list configmaps
	if code, _ := e.do(t, "GET", "/api/v1/namespaces/default/configmaps", "imp", "", nil); code != 403 {
		t.Fatalf("impersonator lists configmaps: %d", code)
	}
	code, b = e.do(t, "POST", "/api/v1/namespaces/default/configmaps", "imp", `{"metadata":{"name":"c"}}`,
		http.Header{"Impersonate-User": {"jane"}, "Impersonate-Group": {"devs"}})
	if code != 201 {
		t.Fatalf("create as jane: %d %s", code, b)
	}
	if len(e.admitted.users) != 1 || e.admitted.users[0].Name != "jane" ||
		!reflect.DeepEqual(e.admitted.users[0].Groups, []string{"devs", "system:authenticated"}) {
		t.Fatalf("admitted as %+v, want jane [devs system:authenticated]", e.admitted.users)
	}
	canI := func(token string, hdr http.Header, verb, ns string) bool {
		t.Helper()
		body := `{"apiVersion":"authorization.k8s.io/v1","kind":"SelfSubjectAccessReview","spec":{"resourceAttributes":` +
			`{"verb":"` + verb + `","resource":"configmaps","namespace":"` + ns + `"}}}`
		code, b := e.do(t, "POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", token, body, hdr)
		var r authorizationv1.SelfSubjectAccessReview
		if code != 201 || json.Unmarshal(b, &r) != nil {
			t.Fatalf("can-i: %d %s", code, b)
		}
		return r.Status.Allowed
	}
	if !canI("imp", asJane, "create", "default") || canI("imp", asJane, "create", "kube-system") || canI("imp", nil, "create", "default") {
		t.Fatal("auth can-i --as=jane: want yes in default, no in kube-system, and no for the impersonator itself")
	}
	if !canI("admin", nil, "create", "kube-system") || canI("admin", asJane, "create", "kube-system") {
		t.Fatal("auth can-i: admin yes, admin --as=jane no")
	}
}

// Unauthenticated groups (system:basic-user, hence whoami, is only
// bound to system:authenticated, so these are checked directly).
func TestImpersonationUnauthenticatedGroups(t *testing.T) {
	api, err := New(Config{Scheme: runtime.NewScheme(), Storage: newMemStore(), Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	admin := auth.User{Name: "admin", Groups: []string{auth.GroupMasters}}
	for _, c := range []struct {
		user, group string
		want        []string
	}{
		{"bob", "system:unauthenticated", []string{"system:unauthenticated"}},
		{"bob", "system:authenticated", []string{"system:authenticated"}},
		{"system:anonymous", "", []string{"system:unauthenticated"}},
		{"system:anonymous", "devs", []string{"devs", "system:unauthenticated"}},
	} {
		r := httptest.NewRequest("GET", "/api", nil)
		r.Header.Set("Impersonate-User", c.user)
		if c.group != "" {
			r.Header.Set("Impersonate-Group", c.group)
		}
		u, err := api.impersonate(context.Background(), r, admin)
		if err != nil || u.Name != c.user || !reflect.DeepEqual(u.Groups, c.want) {
			t.Errorf("%s %q: %+v %v, want groups %q", c.user, c.group, u, err, c.want)
		}
	}
}

// The Impersonate-* headers are gone once the filter has run.
func TestImpersonationHeadersRemoved(t *testing.T) {
	api, err := New(Config{Scheme: runtime.NewScheme(), Storage: newMemStore(), Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/api/v1/pods", nil)
	r.Header.Set("Impersonate-User", "jane")
	r.Header.Add("Impersonate-Group", "devs")
	r.Header.Set("Impersonate-Uid", "1")
	r.Header.Set("Impersonate-Extra-Scopes", "x")
	r.Header.Set("Accept", "application/json")
	u, err := api.impersonate(context.Background(), r, auth.User{Name: "admin", Groups: []string{auth.GroupMasters}})
	if err != nil || u.Name != "jane" || u.UID != "1" {
		t.Fatalf("%+v %v", u, err)
	}
	if len(r.Header) != 1 || r.Header.Get("Accept") == "" {
		t.Fatalf("headers left: %v", r.Header)
	}
}
