package apiserver

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/peapod/peapod/internal/registry"
	"github.com/peapod/peapod/internal/storage"
)

// Storage keys: /registry/<resource>/<namespace>/<name> or
// /registry/<resource>/<name> (cluster scope).

func objectKey(res *registry.Resource, namespace, name string) string {
	if res.Namespaced {
		return "/registry/" + res.GVR.Resource + "/" + namespace + "/" + name
	}
	return "/registry/" + res.GVR.Resource + "/" + name
}

// collectionKey is the prefix of a collection, with a trailing slash so
// that namespace "a" does not match "ab".
// An empty namespace on a namespaced resource is the all-namespaces
// collection (GET /api/v1/pods).
func collectionKey(res *registry.Resource, namespace string) string {
	if res.Namespaced && namespace != "" {
		return "/registry/" + res.GVR.Resource + "/" + namespace + "/"
	}
	return "/registry/" + res.GVR.Resource + "/"
}

// alwaysSelectable are the field selector keys every resource supports.
var alwaysSelectable = []string{"metadata.name", "metadata.namespace"}

// listOptions parses the query of a list or watch: selectors, resource
// version, chunking and bookmarks.
func listOptions(r *http.Request, res *registry.Resource) (storage.ListOptions, error) {
	q := r.URL.Query()
	opts := storage.ListOptions{
		ResourceVersion:      q.Get("resourceVersion"),
		ResourceVersionMatch: q.Get("resourceVersionMatch"),
		Recursive:            true,
		ProgressNotify:       isTrue(q.Get("allowWatchBookmarks")),
	}
	switch opts.ResourceVersionMatch {
	case "", "NotOlderThan", "Exact":
	default:
		return opts, badRequest("resourceVersionMatch: unsupported value %q: supported values are \"Exact\" and \"NotOlderThan\"", opts.ResourceVersionMatch)
	}
	if v := q.Get("sendInitialEvents"); v != "" {
		b := isTrue(v)
		opts.SendInitialEvents = &b
	}
	ls, err := labels.Parse(q.Get("labelSelector"))
	if err != nil {
		return opts, badRequest("unable to parse requirement: %v", err)
	}
	fs, err := fields.ParseSelector(q.Get("fieldSelector"))
	if err != nil {
		return opts, badRequest("invalid field selector: %v", err)
	}
	if err := checkFieldSelector(res, fs); err != nil {
		return opts, err
	}
	opts.Predicate = storage.SelectionPredicate{Label: ls, Field: fs, GetAttrs: res.Strategy.GetAttrs, Continue: q.Get("continue")}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.ParseInt(l, 10, 64)
		if err != nil || n < 0 {
			return opts, badRequest("invalid limit %q", l)
		}
		opts.Predicate.Limit = n
	}
	return opts, nil
}

// checkFieldSelector refuses keys the resource cannot select on.
func checkFieldSelector(res *registry.Resource, fs fields.Selector) error {
	fsetter, ok := res.Strategy.(registry.FieldSetter)
	if !ok {
		return nil
	}
	known := append(append([]string{}, alwaysSelectable...), fsetter.SelectableFields()...)
	for _, req := range fs.Requirements() {
		found := false
		for _, k := range known {
			if k == req.Field {
				found = true
			}
		}
		if !found {
			quoted := make([]string, len(known))
			for i, k := range known {
				quoted[i] = strconv.Quote(k)
			}
			return badRequest("%q is not a known field selector: only %s", req.Field, strings.Join(quoted, ", "))
		}
	}
	return nil
}

// dryRun parses ?dryRun=All.
func dryRun(r *http.Request) (bool, error) {
	vals := r.URL.Query()["dryRun"]
	for _, v := range vals {
		if v != metav1.DryRunAll {
			return false, badRequest("dryRun: unsupported value %q: supported values: \"All\"", v)
		}
	}
	return len(vals) > 0, nil
}

// fieldManager returns ?fieldManager= or a name derived from the
// User-Agent, as kube-apiserver does.
func fieldManager(r *http.Request) (string, error) {
	m := r.URL.Query().Get("fieldManager")
	if m == "" {
		m = strings.Split(r.Header.Get("User-Agent"), "/")[0]
		if len(m) > 128 {
			m = m[:128]
		}
		return m, nil
	}
	if len(m) > 128 {
		return "", badRequest("fieldManager: Too long: may not be more than 128 bytes")
	}
	for _, c := range m {
		if c < 0x20 || c > 0x7e {
			return "", badRequest("fieldManager: Invalid value: %q: must be printable ASCII", m)
		}
	}
	return m, nil
}

// deleteOptionsFromQuery fills DeleteOptions from the query string (used
// when the DELETE has no body).
func deleteOptionsFromQuery(r *http.Request, opts *metav1.DeleteOptions) error {
	q := r.URL.Query()
	if v := q.Get("gracePeriodSeconds"); v != "" && opts.GracePeriodSeconds == nil {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return badRequest("invalid gracePeriodSeconds %q", v)
		}
		opts.GracePeriodSeconds = &n
	}
	if v := q.Get("propagationPolicy"); v != "" && opts.PropagationPolicy == nil {
		p := metav1.DeletionPropagation(v)
		opts.PropagationPolicy = &p
	}
	if v := q["dryRun"]; len(v) > 0 && len(opts.DryRun) == 0 {
		opts.DryRun = v
	}
	for _, v := range opts.DryRun {
		if v != metav1.DryRunAll {
			return badRequest("dryRun: unsupported value %q: supported values: \"All\"", v)
		}
	}
	if opts.PropagationPolicy != nil {
		switch *opts.PropagationPolicy {
		case metav1.DeletePropagationBackground, metav1.DeletePropagationForeground, metav1.DeletePropagationOrphan:
		default:
			return badRequest("propagationPolicy: Unsupported value: %q", fmt.Sprint(*opts.PropagationPolicy))
		}
	}
	return nil
}
