package serviceaccount

import (
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func metaAccessor(obj any) (metav1.Object, error) { return meta.Accessor(obj) }

// isTerminatingErr: the API refused a create because the namespace is
// being deleted (NamespaceTerminating cause, or kube's message).
func isTerminatingErr(err error) bool {
	if apierrors.HasStatusCause(err, "NamespaceTerminating") {
		return true
	}
	return strings.Contains(err.Error(), "because it is being terminated")
}
