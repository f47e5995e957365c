package apiserver

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sort"
	"strings"
	"testing"

	openapiv2 "github.com/google/gnostic-models/openapiv2"
	"google.golang.org/protobuf/proto"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	settingsv1alpha1 "github.com/peapod/peapod/internal/apis/settings/v1alpha1"
	"github.com/peapod/peapod/internal/registry"
)

// openAPIGet fetches path without following redirects or decompressing,
// with the given header pairs.
func openAPIGet(t *testing.T, base, path string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept-Encoding", "identity")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func openAPIIndex(t *testing.T, base string) map[string]string {
	t.Helper()
	resp, b := openAPIGet(t, base, "/openapi/v3")
	var idx struct {
		Paths map[string]struct {
			ServerRelativeURL string `json:"serverRelativeURL"`
		} `json:"paths"`
	}
	if resp.StatusCode != 200 || json.Unmarshal(b, &idx) != nil {
		t.Fatalf("index: %d %s", resp.StatusCode, b)
	}
	out := map[string]string{}
	for k, v := range idx.Paths {
		out[k] = v.ServerRelativeURL
	}
	return out
}

func TestOpenAPIV3IndexAndCaching(t *testing.T) {
	e := newTestEnv(t)
	idx := openAPIIndex(t, e.srv.URL)
	if len(idx) != 1 || !strings.HasPrefix(idx["api/v1"], "/openapi/v3/api/v1?hash=") {
		t.Fatalf("index lists only the served group-versions, got %v", idx)
	}
	url := idx["api/v1"]
	hash := strings.TrimPrefix(url, "/openapi/v3/api/v1?hash=")

	resp, plain := openAPIGet(t, e.srv.URL, url)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" || resp.Header.Get("Content-Encoding") != "" {
		t.Fatalf("doc: %d %v", resp.StatusCode, resp.Header)
	}
	if got := resp.Header.Get("Etag"); got != `"`+hash+`"` {
		t.Errorf("Etag %s, want the index hash %s", got, hash)
	}
	if resp.Header.Get("Cache-Control") != "public, immutable" || resp.Header.Get("Expires") == "" {
		t.Errorf("a hashed URL is cacheable for a year: %v", resp.Header)
	}
	var doc map[string]any
	if err := json.Unmarshal(plain, &doc); err != nil {
		t.Fatalf("doc is not JSON: %v", err)
	}

	// A gzip-accepting client gets the stored bytes, the same document.
	resp, gz := openAPIGet(t, e.srv.URL, url, "Accept-Encoding", "gzip")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("gzip: %d %v", resp.StatusCode, resp.Header)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	unzipped, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(unzipped, plain) {
		t.Fatalf("gzip body differs from the plain one (%v)", err)
	}
	if len(gz) >= len(plain)/4 {
		t.Errorf("gzip body %d bytes for %d plain", len(gz), len(plain))
	}

	// Without ?hash= no long-lived caching; If-None-Match revalidates.
	resp, _ = openAPIGet(t, e.srv.URL, "/openapi/v3/api/v1")
	if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "" {
		t.Errorf("unhashed: %d %v", resp.StatusCode, resp.Header)
	}
	resp, b := openAPIGet(t, e.srv.URL, "/openapi/v3/api/v1", "If-None-Match", `"`+hash+`"`)
	if resp.StatusCode != http.StatusNotModified || len(b) != 0 {
		t.Errorf("If-None-Match: %d %d bytes", resp.StatusCode, len(b))
	}
	resp, _ = openAPIGet(t, e.srv.URL, "/openapi/v3/api/v1", "If-None-Match", `"OTHER"`)
	if resp.StatusCode != 200 {
		t.Errorf("If-None-Match other: %d", resp.StatusCode)
	}
	resp, _ = openAPIGet(t, e.srv.URL, "/openapi/v3")
	etag := resp.Header.Get("Etag")
	if resp, _ = openAPIGet(t, e.srv.URL, "/openapi/v3", "If-None-Match", etag); etag == "" || resp.StatusCode != http.StatusNotModified {
		t.Errorf("index revalidation: Etag %q, %d", etag, resp.StatusCode)
	}

	// A stale hash is redirected to the current one.
	resp, _ = openAPIGet(t, e.srv.URL, "/openapi/v3/api/v1?hash=0123")
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != url {
		t.Errorf("stale hash: %d Location %q, want 301 to %s", resp.StatusCode, resp.Header.Get("Location"), url)
	}

	for path, want := range map[string]int{
		"/openapi/v3/apis/apps/v1":                      404,
		"/openapi/v3/apis/rbac.authorization.k8s.io/v1": 404, // embedded but not served here
		"/openapi/v3/api/v2":                            404,
	} {
		if resp, b := openAPIGet(t, e.srv.URL, path); resp.StatusCode != want {
			t.Errorf("%s: %d %s, want %d", path, resp.StatusCode, b, want)
		}
	}
	resp, b = openAPIGet(t, e.srv.URL, url, "Accept", "application/com.github.proto-openapi.spec.v3@v1.0+protobuf")
	if resp.StatusCode != http.StatusNotAcceptable {
		t.Errorf("protobuf only: %d %s, want 406", resp.StatusCode, b)
	}
	if resp, _ = openAPIGet(t, e.srv.URL, url, "Accept", "application/com.github.proto-openapi.spec.v3@v1.0+protobuf, application/json;q=0.5"); resp.StatusCode != 200 {
		t.Errorf("protobuf or json: %d", resp.StatusCode)
	}
}

// A served group-version without an embedded document gets a paths-only
// one that still declares fieldValidation.
func TestOpenAPIV3PathsOnlyFallback(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	deployments := &registry.Resource{GVR: appsv1.SchemeGroupVersion.WithResource("deployments"), Kind: "Deployment", ListKind: "DeploymentList",
		SingularName: "deployment", Namespaced: true, Strategy: testStrategy{namespaced: true},
		New: func() runtime.Object { return &appsv1.Deployment{} }, NewList: func() runtime.Object { return &appsv1.DeploymentList{} }}
	api, err := New(Config{Scheme: scheme, Resources: append(testResources(), deployments), Storage: newMemStore(),
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	defer srv.Close()
	idx := openAPIIndex(t, srv.URL)
	url, ok := idx["apis/apps/v1"]
	if !ok || len(idx) != 2 {
		t.Fatalf("index: %v", idx)
	}
	resp, b := openAPIGet(t, srv.URL, url, "Accept-Encoding", "gzip")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Encoding") != "" {
		t.Fatalf("paths-only doc: %d %v", resp.StatusCode, resp.Header)
	}
	var doc openAPITestDoc
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	patch := doc.Paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"].ops(t)["patch"]
	if !patch.hasParam("fieldValidation") || patch.GVK != (openAPIGVK{Group: "apps", Version: "v1", Kind: "Deployment"}) {
		t.Fatalf("deployments patch: %+v", patch)
	}
}

type openAPIGVK struct{ Group, Version, Kind string }

type openAPITestOp struct {
	GVK        openAPIGVK `json:"x-kubernetes-group-version-kind"`
	Action     string     `json:"x-kubernetes-action"`
	Parameters []struct {
		Name string `json:"name"`
	} `json:"parameters"`
	RequestBody struct {
		Content map[string]any `json:"content"`
	} `json:"requestBody"`
}

func (o openAPITestOp) hasParam(name string) bool {
	for _, p := range o.Parameters {
		if p.Name == name {
			return true
		}
	}
	return false
}

// openAPITestPath is a path item: operations by verb, and "parameters".
type openAPITestPath map[string]json.RawMessage

func (p openAPITestPath) ops(t *testing.T) map[string]openAPITestOp {
	t.Helper()
	out := map[string]openAPITestOp{}
	for verb, raw := range p {
		if verb == "parameters" {
			continue
		}
		var op openAPITestOp
		if err := json.Unmarshal(raw, &op); err != nil {
			t.Fatalf("%s: %v", verb, err)
		}
		out[verb] = op
	}
	return out
}

type openAPITestDoc struct {
	Paths      map[string]openAPITestPath `json:"paths"`
	Components struct {
		Schemas map[string]struct {
			GVKs       []openAPIGVK              `json:"x-kubernetes-group-version-kind"`
			Properties map[string]map[string]any `json:"properties"`
		} `json:"schemas"`
	} `json:"components"`
}

// The embedded documents are whole: every $ref resolves in its own
// document, every kind an operation names has a schema (what kubectl
// explain looks up), and every PATCH declares fieldValidation (what
// kubectl's default validation looks for).
func TestOpenAPIV3EmbeddedDocuments(t *testing.T) {
	files, err := fs.Glob(openAPIFiles, "openapi/v3/*.json.gz")
	if err != nil || len(files) == 0 {
		t.Fatalf("no embedded documents: %v", err)
	}
	sort.Strings(files)
	want := map[string][]string{
		"openapi/v3/api__v1.json.gz":                             {"Pod", "Namespace", "Node", "Secret", "ConfigMap", "ServiceAccount", "Event"},
		"openapi/v3/apis__coordination.k8s.io__v1.json.gz":       {"Lease"},
		"openapi/v3/apis__authorization.k8s.io__v1.json.gz":      {"SelfSubjectAccessReview"},
		"openapi/v3/apis__authentication.k8s.io__v1.json.gz":     {"SelfSubjectReview"},
		"openapi/v3/apis__rbac.authorization.k8s.io__v1.json.gz": {"Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"},
		"openapi/v3/apis__settings.k8s.io__v1alpha1.json.gz":     {"PodPreset", "PodPresetList"},
	}
	if len(files) != len(want) {
		t.Errorf("embedded %v, want %d documents", files, len(want))
	}
	for _, f := range files {
		gz, _ := openAPIFiles.ReadFile(f)
		zr, err := gzip.NewReader(bytes.NewReader(gz))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		raw, err := io.ReadAll(zr)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		var doc openAPITestDoc
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		kinds := map[openAPIGVK]bool{}
		for _, s := range doc.Components.Schemas {
			for _, gvk := range s.GVKs {
				kinds[gvk] = true
			}
		}
		refs := regexpRefs(raw)
		if len(refs) == 0 {
			t.Errorf("%s: no $refs found", f)
		}
		for _, ref := range refs {
			if _, ok := doc.Components.Schemas[ref]; !ok {
				t.Errorf("%s: dangling $ref %s", f, ref)
			}
		}
		patches := 0
		for p, item := range doc.Paths {
			for verb, op := range item.ops(t) {
				// Connect operations (exec, attach, portforward) name
				// their options kinds, which Kubernetes has no schema for.
				if op.GVK.Kind != "" && op.Action != "connect" && !kinds[op.GVK] {
					t.Errorf("%s: %s %s names %v, which has no schema", f, verb, p, op.GVK)
				}
				if verb == "patch" {
					patches++
					if !op.hasParam("fieldValidation") {
						t.Errorf("%s: patch %s lacks fieldValidation", f, p)
					}
				}
			}
		}
		// The review groups are create-only.
		if patches == 0 && !strings.Contains(f, "authorization.k8s.io__") && !strings.Contains(f, "authentication.k8s.io__") {
			t.Errorf("%s: no patch operations", f)
		}
		for _, k := range want[f] {
			found := false
			for gvk := range kinds {
				found = found || gvk.Kind == k
			}
			if !found {
				t.Errorf("%s: no schema for kind %s", f, k)
			}
		}
	}
}

// regexpRefs lists the schema names a document's $refs point at.
func regexpRefs(raw []byte) []string {
	var out []string
	const prefix = `"$ref":"#/components/schemas/`
	for rest := string(raw); ; {
		i := strings.Index(rest, prefix)
		if i < 0 {
			return out
		}
		rest = rest[i+len(prefix):]
		out = append(out, rest[:strings.IndexByte(rest, '"')])
	}
}

// The hand-written PodPreset schema has exactly the Go type's fields, and
// its PATCH does not offer strategic merge patch (the server refuses it).
func TestOpenAPIV3PodPresetMatchesGoType(t *testing.T) {
	gz, err := openAPIFiles.ReadFile(openAPIV3File(schema.GroupVersion{Group: "settings.k8s.io", Version: "v1alpha1"}))
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	var doc openAPITestDoc
	if err := json.NewDecoder(zr).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	for name, typ := range map[string]reflect.Type{
		"io.k8s.api.settings.v1alpha1.PodPreset":     reflect.TypeOf(settingsv1alpha1.PodPreset{}),
		"io.k8s.api.settings.v1alpha1.PodPresetSpec": reflect.TypeOf(settingsv1alpha1.PodPresetSpec{}),
		"io.k8s.api.settings.v1alpha1.PodPresetList": reflect.TypeOf(settingsv1alpha1.PodPresetList{}),
	} {
		var fields []string
		for i := 0; i < typ.NumField(); i++ {
			f := typ.Field(i)
			tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			switch {
			case tag != "":
				fields = append(fields, tag)
			case f.Name == "TypeMeta":
				fields = append(fields, "apiVersion", "kind")
			case f.Name == "ObjectMeta" || f.Name == "ListMeta":
				fields = append(fields, "metadata")
			}
		}
		var props []string
		for p := range doc.Components.Schemas[name].Properties {
			props = append(props, p)
		}
		sort.Strings(fields)
		sort.Strings(props)
		if !reflect.DeepEqual(fields, props) {
			t.Errorf("%s: schema properties %v, Go fields %v", name, props, fields)
		}
	}
	patch := doc.Paths["/apis/settings.k8s.io/v1alpha1/namespaces/{namespace}/podpresets/{name}"].ops(t)["patch"]
	if _, smp := patch.RequestBody.Content["application/strategic-merge-patch+json"]; smp || len(patch.RequestBody.Content) == 0 {
		t.Errorf("podpreset patch content types: %v", patch.RequestBody.Content)
	}
	if patch.GVK != (openAPIGVK{Group: "settings.k8s.io", Version: "v1alpha1", Kind: "PodPreset"}) {
		t.Errorf("podpreset patch GVK %+v", patch.GVK)
	}
}

func TestOpenAPIHeaderParsing(t *testing.T) {
	for _, c := range []struct {
		accept string
		json   bool
	}{
		{"", true}, {"*/*", true}, {"application/json", true}, {"application/*", true},
		{"application/json;q=0", false}, {"application/com.github.proto-openapi.spec.v3@v1.0+protobuf", false},
		{"text/html, Application/JSON; q=0.9", true},
	} {
		if got := acceptsJSON(c.accept); got != c.json {
			t.Errorf("acceptsJSON(%q) = %v", c.accept, got)
		}
	}
	for _, c := range []struct {
		enc  string
		gzip bool
	}{
		{"", false}, {"gzip", true}, {"deflate, gzip;q=0.5", true}, {"gzip;q=0", false}, {"*", true}, {"identity", false},
	} {
		if got := acceptsGzip(c.enc); got != c.gzip {
			t.Errorf("acceptsGzip(%q) = %v", c.enc, got)
		}
	}
	for _, c := range []struct {
		inm   string
		match bool
	}{
		{`"AB"`, true}, {`W/"AB"`, true}, {`"X", "AB"`, true}, {`*`, true}, {`"ABC"`, false}, {``, false}, {`AB`, false},
	} {
		if got := etagMatches(c.inm, "AB"); got != c.match {
			t.Errorf("etagMatches(%q) = %v", c.inm, got)
		}
	}
}

// /openapi/v2 is one swagger document with the same schemas, as protobuf
// (what kubectl asks for) or JSON, cacheable by ETag.
func TestOpenAPIV2(t *testing.T) {
	e := newTestEnv(t)
	resp, b := openAPIGet(t, e.srv.URL, "/openapi/v2", "Accept", "application/com.github.proto-openapi.spec.v2@v1.0+protobuf", "Accept-Encoding", "gzip")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Encoding") != "gzip" || !strings.Contains(resp.Header.Get("Content-Type"), "protobuf") {
		t.Fatalf("protobuf: %d %v", resp.StatusCode, resp.Header)
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	pb, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	var v2 openapiv2.Document
	if err := proto.Unmarshal(pb, &v2); err != nil || v2.Swagger != "2.0" {
		t.Fatalf("protobuf document: %v %q", err, v2.Swagger)
	}
	defs := map[string]bool{}
	for _, d := range v2.GetDefinitions().GetAdditionalProperties() {
		defs[d.Name] = true
	}
	for _, d := range []string{"io.k8s.api.core.v1.Pod", "io.k8s.api.core.v1.Probe", "io.k8s.api.settings.v1alpha1.PodPreset", "io.k8s.api.coordination.v1.Lease"} {
		if !defs[d] {
			t.Errorf("v2 lacks definition %s", d)
		}
	}
	// No paths: with them kubectl would look for CRDs (not served) before
	// letting an unknown kind reach "no matches for kind".
	if n := len(v2.GetPaths().GetPath()); n != 0 {
		t.Errorf("v2 has %d paths, want definitions only", n)
	}
	etag := resp.Header.Get("Etag")
	if resp, _ := openAPIGet(t, e.srv.URL, "/openapi/v2", "Accept", "application/com.github.proto-openapi.spec.v2@v1.0+protobuf", "If-None-Match", etag); etag == "" || resp.StatusCode != http.StatusNotModified {
		t.Errorf("v2 revalidation: Etag %q, %d", etag, resp.StatusCode)
	}

	resp, js := openAPIGet(t, e.srv.URL, "/openapi/v2")
	var doc struct {
		Swagger     string                     `json:"swagger"`
		Definitions map[string]json.RawMessage `json:"definitions"`
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" || json.Unmarshal(js, &doc) != nil {
		t.Fatalf("json: %d %v", resp.StatusCode, resp.Header)
	}
	if doc.Swagger != "2.0" || len(doc.Definitions) != len(defs) {
		t.Errorf("json document: swagger %q, %d definitions, protobuf has %d", doc.Swagger, len(doc.Definitions), len(defs))
	}
	if resp.Header.Get("Etag") == etag {
		t.Errorf("JSON and protobuf share an Etag")
	}
}
