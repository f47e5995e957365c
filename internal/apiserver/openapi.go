package apiserver

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// OpenAPI v3, as kube-apiserver serves it (kube-openapi pkg/handler3):
// /openapi/v3 indexes one document per served group-version by a
// serverRelativeURL carrying the document's hash; /openapi/v3/<gv> serves
// the document, with an ETag, and, when asked for by the right ?hash=, as
// cacheable for a year (a stale hash is redirected to the current one).
// kubectl reads these for `kubectl explain`, for whether PATCH takes
// fieldValidation (server-side validation) and for strategic merge patch
// metadata in client-side apply (KUBECTL.md §2).

func (s *Server) serveOpenAPIV3(w http.ResponseWriter, r *http.Request) {
	rest := strings.Trim(strings.TrimPrefix(r.URL.Path, "/openapi/v3"), "/")
	if rest == "" {
		s.serveOpenAPIV3Index(w, r)
		return
	}
	var gv schema.GroupVersion
	found := false
	for _, g := range s.groups {
		if gvPath(g) == rest {
			gv, found = g, true
			break
		}
	}
	if !found {
		s.notFound(w, r)
		return
	}
	if !acceptsJSON(r.Header.Get("Accept")) {
		s.writeStatus(w, r, &metav1.Status{Status: metav1.StatusFailure, Code: http.StatusNotAcceptable,
			Reason: metav1.StatusReasonNotAcceptable, Message: "only application/json is served for OpenAPI v3 documents"})
		return
	}
	doc, err := s.openAPIV3Doc(gv)
	if err != nil {
		s.writeError(w, r, err, schema.GroupResource{}, "")
		return
	}
	h := w.Header()
	h.Set("Vary", "Accept, Accept-Encoding")
	h.Set("Etag", strconv.Quote(doc.hash)) // also on a redirect, as kube
	if hash := r.URL.Query().Get("hash"); hash != "" {
		if hash != doc.hash {
			http.Redirect(w, r, openAPIV3URL(gv, doc.hash), http.StatusMovedPermanently)
			return
		}
		h.Set("Cache-Control", "public, immutable")
		h.Set("Expires", s.cfg.Now().AddDate(1, 0, 0).UTC().Format(http.TimeFormat))
	}
	h.Set("Content-Type", "application/json")
	s.writeOpenAPIBody(w, r, doc.body, doc.gzipped, doc.hash)
}

// writeOpenAPIBody answers 304 to an If-None-Match naming hash, else
// body: as it is, marked gzip-encoded when it is and the client accepts
// gzip, or decompressed on the fly for a client that does not.
func (s *Server) writeOpenAPIBody(w http.ResponseWriter, r *http.Request, body []byte, gzipped bool, hash string) {
	h := w.Header()
	h.Set("Etag", strconv.Quote(hash))
	if etagMatches(r.Header.Get("If-None-Match"), hash) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if !gzipped || acceptsGzip(r.Header.Get("Accept-Encoding")) {
		if gzipped {
			h.Set("Content-Encoding", "gzip")
		}
		h.Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusOK)
		w.Write(body)
		return
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		s.writeError(w, r, err, schema.GroupResource{}, "")
		return
	}
	w.WriteHeader(http.StatusOK)
	io.Copy(w, zr)
}

// serveOpenAPIV3Index answers /openapi/v3: every served group-version's
// document URL, hash included.
func (s *Server) serveOpenAPIV3Index(w http.ResponseWriter, r *http.Request) {
	type entry struct {
		ServerRelativeURL string `json:"serverRelativeURL"`
	}
	paths := map[string]entry{}
	for _, gv := range s.groups {
		doc, err := s.openAPIV3Doc(gv)
		if err != nil {
			s.writeError(w, r, err, schema.GroupResource{}, "")
			return
		}
		paths[gvPath(gv)] = entry{ServerRelativeURL: openAPIV3URL(gv, doc.hash)}
	}
	data, err := json.Marshal(map[string]any{"paths": paths})
	if err != nil {
		s.writeError(w, r, err, schema.GroupResource{}, "")
		return
	}
	w.Header().Set("Etag", strconv.Quote(openAPIHash(data)))
	w.Header().Set("Content-Type", "application/json")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
}

func openAPIV3URL(gv schema.GroupVersion, hash string) string {
	return "/openapi/v3/" + gvPath(gv) + "?" + url.Values{"hash": {hash}}.Encode()
}

// acceptsJSON reports whether an Accept header admits application/json
// (no header admits anything).
func acceptsJSON(accept string) bool {
	if strings.TrimSpace(accept) == "" {
		return true
	}
	for _, clause := range strings.Split(accept, ",") {
		typ, q := mediaRangeQ(clause)
		if q && (typ == "application/json" || typ == "application/*" || typ == "*/*") {
			return true
		}
	}
	return false
}

// acceptsGzip reports whether an Accept-Encoding header admits gzip.
func acceptsGzip(enc string) bool {
	for _, clause := range strings.Split(enc, ",") {
		coding, q := mediaRangeQ(clause)
		if q && (coding == "gzip" || coding == "*") {
			return true
		}
	}
	return false
}

// mediaRangeQ splits one clause of an Accept or Accept-Encoding header
// into its lower-cased value and whether its q is non-zero.
func mediaRangeQ(clause string) (string, bool) {
	parts := strings.Split(clause, ";")
	for _, p := range parts[1:] {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(k, "q") {
			if q, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && q == 0 {
				return "", false
			}
		}
	}
	return strings.ToLower(strings.TrimSpace(parts[0])), true
}

// etagMatches reports whether an If-None-Match header names the entity
// tag hash (quoted, possibly weak) or is "*".
func etagMatches(ifNoneMatch, hash string) bool {
	for _, tag := range strings.Split(ifNoneMatch, ",") {
		tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
		if tag == "*" || tag == strconv.Quote(hash) {
			return true
		}
	}
	return false
}

// serveOpenAPIV2 answers the swagger 2.0 document: the v3 documents'
// schemas as definitions, without paths, as protobuf when asked for
// (kubectl does) or JSON. kubectl 1.27+ reads v3 and uses v2 for
// `kubectl explain --output plaintext-openapiv2`, client-side validation
// of what v3 does not cover (a kind List's items) and, for a kind v3 does
// not list, the fieldValidation question: with no paths the answer is no,
// the client-side check passes a kind v2 does not define, and an unknown
// kind gets kubectl's own "no matches for kind" error (with paths kubectl
// would first list CustomResourceDefinitions, which are not served).
func (s *Server) serveOpenAPIV2(w http.ResponseWriter, r *http.Request) {
	name, ctype := "openapi/v2/swagger.json.gz", "application/json"
	if strings.Contains(r.Header.Get("Accept"), "protobuf") {
		name, ctype = "openapi/v2/swagger.pb.gz", "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
	}
	body, err := openAPIFiles.ReadFile(name)
	if err != nil {
		s.writeError(w, r, fmt.Errorf("openapi v2: %w", err), schema.GroupResource{}, "")
		return
	}
	w.Header().Set("Vary", "Accept, Accept-Encoding")
	w.Header().Set("Content-Type", ctype)
	s.writeOpenAPIBody(w, r, body, true, openAPIHash(body))
}
