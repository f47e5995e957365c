//go:build ignore

// update-openapi regenerates internal/apiserver/openapi/v3/*.json.gz, the
// OpenAPI v3 documents the API server serves at /openapi/v3/<gv> (what
// `kubectl explain` reads).
//
//	go run hack/update-openapi.go            # k8s.io/kubernetes v1.33.13
//	go run hack/update-openapi.go -version v1.33.13
//
// Provenance: the documents for the built-in group-versions are Kubernetes'
// own generated specs, api/openapi-spec/v3/*.json in the k8s.io/kubernetes
// module zip (fetched with `go mod download`, i.e. from the Go module proxy),
// licensed Apache-2.0 (see that module's LICENSE). Each is trimmed to the
// resources and subresources peapod serves and to the schemas those paths
// reference. settings.k8s.io/v1alpha1 (PodPreset, absent from Kubernetes
// since 1.20) is built here: the hand-written schemas in
// internal/apiserver/openapi/settings.k8s.io_v1alpha1.schemas.json, and
// paths copied from core/v1 configmaps (the same verbs and parameters,
// fieldValidation included) with the kind renamed.
//
// The output is deterministic: the same inputs give the same bytes, so the
// hashes in /openapi/v3 only change when the documents do.
package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	openapiv2 "github.com/google/gnostic-models/openapiv2"
	"google.golang.org/protobuf/proto"
)

// served lists, per document, the resources peapod serves and their
// subresources. Keep it in step with internal/cli/server.go.
var served = []struct {
	path      string // "api/v1", "apis/<group>/<version>"
	resources map[string][]string
}{
	{"api/v1", map[string][]string{
		"pods":            {"status", "binding", "log", "exec", "attach", "portforward", "ephemeralcontainers"},
		"namespaces":      {"status", "finalize"},
		"nodes":           {"status"},
		"secrets":         nil,
		"configmaps":      nil,
		"serviceaccounts": {"token"},
		"events":          nil,
	}},
	{"apis/coordination.k8s.io/v1", map[string][]string{"leases": nil}},
	{"apis/authentication.k8s.io/v1", map[string][]string{"selfsubjectreviews": nil}},
	{"apis/authorization.k8s.io/v1", map[string][]string{"selfsubjectaccessreviews": nil}},
	{"apis/rbac.authorization.k8s.io/v1", map[string][]string{
		"roles": nil, "rolebindings": nil, "clusterroles": nil, "clusterrolebindings": nil,
	}},
}

const (
	outDir       = "internal/apiserver/openapi/v3"
	outDirV2     = "internal/apiserver/openapi/v2"
	settingsSrc  = "internal/apiserver/openapi/settings.k8s.io_v1alpha1.schemas.json"
	settingsPath = "apis/settings.k8s.io/v1alpha1"
	schemaRef    = "#/components/schemas/"
	smp          = "application/strategic-merge-patch+json"
)

type doc = map[string]any

func main() {
	version := flag.String("version", "v1.33.13", "k8s.io/kubernetes module version to take the specs from")
	flag.Parse()
	dir, err := moduleDir("k8s.io/kubernetes@" + *version)
	if err != nil {
		log.Fatal(err)
	}
	specDir := filepath.Join(dir, "api", "openapi-spec", "v3")
	var settings doc
	for _, s := range served {
		d, err := readJSON(filepath.Join(specDir, strings.ReplaceAll(s.path, "/", "__")+"_openapi.json"))
		if err != nil {
			log.Fatal(err)
		}
		if s.path == "api/v1" {
			// Before trimming: all core and meta schemas are there.
			if settings, err = settingsDoc(d); err != nil {
				log.Fatal(err)
			}
		}
		trim(d, s.path, s.resources)
		if err := write(s.path, d); err != nil {
			log.Fatal(err)
		}
	}
	if settings == nil {
		log.Fatal("no api/v1 document")
	}
	if err := write(settingsPath, settings); err != nil {
		log.Fatal(err)
	}
	if err := writeSwagger(filepath.Dir(specDir)); err != nil {
		log.Fatal(err)
	}
}

// moduleDir downloads mod to the module cache and returns its directory.
func moduleDir(mod string) (string, error) {
	out, err := exec.Command("go", "mod", "download", "-json", mod).Output()
	if err != nil {
		return "", fmt.Errorf("go mod download %s: %w", mod, err)
	}
	var info struct{ Dir, Error string }
	if err := json.Unmarshal(out, &info); err != nil {
		return "", err
	}
	if info.Error != "" {
		return "", fmt.Errorf("go mod download %s: %s", mod, info.Error)
	}
	return info.Dir, nil
}

func readJSON(path string) (doc, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var d doc
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return d, nil
}

// keepPath reports whether the API path p (e.g.
// /api/v1/watch/namespaces/{namespace}/pods/{name}) is for a served
// resource and subresource of the document at prefix.
func keepPath(p, prefix string, resources map[string][]string) bool {
	rest := strings.TrimPrefix(p, "/"+prefix+"/")
	if rest == "" { // the group-version's resource list
		return true
	}
	rest = strings.TrimPrefix(rest, "watch/")
	rest = strings.TrimPrefix(rest, "namespaces/{namespace}/")
	parts := strings.Split(rest, "/")
	subs, ok := resources[parts[0]]
	if !ok {
		return false
	}
	if len(parts) <= 2 {
		return true
	}
	for _, s := range subs {
		if parts[2] == s {
			return true
		}
	}
	return false
}

// trim drops the paths of resources peapod does not serve and the schemas
// no kept path reaches.
func trim(d doc, prefix string, resources map[string][]string) {
	paths := d["paths"].(map[string]any)
	for p := range paths {
		if !keepPath(p, prefix, resources) {
			delete(paths, p)
		}
	}
	comps := d["components"].(map[string]any)
	schemas := comps["schemas"].(map[string]any)
	comps["schemas"] = closure(paths, schemas)
}

// closure returns the schemas referenced from roots, transitively.
func closure(roots any, schemas map[string]any) map[string]any {
	return closureOf(roots, map[string]map[string]any{schemaRef: schemas})[schemaRef]
}

// closureOf returns, for each "$ref" prefix (#/components/schemas/,
// #/definitions/, #/parameters/), the entries of its table referenced from
// roots, transitively.
func closureOf(roots any, tables map[string]map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	for prefix := range tables {
		out[prefix] = map[string]any{}
	}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				i := strings.LastIndex(ref, "/") + 1
				prefix, name := ref[:i], ref[i:]
				table, ok := tables[prefix]
				if !ok {
					log.Fatalf("unknown $ref %s", ref)
				}
				if _, seen := out[prefix][name]; !seen {
					s, ok := table[name]
					if !ok {
						log.Fatalf("dangling $ref %s", ref)
					}
					out[prefix][name] = s
					walk(s)
				}
			}
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(roots)
	return out
}

// podPresetPaths copies the core/v1 configmaps paths as
// settings.k8s.io/v1alpha1 podpresets paths.
func podPresetPaths(core map[string]any) map[string]any {
	out := map[string]any{}
	for p, item := range core {
		if !keepPath(p, "api/v1", map[string][]string{"configmaps": nil}) || p == "/api/v1/" {
			continue
		}
		data, err := json.Marshal(item)
		if err != nil {
			log.Fatal(err)
		}
		s := string(data)
		for _, r := range [][2]string{
			{"io.k8s.api.core.v1.ConfigMap", "io.k8s.api.settings.v1alpha1.PodPreset"},
			{`"group":"","kind":"ConfigMap","version":"v1"`, `"group":"settings.k8s.io","kind":"PodPreset","version":"v1alpha1"`},
			{"ConfigMap", "PodPreset"},
			{"core_v1", "settings_v1alpha1"},
			{"CoreV1", "SettingsV1alpha1"},
		} {
			s = strings.ReplaceAll(s, r[0], r[1])
		}
		if strings.Contains(s, "configmap") || strings.Contains(s, "ConfigMap") {
			log.Fatalf("path %s: configmap left after renaming", p)
		}
		var v any
		dec := json.NewDecoder(strings.NewReader(s))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			log.Fatal(err)
		}
		// The server answers 415 to a strategic merge patch of a PodPreset
		// (kubectl uses a JSON merge patch for kinds it does not know).
		if patch, ok := v.(map[string]any)["patch"].(map[string]any); ok {
			if body, ok := patch["requestBody"].(map[string]any); ok { // v3
				delete(body["content"].(map[string]any), smp)
			}
			if consumes, ok := patch["consumes"].([]any); ok { // v2
				var keep []any
				for _, c := range consumes {
					if c != smp {
						keep = append(keep, c)
					}
				}
				patch["consumes"] = keep
			}
		}
		p = strings.Replace(p, "/api/v1/", "/"+settingsPath+"/", 1)
		out[strings.Replace(p, "configmaps", "podpresets", 1)] = v
	}
	if len(out) == 0 {
		log.Fatal("no configmaps paths in api/v1")
	}
	return out
}

// settingsDoc builds the settings.k8s.io/v1alpha1 document: the PodPreset
// paths and hand-written schemas, plus the core and meta schemas they
// reference, taken from the untrimmed core/v1 document.
func settingsDoc(core doc) (doc, error) {
	own, err := readJSON(settingsSrc)
	if err != nil {
		return nil, err
	}
	paths := podPresetPaths(core["paths"].(map[string]any))
	coreComps := core["components"].(map[string]any)
	all := map[string]any{}
	for k, v := range coreComps["schemas"].(map[string]any) {
		all[k] = v
	}
	for k, v := range own {
		all[k] = v
	}
	comps := map[string]any{"schemas": closure(paths, all)}
	if sec, ok := coreComps["securitySchemes"]; ok {
		comps["securitySchemes"] = sec
	}
	return doc{
		"openapi":    core["openapi"],
		"info":       core["info"],
		"paths":      paths,
		"components": comps,
	}, nil
}

// write stores d gzip-compressed as outDir/<path with / as __>.json.gz.
func write(path string, d doc) error {
	js, err := marshal(d)
	if err != nil {
		return err
	}
	name := filepath.Join(outDir, strings.ReplaceAll(path, "/", "__")+".json.gz")
	fmt.Printf("%s: %d paths, %d schemas, %d bytes JSON\n", name, len(d["paths"].(map[string]any)),
		len(d["components"].(map[string]any)["schemas"].(map[string]any)), len(js))
	return writeGzip(name, js)
}

func marshal(d doc) ([]byte, error) {
	var js bytes.Buffer
	enc := json.NewEncoder(&js)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(d); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(js.Bytes(), []byte("\n")), nil
}

func writeGzip(name string, data []byte) error {
	var gz bytes.Buffer
	zw, err := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	if err != nil {
		return err
	}
	zw.Write(data)
	if err := zw.Close(); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	fmt.Printf("%s: %d bytes gzip\n", name, gz.Len())
	return os.WriteFile(name, gz.Bytes(), 0o644)
}

// writeSwagger builds the OpenAPI v2 document (/openapi/v2) from
// api/openapi-spec/swagger.json: the definitions the served paths and the
// PodPreset paths reference, PodPreset's own included; stored as JSON and
// as the protobuf kubectl asks for.
func writeSwagger(specDir string) error {
	d, err := readJSON(filepath.Join(specDir, "swagger.json"))
	if err != nil {
		return err
	}
	all := d["paths"].(map[string]any)
	paths := podPresetPaths(all)
	for p, item := range all {
		for _, s := range served {
			if strings.HasPrefix(p, "/"+s.path+"/") && keepPath(p, s.path, s.resources) {
				paths[p] = item
			}
		}
	}
	own, err := readJSON(settingsSrc)
	if err != nil {
		return err
	}
	defs := map[string]any{}
	for k, v := range d["definitions"].(map[string]any) {
		defs[k] = v
	}
	for k, v := range own {
		defs[k] = toV2(v)
	}
	kept := closureOf(paths, map[string]map[string]any{
		"#/definitions/": defs,
		"#/parameters/":  d["parameters"].(map[string]any),
	})
	// Definitions only, no paths: kubectl reads v2 paths only to ask
	// whether a kind's PATCH takes fieldValidation when v3 does not list
	// the kind, and finding other kinds' paths there it would then list
	// CustomResourceDefinitions, which peapod does not serve; without
	// paths it skips to its client-side check, which passes kinds v2 does
	// not define, and the server's "no matches for kind" follows.
	d["paths"] = map[string]any{}
	d["definitions"] = kept["#/definitions/"]
	delete(d, "parameters")
	js, err := marshal(d)
	if err != nil {
		return err
	}
	fmt.Printf("%s: %d definitions, %d bytes JSON\n", outDirV2, len(kept["#/definitions/"]), len(js))
	if err := writeGzip(filepath.Join(outDirV2, "swagger.json.gz"), js); err != nil {
		return err
	}
	pb, err := openapiv2.ParseDocument(js)
	if err != nil {
		return fmt.Errorf("swagger: %w", err)
	}
	bin, err := proto.MarshalOptions{Deterministic: true}.Marshal(pb)
	if err != nil {
		return err
	}
	return writeGzip(filepath.Join(outDirV2, "swagger.pb.gz"), bin)
}

// toV2 turns a v3 schema into a v2 definition: {"allOf":[{"$ref"}],
// "default":{}} becomes {"$ref"}, and refs point at #/definitions/.
func toV2(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := map[string]any{}
		if all, ok := v["allOf"].([]any); ok && len(all) == 1 {
			if ref, ok := all[0].(map[string]any)["$ref"].(string); ok {
				out["$ref"] = ref
			}
		}
		for k, x := range v {
			if _, isRef := out["$ref"]; isRef && (k == "allOf" || k == "default") {
				continue
			}
			out[k] = toV2(x)
		}
		if ref, ok := out["$ref"].(string); ok {
			out["$ref"] = strings.Replace(ref, schemaRef, "#/definitions/", 1)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = toV2(x)
		}
		return out
	}
	return v
}
