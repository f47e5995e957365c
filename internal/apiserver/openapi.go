package apiserver

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"

	openapiv2 "github.com/google/gnostic-models/openapiv2"
	"google.golang.org/protobuf/proto"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/peapod/peapod/internal/version"
)

// OpenAPI: a v3 index and one small document per group-version whose only
// job is to tell kubectl that every PATCH accepts fieldValidation, so
// kubectl's default validation is delegated to the server (KUBECTL.md §2).
// /openapi/v2 is a minimal document without definitions.

func gvPath(gv schema.GroupVersion) string {
	if gv.Group == "" {
		return "api/" + gv.Version
	}
	return "apis/" + gv.Group + "/" + gv.Version
}

func (s *Server) openAPIDoc(gv schema.GroupVersion) map[string]any {
	params := []any{
		map[string]any{"name": "fieldValidation", "in": "query", "schema": map[string]any{"type": "string", "uniqueItems": true}},
		map[string]any{"name": "fieldManager", "in": "query", "schema": map[string]any{"type": "string", "uniqueItems": true}},
		map[string]any{"name": "dryRun", "in": "query", "schema": map[string]any{"type": "string", "uniqueItems": true}},
	}
	paths := map[string]any{}
	for _, r := range s.sortedResources(gv) {
		gvk := r.GVK()
		ext := map[string]any{"group": gvk.Group, "version": gvk.Version, "kind": gvk.Kind}
		op := func(id string) map[string]any {
			return map[string]any{"operationId": id + r.Kind, "x-kubernetes-group-version-kind": ext, "parameters": params,
				"responses": map[string]any{"200": map[string]any{"description": "OK"}}}
		}
		base := "/" + gvPath(gv) + "/"
		if r.Namespaced {
			base += "namespaces/{namespace}/"
		}
		paths[base+r.GVR.Resource] = map[string]any{"post": op("create")}
		paths[base+r.GVR.Resource+"/{name}"] = map[string]any{"patch": op("patch"), "put": op("replace")}
		if hasSubresource(r, "status") {
			paths[base+r.GVR.Resource+"/{name}/status"] = map[string]any{"patch": op("patchStatus"), "put": op("replaceStatus")}
		}
	}
	return map[string]any{
		"openapi": "3.0.0",
		"info":    map[string]any{"title": "peapod", "version": gv.String()},
		"paths":   paths,
	}
}

func (s *Server) serveOpenAPIV3(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/openapi/v3"), "/")
	w.Header().Set("Content-Type", "application/json")
	if rest == "" {
		paths := map[string]any{}
		for _, gv := range s.groups {
			doc, _ := json.Marshal(s.openAPIDoc(gv))
			sum := sha256.Sum256(doc)
			paths[gvPath(gv)] = map[string]any{"serverRelativeURL": "/openapi/v3/" + gvPath(gv) + "?hash=" + strings.ToUpper(hex.EncodeToString(sum[:16]))}
		}
		s.writeJSONRaw(w, map[string]any{"paths": paths})
		return
	}
	for _, gv := range s.groups {
		if gvPath(gv) == rest {
			s.writeJSONRaw(w, s.openAPIDoc(gv))
			return
		}
	}
	w.Header().Del("Content-Type")
	s.notFound(w, r)
}

// serveOpenAPIV2 answers a minimal, path-less swagger 2.0 document
// (protobuf, as kubectl asks for it, or JSON). kubectl falls back to v2
// for kinds v3 does not list; with no definitions it skips client-side
// validation, so an unknown kind gets kubectl's own "no matches for kind"
// error instead of "failed to download openapi".
func (s *Server) serveOpenAPIV2(w http.ResponseWriter, r *http.Request) {
	doc := &openapiv2.Document{
		Swagger: "2.0",
		Info:    &openapiv2.Info{Title: "peapod", Version: version.Info().GitVersion},
		Paths:   &openapiv2.Paths{},
	}
	if strings.Contains(r.Header.Get("Accept"), "protobuf") {
		data, err := proto.Marshal(doc)
		if err != nil {
			s.writeError(w, r, err, schema.GroupResource{}, "")
			return
		}
		w.Header().Set("Content-Type", "application/com.github.proto-openapi.spec.v2.v1.0+protobuf")
		w.WriteHeader(http.StatusOK)
		w.Write(data)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	s.writeJSONRaw(w, map[string]any{"swagger": "2.0", "info": map[string]any{"title": "peapod", "version": version.Info().GitVersion}, "paths": map[string]any{}})
}
