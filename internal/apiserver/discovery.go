package apiserver

import (
	"mime"
	"net/http"
	"sort"
	"strings"

	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/peapod/peapod/internal/registry"
)

// Discovery: aggregated (apidiscovery.k8s.io/v2) when the Accept header
// asks for it, legacy otherwise.

const aggregatedContentType = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"

var resourceVerbs = []string{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}

// subresourceInfo is how each subresource appears in discovery.
var subresourceInfo = map[string]struct {
	verbs []string
	kind  func(r *registry.Resource) schema.GroupVersionKind
}{
	"status":   {[]string{"get", "patch", "update"}, func(r *registry.Resource) schema.GroupVersionKind { return r.GVK() }},
	"finalize": {[]string{"update"}, func(r *registry.Resource) schema.GroupVersionKind { return r.GVK() }},
	"ephemeralcontainers": {[]string{"get", "patch", "update"}, func(r *registry.Resource) schema.GroupVersionKind {
		return r.GVK()
	}},
	"binding": {[]string{"create"}, func(*registry.Resource) schema.GroupVersionKind {
		return schema.GroupVersionKind{Version: "v1", Kind: "Binding"}
	}},
	"token": {[]string{"create"}, func(*registry.Resource) schema.GroupVersionKind {
		return schema.GroupVersionKind{Group: "authentication.k8s.io", Version: "v1", Kind: "TokenRequest"}
	}},
	"log": {[]string{"get"}, func(*registry.Resource) schema.GroupVersionKind {
		return schema.GroupVersionKind{Version: "v1", Kind: "Pod"}
	}},
	"exec": {[]string{"create", "get"}, func(*registry.Resource) schema.GroupVersionKind {
		return schema.GroupVersionKind{Version: "v1", Kind: "PodExecOptions"}
	}},
	"attach": {[]string{"create", "get"}, func(*registry.Resource) schema.GroupVersionKind {
		return schema.GroupVersionKind{Version: "v1", Kind: "PodAttachOptions"}
	}},
	"portforward": {[]string{"create", "get"}, func(*registry.Resource) schema.GroupVersionKind {
		return schema.GroupVersionKind{Version: "v1", Kind: "PodPortForwardOptions"}
	}},
}

func wantsAggregated(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil || mt != "application/json" {
			continue
		}
		if params["g"] == "apidiscovery.k8s.io" && params["v"] == "v2" && params["as"] == "APIGroupDiscoveryList" {
			return true
		}
		if params["as"] == "" {
			return false // plain JSON preferred first
		}
	}
	return false
}

// sortedResources returns the resources of gv by name.
func (s *Server) sortedResources(gv schema.GroupVersion) []*registry.Resource {
	var out []*registry.Resource
	for _, r := range s.resources[gv] {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GVR.Resource < out[j].GVR.Resource })
	return out
}

func (s *Server) aggregated(core bool) *apidiscoveryv2.APIGroupDiscoveryList {
	list := &apidiscoveryv2.APIGroupDiscoveryList{TypeMeta: metav1.TypeMeta{Kind: "APIGroupDiscoveryList", APIVersion: "apidiscovery.k8s.io/v2"}}
	for _, gv := range s.groups {
		if (gv.Group == "") != core {
			continue
		}
		ver := apidiscoveryv2.APIVersionDiscovery{Version: gv.Version, Freshness: apidiscoveryv2.DiscoveryFreshnessCurrent}
		for _, r := range s.sortedResources(gv) {
			scope := apidiscoveryv2.ScopeCluster
			if r.Namespaced {
				scope = apidiscoveryv2.ScopeNamespace
			}
			gvk := r.GVK()
			d := apidiscoveryv2.APIResourceDiscovery{
				Resource: r.GVR.Resource, ResponseKind: &metav1.GroupVersionKind{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind},
				Scope: scope, SingularResource: r.SingularName, Verbs: resourceVerbs, ShortNames: r.ShortNames, Categories: r.Categories,
			}
			for _, sub := range subresources(r) {
				si, ok := subresourceInfo[sub]
				if !ok {
					continue
				}
				k := si.kind(r)
				d.Subresources = append(d.Subresources, apidiscoveryv2.APISubresourceDiscovery{
					Subresource: sub, Verbs: si.verbs, ResponseKind: &metav1.GroupVersionKind{Group: k.Group, Version: k.Version, Kind: k.Kind}})
			}
			ver.Resources = append(ver.Resources, d)
		}
		// one group per name; peapod serves one version per group
		list.Items = append(list.Items, apidiscoveryv2.APIGroupDiscovery{ObjectMeta: metav1.ObjectMeta{Name: gv.Group}, Versions: []apidiscoveryv2.APIVersionDiscovery{ver}})
	}
	return list
}

func (s *Server) writeAggregated(w http.ResponseWriter, list *apidiscoveryv2.APIGroupDiscoveryList) {
	w.Header().Set("Content-Type", aggregatedContentType)
	w.Header().Set("Vary", "Accept")
	s.writeJSONRaw(w, list)
}

func (s *Server) serveCoreDiscovery(w http.ResponseWriter, r *http.Request) {
	if wantsAggregated(r) {
		s.writeAggregated(w, s.aggregated(true))
		return
	}
	w.Header().Set("Vary", "Accept")
	s.writeJSON(w, r, http.StatusOK, &metav1.APIVersions{TypeMeta: metav1.TypeMeta{Kind: "APIVersions"}, Versions: []string{"v1"},
		ServerAddressByClientCIDRs: []metav1.ServerAddressByClientCIDR{{ClientCIDR: "0.0.0.0/0", ServerAddress: r.Host}}})
}

func (s *Server) apiGroup(gv schema.GroupVersion) metav1.APIGroup {
	v := metav1.GroupVersionForDiscovery{GroupVersion: gv.String(), Version: gv.Version}
	return metav1.APIGroup{Name: gv.Group, Versions: []metav1.GroupVersionForDiscovery{v}, PreferredVersion: v}
}

func (s *Server) serveGroupsDiscovery(w http.ResponseWriter, r *http.Request) {
	if wantsAggregated(r) {
		s.writeAggregated(w, s.aggregated(false))
		return
	}
	list := &metav1.APIGroupList{TypeMeta: metav1.TypeMeta{Kind: "APIGroupList", APIVersion: "v1"}, Groups: []metav1.APIGroup{}}
	for _, gv := range s.groups {
		if gv.Group != "" {
			list.Groups = append(list.Groups, s.apiGroup(gv))
		}
	}
	w.Header().Set("Vary", "Accept")
	s.writeJSON(w, r, http.StatusOK, list)
}

func (s *Server) serveGroupDiscovery(w http.ResponseWriter, r *http.Request, group string) {
	for _, gv := range s.groups {
		if gv.Group == group && group != "" {
			g := s.apiGroup(gv)
			g.TypeMeta = metav1.TypeMeta{Kind: "APIGroup", APIVersion: "v1"}
			s.writeJSON(w, r, http.StatusOK, &g)
			return
		}
	}
	s.notFound(w, r)
}

func (s *Server) serveResourceDiscovery(w http.ResponseWriter, r *http.Request, gv schema.GroupVersion) {
	if _, ok := s.resources[gv]; !ok {
		s.notFound(w, r)
		return
	}
	list := &metav1.APIResourceList{TypeMeta: metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"}, GroupVersion: gv.String()}
	for _, res := range s.sortedResources(gv) {
		list.APIResources = append(list.APIResources, metav1.APIResource{
			Name: res.GVR.Resource, SingularName: res.SingularName, Namespaced: res.Namespaced, Kind: res.Kind,
			Verbs: resourceVerbs, ShortNames: res.ShortNames, Categories: res.Categories,
		})
		for _, sub := range subresources(res) {
			si, ok := subresourceInfo[sub]
			if !ok {
				continue
			}
			k := si.kind(res)
			list.APIResources = append(list.APIResources, metav1.APIResource{
				Name: res.GVR.Resource + "/" + sub, Namespaced: res.Namespaced, Group: k.Group, Version: k.Version, Kind: k.Kind, Verbs: si.verbs})
		}
	}
	s.writeJSON(w, r, http.StatusOK, list)
}
