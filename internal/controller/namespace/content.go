package namespace

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
)

// Discoverer lists the server's resources (discovery.DiscoveryInterface
// satisfies it).
type Discoverer interface {
	ServerPreferredNamespacedResources() ([]*metav1.APIResourceList, error)
}

var _ Discoverer = (discovery.DiscoveryInterface)(nil)

// deletableResources are the namespaced resources that can be listed and
// deleted, with whether deletecollection is served.
func deletableResources(d Discoverer) (map[schema.GroupVersionResource]bool, error) {
	lists, err := d.ServerPreferredNamespacedResources()
	out := map[schema.GroupVersionResource]bool{}
	for _, l := range discovery.FilteredBy(discovery.SupportsAllVerbs{Verbs: []string{"list", "delete"}}, lists) {
		gv, perr := schema.ParseGroupVersion(l.GroupVersion)
		if perr != nil {
			continue
		}
		for _, r := range l.APIResources {
			coll := false
			for _, v := range r.Verbs {
				if v == "deletecollection" {
					coll = true
				}
			}
			out[gv.WithResource(r.Name)] = coll
		}
	}
	return out, err
}

// deleteContent deletes every object of every namespaced resource in ns
// (pods with the grace the API decides) and reports what is left.
func deleteContent(ctx context.Context, dyn dynamic.Interface, disc Discoverer, ns string) Content {
	c := Content{DeleteErrs: map[string]error{}, Remaining: map[string]int{}, Finalizers: map[string]int{}}
	resources, err := deletableResources(disc)
	if err != nil {
		c.DiscoveryErr = err
	}
	for gvr, coll := range resources {
		name := gvr.Resource
		if gvr.Group != "" {
			name += "." + gvr.Group
		}
		ri := dyn.Resource(gvr).Namespace(ns)
		// The namespace field selector is redundant with the URL, and
		// guards against a server that lists across namespaces.
		inNS := metav1.ListOptions{FieldSelector: "metadata.namespace=" + ns}
		if coll {
			if err := ri.DeleteCollection(ctx, metav1.DeleteOptions{}, inNS); err != nil && !apierrors.IsNotFound(err) && !apierrors.IsMethodNotSupported(err) {
				c.DeleteErrs[name] = fmt.Errorf("deletecollection: %w", err)
			}
		}
		list, err := ri.List(ctx, inNS)
		if err != nil {
			if !apierrors.IsNotFound(err) {
				c.DeleteErrs[name] = fmt.Errorf("list: %w", err)
			}
			continue
		}
		deleted := false
		for i := range list.Items {
			item := &list.Items[i]
			if item.GetDeletionTimestamp() != nil || item.GetNamespace() != ns {
				continue
			}
			uid := item.GetUID()
			err := ri.Delete(ctx, item.GetName(), metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
			if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
				c.DeleteErrs[name] = fmt.Errorf("delete %s: %w", item.GetName(), err)
			}
			deleted = true
		}
		if deleted {
			if list, err = ri.List(ctx, inNS); err != nil {
				c.DeleteErrs[name] = fmt.Errorf("list: %w", err)
				continue
			}
		}
		for i := range list.Items {
			if list.Items[i].GetNamespace() != ns {
				continue
			}
			c.Remaining[name]++
			for _, f := range list.Items[i].GetFinalizers() {
				c.Finalizers[f]++
			}
		}
	}
	return c
}
