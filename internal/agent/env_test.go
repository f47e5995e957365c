package agent

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	authv1 "k8s.io/api/authentication/v1"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/peapod/peapod/internal/agent/volume"
)

// envObjects is an in-memory volume.ObjectSource.
type envObjects struct {
	secrets map[string]*v1.Secret
	cms     map[string]*v1.ConfigMap
}

var _ volume.ObjectSource = (*envObjects)(nil)

func (o *envObjects) GetSecret(ns, name string) (*v1.Secret, error) {
	if s, ok := o.secrets[ns+"/"+name]; ok {
		return s, nil
	}
	return nil, volume.NotFound("secret", name)
}

func (o *envObjects) GetConfigMap(ns, name string) (*v1.ConfigMap, error) {
	if c, ok := o.cms[ns+"/"+name]; ok {
		return c, nil
	}
	return nil, volume.NotFound("configmap", name)
}

func (o *envObjects) RequestToken(string, string, *authv1.TokenRequest) (*authv1.TokenRequest, error) {
	return nil, errors.New("no tokens here")
}

func TestContainerEnvFromObjects(t *testing.T) {
	objs := &envObjects{
		secrets: map[string]*v1.Secret{"ns/db": {Data: map[string][]byte{"user": []byte("admin"), "pw": []byte("s3cret")}},
			"ns/dollar": {Data: map[string][]byte{"X": []byte("from-secret$$(HOME)")}}},
		cms: map[string]*v1.ConfigMap{"ns/cfg": {Data: map[string]string{"lives": "3", "mode": "easy"}}},
	}
	pod := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"}}
	yes := true
	sk := func(name, key string, opt *bool) *v1.EnvVarSource {
		return &v1.EnvVarSource{SecretKeyRef: &v1.SecretKeySelector{LocalObjectReference: v1.LocalObjectReference{Name: name}, Key: key, Optional: opt}}
	}
	ck := func(name, key string, opt *bool) *v1.EnvVarSource {
		return &v1.EnvVarSource{ConfigMapKeyRef: &v1.ConfigMapKeySelector{LocalObjectReference: v1.LocalObjectReference{Name: name}, Key: key, Optional: opt}}
	}
	limits := v1.ResourceRequirements{Limits: v1.ResourceList{v1.ResourceMemory: resource.MustParse("64Mi"), v1.ResourceCPU: resource.MustParse("250m")}}
	cases := []struct {
		name    string
		c       v1.Container
		want    string
		wantErr string
	}{
		{name: "envFrom order, prefix, env overrides", c: v1.Container{
			EnvFrom: []v1.EnvFromSource{
				{ConfigMapRef: &v1.ConfigMapEnvSource{LocalObjectReference: v1.LocalObjectReference{Name: "cfg"}}},
				{Prefix: "DB_", SecretRef: &v1.SecretEnvSource{LocalObjectReference: v1.LocalObjectReference{Name: "db"}}},
				{SecretRef: &v1.SecretEnvSource{LocalObjectReference: v1.LocalObjectReference{Name: "gone"}, Optional: &yes}},
			},
			Env: []v1.EnvVar{{Name: "mode", Value: "hard"}, {Name: "U", ValueFrom: sk("db", "user", nil)}, {Name: "L", ValueFrom: ck("cfg", "lives", nil)}},
		}, want: "[{lives 3} {mode hard} {DB_pw s3cret} {DB_user admin} {U admin} {L 3}]"},
		// Only literal values are expanded, against what is defined when
		// they come (envFrom, then earlier entries); a Secret's or a
		// ConfigMap's value is used as it is (makeEnvironmentVariables).
		{name: "$(VAR) in literal values only", c: v1.Container{
			EnvFrom: []v1.EnvFromSource{{SecretRef: &v1.SecretEnvSource{LocalObjectReference: v1.LocalObjectReference{Name: "dollar"}}}},
			Env: []v1.EnvVar{{Name: "Y", Value: "$(X)"}, {Name: "X", Value: "from-env"}, {Name: "Z", Value: "$(X)-$(NOPE)-$$(X)"},
				{Name: "S", ValueFrom: sk("dollar", "X", nil)}},
		}, want: "[{X from-env} {Y from-secret$$(HOME)} {Z from-env-$(NOPE)-$(X)} {S from-secret$$(HOME)}]"},
		{name: "optional missing object and key skipped", c: v1.Container{Env: []v1.EnvVar{
			{Name: "A", ValueFrom: sk("gone", "k", &yes)}, {Name: "B", ValueFrom: ck("cfg", "gone", &yes)}, {Name: "C", Value: "c"}}},
			want: "[{C c}]"},
		{name: "resourceFieldRef with divisor", c: v1.Container{Name: "c", Resources: limits, Env: []v1.EnvVar{
			{Name: "MEM", ValueFrom: &v1.EnvVarSource{ResourceFieldRef: &v1.ResourceFieldSelector{Resource: "limits.memory", Divisor: resource.MustParse("1Mi")}}},
			{Name: "CPU", ValueFrom: &v1.EnvVarSource{ResourceFieldRef: &v1.ResourceFieldSelector{Resource: "limits.cpu"}}},
			{Name: "MCPU", ValueFrom: &v1.EnvVarSource{ResourceFieldRef: &v1.ResourceFieldSelector{Resource: "limits.cpu", Divisor: resource.MustParse("1m")}}},
		}}, want: "[{MEM 64} {CPU 1} {MCPU 250}]"},
		{name: "missing secret", c: v1.Container{Env: []v1.EnvVar{{Name: "A", ValueFrom: sk("x", "k", nil)}}},
			wantErr: `secret "x" not found`},
		{name: "missing key", c: v1.Container{Env: []v1.EnvVar{{Name: "A", ValueFrom: sk("db", "k", nil)}}},
			wantErr: "couldn't find key k in Secret ns/db"},
		{name: "missing configmap key", c: v1.Container{Env: []v1.EnvVar{{Name: "A", ValueFrom: ck("cfg", "k", nil)}}},
			wantErr: "couldn't find key k in ConfigMap ns/cfg"},
		{name: "missing envFrom configmap", c: v1.Container{EnvFrom: []v1.EnvFromSource{{ConfigMapRef: &v1.ConfigMapEnvSource{LocalObjectReference: v1.LocalObjectReference{Name: "x"}}}}},
			wantErr: `configmap "x" not found`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env, err := containerEnv(pod, &c.c, podNetwork{}, objs, nil, nil)
			if c.wantErr != "" {
				if !errors.Is(err, errConfig) || err.Error() != c.wantErr {
					t.Fatalf("err = %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprint(env); got != c.want {
				t.Fatalf("env %s, want %s", got, c.want)
			}
		})
	}
	// Static pods: a clear error.
	_, err := containerEnv(pod, &v1.Container{Env: []v1.EnvVar{{Name: "A", ValueFrom: sk("db", "pw", nil)}}}, podNetwork{}, nil, nil, nil)
	if !errors.Is(err, volume.ErrNoAPIServer) {
		t.Fatalf("static pod: %v", err)
	}
}

func TestKubernetesServiceEnv(t *testing.T) {
	cases := []struct{ addr, want, wantErr string }{
		{addr: "192.0.2.2:6443", want: "[{KUBERNETES_SERVICE_HOST 192.0.2.2} {KUBERNETES_SERVICE_PORT 6443} {KUBERNETES_SERVICE_PORT_HTTPS 6443} " +
			"{KUBERNETES_PORT tcp://192.0.2.2:6443} {KUBERNETES_PORT_6443_TCP tcp://192.0.2.2:6443} {KUBERNETES_PORT_6443_TCP_PROTO tcp} " +
			"{KUBERNETES_PORT_6443_TCP_PORT 6443} {KUBERNETES_PORT_6443_TCP_ADDR 192.0.2.2}]"},
		// IPv6: bracketed in the URLs only (envvars.makeLinkVariables'
		// net.JoinHostPort).
		{addr: "[fd00::1]:443", want: "[{KUBERNETES_SERVICE_HOST fd00::1} {KUBERNETES_SERVICE_PORT 443} {KUBERNETES_SERVICE_PORT_HTTPS 443} " +
			"{KUBERNETES_PORT tcp://[fd00::1]:443} {KUBERNETES_PORT_443_TCP tcp://[fd00::1]:443} {KUBERNETES_PORT_443_TCP_PROTO tcp} " +
			"{KUBERNETES_PORT_443_TCP_PORT 443} {KUBERNETES_PORT_443_TCP_ADDR fd00::1}]"},
		{addr: "", want: "[]"},
		{addr: "192.0.2.2", wantErr: "missing port"},
		{addr: "fd00::1:443", wantErr: "too many colons"},
		{addr: "192.0.2.2:0", wantErr: "want host:port"},
		{addr: "192.0.2.2:https", wantErr: "want host:port"},
		{addr: ":6443", wantErr: "want host:port"},
	}
	for _, c := range cases {
		env, err := kubernetesServiceEnv(c.addr)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%q: err %v, want %q", c.addr, err, c.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%q: %v", c.addr, err)
		}
		if got := fmt.Sprint(env); got != c.want {
			t.Errorf("%q:\n got %s\nwant %s", c.addr, got, c.want)
		}
	}
}

// The service variables as makeEnvironmentVariables has them: the
// container's own names (envFrom or env) win, $(VAR) in a literal value
// sees a service variable that the container has not (yet) set, and the
// rest come after the container's, whatever enableServiceLinks says.
func TestContainerEnvServiceLinks(t *testing.T) {
	svc, err := kubernetesServiceEnv("192.0.2.2:6443")
	if err != nil {
		t.Fatal(err)
	}
	no := false
	pod := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"}, Spec: v1.PodSpec{EnableServiceLinks: &no}}
	objs := &envObjects{cms: map[string]*v1.ConfigMap{"ns/cfg": {Data: map[string]string{"KUBERNETES_SERVICE_HOST": "from-cm"}}}}
	const rest = "{KUBERNETES_SERVICE_PORT 6443} {KUBERNETES_SERVICE_PORT_HTTPS 6443} {KUBERNETES_PORT tcp://192.0.2.2:6443} " +
		"{KUBERNETES_PORT_6443_TCP tcp://192.0.2.2:6443} {KUBERNETES_PORT_6443_TCP_PROTO tcp} {KUBERNETES_PORT_6443_TCP_PORT 6443} {KUBERNETES_PORT_6443_TCP_ADDR 192.0.2.2}"
	cases := []struct {
		name string
		c    v1.Container
		want string
	}{
		{name: "none of its own", c: v1.Container{},
			want: "[{KUBERNETES_SERVICE_HOST 192.0.2.2} " + rest + "]"},
		{name: "expansion against service variables", c: v1.Container{Env: []v1.EnvVar{
			{Name: "URL", Value: "https://$(KUBERNETES_SERVICE_HOST):$(KUBERNETES_SERVICE_PORT)/api"},
			// A service variable the container sets itself: its own
			// value refers to the service's (MappingFuncFor(tmpEnv,
			// serviceEnv)), and wins.
			{Name: "KUBERNETES_SERVICE_HOST", Value: "my-$(KUBERNETES_SERVICE_HOST)"},
			{Name: "AFTER", Value: "$(KUBERNETES_SERVICE_HOST)"},
		}}, want: "[{URL https://192.0.2.2:6443/api} {KUBERNETES_SERVICE_HOST my-192.0.2.2} {AFTER my-192.0.2.2} " + rest + "]"},
		{name: "envFrom wins too", c: v1.Container{
			EnvFrom: []v1.EnvFromSource{{ConfigMapRef: &v1.ConfigMapEnvSource{LocalObjectReference: v1.LocalObjectReference{Name: "cfg"}}}},
			Env:     []v1.EnvVar{{Name: "H", Value: "$(KUBERNETES_SERVICE_HOST)"}, {Name: "KUBERNETES_PORT", Value: "mine"}},
		}, want: "[{KUBERNETES_SERVICE_HOST from-cm} {H from-cm} {KUBERNETES_PORT mine} " +
			"{KUBERNETES_SERVICE_PORT 6443} {KUBERNETES_SERVICE_PORT_HTTPS 6443} {KUBERNETES_PORT_6443_TCP tcp://192.0.2.2:6443} " +
			"{KUBERNETES_PORT_6443_TCP_PROTO tcp} {KUBERNETES_PORT_6443_TCP_PORT 6443} {KUBERNETES_PORT_6443_TCP_ADDR 192.0.2.2}]"},
		// An optional value that is absent leaves the name unset: the
		// service's stays.
		{name: "skipped optional keeps the service value", c: v1.Container{Env: []v1.EnvVar{
			{Name: "KUBERNETES_SERVICE_HOST", ValueFrom: &v1.EnvVarSource{ConfigMapKeyRef: &v1.ConfigMapKeySelector{
				LocalObjectReference: v1.LocalObjectReference{Name: "gone"}, Key: "k", Optional: func() *bool { b := true; return &b }()}}},
		}}, want: "[{KUBERNETES_SERVICE_HOST 192.0.2.2} " + rest + "]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env, err := containerEnv(pod, &c.c, podNetwork{}, objs, svc, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprint(env); got != c.want {
				t.Fatalf("env\n got %s\nwant %s", got, c.want)
			}
		})
	}
	// Without an API server, no service variables and no expansion.
	env, err := containerEnv(pod, &v1.Container{Env: []v1.EnvVar{{Name: "H", Value: "$(KUBERNETES_SERVICE_HOST)"}}}, podNetwork{}, nil, nil, nil)
	if err != nil || fmt.Sprint(env) != "[{H $(KUBERNETES_SERVICE_HOST)}]" {
		t.Fatalf("no API server: %v %v", env, err)
	}
}
