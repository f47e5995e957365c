package agent

import (
	"errors"
	"fmt"
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
			env, err := containerEnv(pod, &c.c, podNetwork{}, objs)
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
	_, err := containerEnv(pod, &v1.Container{Env: []v1.EnvVar{{Name: "A", ValueFrom: sk("db", "pw", nil)}}}, podNetwork{}, nil)
	if !errors.Is(err, volume.ErrNoAPIServer) {
		t.Fatalf("static pod: %v", err)
	}
}
