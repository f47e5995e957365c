package volume

import (
	"errors"
	"fmt"

	authv1 "k8s.io/api/authentication/v1"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// ObjectSource gives the agent the Secrets, ConfigMaps and service account
// tokens its pods reference. Missing objects are NotFound errors
// (apierrors.IsNotFound) that read as the kubelet's: `secret "x" not found`.
type ObjectSource interface {
	GetSecret(namespace, name string) (*v1.Secret, error)
	GetConfigMap(namespace, name string) (*v1.ConfigMap, error)
	// RequestToken returns a token for the service account, cached and
	// renewed past 80% of its life.
	RequestToken(namespace, serviceAccount string, req *authv1.TokenRequest) (*authv1.TokenRequest, error)
}

// ObjectRef names a Secret or ConfigMap that changed.
type ObjectRef struct {
	Kind      string // "Secret" or "ConfigMap"
	Namespace string
	Name      string
}

// Notifier is implemented by object sources that report changes of the
// objects they were asked for.
type Notifier interface {
	// Subscribe calls fn (on the source's goroutine) after each change.
	Subscribe(fn func(ObjectRef))
}

// ErrNoAPIServer is what pods without an API server (static pods of an
// agent without --server) get for any object reference.
var ErrNoAPIServer = errors.New("static pods cannot reference Secrets/ConfigMaps (no API server)")

// NoAPIServer is the object source of an agent that runs static pods only.
type NoAPIServer struct{}

var _ ObjectSource = NoAPIServer{}

func (NoAPIServer) GetSecret(_, name string) (*v1.Secret, error) {
	return nil, fmt.Errorf("secret %q: %w", name, ErrNoAPIServer)
}

func (NoAPIServer) GetConfigMap(_, name string) (*v1.ConfigMap, error) {
	return nil, fmt.Errorf("configmap %q: %w", name, ErrNoAPIServer)
}

func (NoAPIServer) RequestToken(_, sa string, _ *authv1.TokenRequest) (*authv1.TokenRequest, error) {
	return nil, fmt.Errorf("token of service account %q: %w", sa, ErrNoAPIServer)
}

// NotFound is the kubelet's not-found error for kind ("secret" or
// "configmap"): `secret "x" not found`.
func NotFound(kind, name string) error {
	return apierrors.NewNotFound(schema.GroupResource{Resource: kind}, name)
}

// References reports whether pod uses the object, in a volume (directly or
// projected) or in a container's env/envFrom.
func References(pod *v1.Pod, ref ObjectRef) bool {
	if pod.Namespace != ref.Namespace {
		return false
	}
	for _, v := range pod.Spec.Volumes {
		switch {
		case v.Secret != nil && ref.Kind == "Secret" && v.Secret.SecretName == ref.Name:
			return true
		case v.ConfigMap != nil && ref.Kind == "ConfigMap" && v.ConfigMap.Name == ref.Name:
			return true
		case v.Projected != nil:
			for _, s := range v.Projected.Sources {
				if s.Secret != nil && ref.Kind == "Secret" && s.Secret.Name == ref.Name ||
					s.ConfigMap != nil && ref.Kind == "ConfigMap" && s.ConfigMap.Name == ref.Name {
					return true
				}
			}
		}
	}
	return false
}
