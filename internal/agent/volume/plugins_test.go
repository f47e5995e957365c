package volume

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	authv1 "k8s.io/api/authentication/v1"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// fakeObjects is an in-memory ObjectSource.
type fakeObjects struct {
	secrets map[string]*v1.Secret
	cms     map[string]*v1.ConfigMap
	tokens  []*authv1.TokenRequest
}

var _ ObjectSource = (*fakeObjects)(nil)

func (f *fakeObjects) GetSecret(ns, name string) (*v1.Secret, error) {
	if s, ok := f.secrets[ns+"/"+name]; ok {
		return s, nil
	}
	return nil, NotFound("secret", name)
}

func (f *fakeObjects) GetConfigMap(ns, name string) (*v1.ConfigMap, error) {
	if c, ok := f.cms[ns+"/"+name]; ok {
		return c, nil
	}
	return nil, NotFound("configmap", name)
}

func (f *fakeObjects) RequestToken(ns, sa string, req *authv1.TokenRequest) (*authv1.TokenRequest, error) {
	f.tokens = append(f.tokens, req)
	out := req.DeepCopy()
	out.Status.Token = "tok-" + ns + "-" + sa
	return out, nil
}

func ptr[T any](v T) *T { return &v }

func testObjects() *fakeObjects {
	return &fakeObjects{
		secrets: map[string]*v1.Secret{
			"ns/user": {Data: map[string][]byte{"username.txt": []byte("admin")}},
			"ns/pass": {Data: map[string][]byte{"password.txt": []byte("1f2d1e2e67df")}},
		},
		cms: map[string]*v1.ConfigMap{
			"ns/cfg":              {Data: map[string]string{"game.properties": "lives=3"}, BinaryData: map[string][]byte{"bin": {0, 1}}},
			"ns/kube-root-ca.crt": {Data: map[string]string{"ca.crt": "CA"}},
		},
	}
}

func testPod() *v1.Pod {
	return &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "u1",
			Labels: map[string]string{"zone": "us-est-coast", "cluster": "test-cluster1", "rack": `a"b`}},
		Spec: v1.PodSpec{Containers: []v1.Container{{Name: "c", Resources: v1.ResourceRequirements{
			Limits:   v1.ResourceList{v1.ResourceMemory: resource.MustParse("64Mi"), v1.ResourceCPU: resource.MustParse("250m")},
			Requests: v1.ResourceList{v1.ResourceMemory: resource.MustParse("32Mi")},
		}}}},
	}
}

func files(p map[string]FileProjection) string {
	var out []string
	for _, k := range sortedKeys(func() map[string]string {
		m := map[string]string{}
		for k := range p {
			m[k] = ""
		}
		return m
	}()) {
		out = append(out, k+"="+string(p[k].Data)+"@"+os.FileMode(p[k].Mode).String())
	}
	return strings.Join(out, " ")
}

func TestPayloads(t *testing.T) {
	objs := testObjects()
	pod := testPod()
	cases := []struct {
		name    string
		src     v1.VolumeSource
		want    string
		wantErr string
	}{
		{name: "secret all keys", src: v1.VolumeSource{Secret: &v1.SecretVolumeSource{SecretName: "user"}},
			want: "username.txt=admin@-rw-r--r--"},
		{name: "secret items and modes", src: v1.VolumeSource{Secret: &v1.SecretVolumeSource{SecretName: "user", DefaultMode: ptr(int32(0o400)),
			Items: []v1.KeyToPath{{Key: "username.txt", Path: "my/group/user", Mode: ptr(int32(0o600))}, {Key: "username.txt", Path: "u"}}}},
			want: "my/group/user=admin@-rw------- u=admin@-r--------"},
		{name: "secret missing", src: v1.VolumeSource{Secret: &v1.SecretVolumeSource{SecretName: "nope"}},
			wantErr: `secret "nope" not found`},
		{name: "secret missing optional", src: v1.VolumeSource{Secret: &v1.SecretVolumeSource{SecretName: "nope", Optional: ptr(true)}}},
		{name: "secret missing key", src: v1.VolumeSource{Secret: &v1.SecretVolumeSource{SecretName: "user", Items: []v1.KeyToPath{{Key: "k", Path: "k"}}}},
			wantErr: "references non-existent secret key: k"},
		{name: "configmap data and binaryData", src: v1.VolumeSource{ConfigMap: &v1.ConfigMapVolumeSource{LocalObjectReference: v1.LocalObjectReference{Name: "cfg"}}},
			want: "bin=\x00\x01@-rw-r--r-- game.properties=lives=3@-rw-r--r--"},
		{name: "configmap missing key", src: v1.VolumeSource{ConfigMap: &v1.ConfigMapVolumeSource{LocalObjectReference: v1.LocalObjectReference{Name: "cfg"}, Items: []v1.KeyToPath{{Key: "k", Path: "k"}}}},
			wantErr: "configmap references non-existent config key: k"},
		{name: "configmap missing key optional", src: v1.VolumeSource{ConfigMap: &v1.ConfigMapVolumeSource{LocalObjectReference: v1.LocalObjectReference{Name: "cfg"}, Optional: ptr(true), Items: []v1.KeyToPath{{Key: "k", Path: "k"}}}}},
		{name: "downward", src: v1.VolumeSource{DownwardAPI: &v1.DownwardAPIVolumeSource{Items: []v1.DownwardAPIVolumeFile{
			{Path: "labels", FieldRef: &v1.ObjectFieldSelector{FieldPath: "metadata.labels"}},
			{Path: "name", FieldRef: &v1.ObjectFieldSelector{FieldPath: "metadata.name"}},
			{Path: "zone", FieldRef: &v1.ObjectFieldSelector{FieldPath: "metadata.labels['zone']"}},
			{Path: "mem", ResourceFieldRef: &v1.ResourceFieldSelector{ContainerName: "c", Resource: "limits.memory", Divisor: resource.MustParse("1Mi")}},
			{Path: "cpu", ResourceFieldRef: &v1.ResourceFieldSelector{ContainerName: "c", Resource: "limits.cpu"}},
			{Path: "mcpu", ResourceFieldRef: &v1.ResourceFieldSelector{ContainerName: "c", Resource: "limits.cpu", Divisor: resource.MustParse("1m")}},
			{Path: "req", ResourceFieldRef: &v1.ResourceFieldSelector{ContainerName: "c", Resource: "requests.memory"}},
		}}},
			want: "cpu=1@-rw-r--r-- labels=cluster=\"test-cluster1\"\nrack=\"a\\\"b\"\nzone=\"us-est-coast\"@-rw-r--r-- mcpu=250@-rw-r--r-- mem=64@-rw-r--r-- name=p@-rw-r--r-- req=33554432@-rw-r--r-- zone=us-est-coast@-rw-r--r--"},
		{name: "downward env-only field", src: v1.VolumeSource{DownwardAPI: &v1.DownwardAPIVolumeSource{Items: []v1.DownwardAPIVolumeFile{
			{Path: "ip", FieldRef: &v1.ObjectFieldSelector{FieldPath: "status.podIP"}}}}},
			wantErr: `unsupported fieldPath "status.podIP"`},
		{name: "projected", src: v1.VolumeSource{Projected: &v1.ProjectedVolumeSource{Sources: []v1.VolumeProjection{
			{Secret: &v1.SecretProjection{LocalObjectReference: v1.LocalObjectReference{Name: "user"}}},
			{Secret: &v1.SecretProjection{LocalObjectReference: v1.LocalObjectReference{Name: "pass"}}},
			{ServiceAccountToken: &v1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: ptr(int64(3607))}},
			{ConfigMap: &v1.ConfigMapProjection{LocalObjectReference: v1.LocalObjectReference{Name: "kube-root-ca.crt"}, Items: []v1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}}}},
			{DownwardAPI: &v1.DownwardAPIProjection{Items: []v1.DownwardAPIVolumeFile{{Path: "namespace", FieldRef: &v1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}}}},
		}}},
			want: "ca.crt=CA@-rw-r--r-- namespace=ns@-rw-r--r-- password.txt=1f2d1e2e67df@-rw-r--r-- token=tok-ns-default@-rw-r--r-- username.txt=admin@-rw-r--r--"},
		{name: "projected missing secret", src: v1.VolumeSource{Projected: &v1.ProjectedVolumeSource{Sources: []v1.VolumeProjection{
			{Secret: &v1.SecretProjection{LocalObjectReference: v1.LocalObjectReference{Name: "nope"}}}}}},
			wantErr: `secret "nope" not found`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var p map[string]FileProjection
			var err error
			switch s := c.src; {
			case s.Secret != nil:
				p, err = secretPayload(objs, "ns", s.Secret.SecretName, s.Secret.Items, modeOr(s.Secret.DefaultMode, defaultMode), s.Secret.Optional != nil && *s.Secret.Optional)
			case s.ConfigMap != nil:
				p, err = configMapPayload(objs, "ns", s.ConfigMap.Name, s.ConfigMap.Items, modeOr(s.ConfigMap.DefaultMode, defaultMode), s.ConfigMap.Optional != nil && *s.ConfigMap.Optional)
			case s.DownwardAPI != nil:
				p, err = downwardPayload(pod, s.DownwardAPI.Items, defaultMode, nil)
			case s.Projected != nil:
				p, err = projectedPayload(SetUpRequest{Pod: pod, Volume: &v1.Volume{VolumeSource: s}, Objects: objs})
			}
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := files(p); got != c.want {
				t.Fatalf("got  %q\nwant %q", got, c.want)
			}
		})
	}
	// The token is bound to the pod.
	last := objs.tokens[len(objs.tokens)-1]
	if r := last.Spec.BoundObjectRef; r == nil || r.Kind != "Pod" || r.Name != "p" || r.UID != "u1" || *last.Spec.ExpirationSeconds != 3607 {
		t.Fatalf("token request %+v", last.Spec)
	}
}

// A configMap volume (on disk, so no root) through the manager: files, an
// update on Refresh, references, and a missing object's FailedMount text.
func TestConfigMapVolumeRefresh(t *testing.T) {
	ctx := context.Background()
	objs := testObjects()
	pod := testPod()
	pod.Spec.Volumes = []v1.Volume{{Name: "cfg", VolumeSource: v1.VolumeSource{ConfigMap: &v1.ConfigMapVolumeSource{LocalObjectReference: v1.LocalObjectReference{Name: "cfg"}}}}}
	podDir := t.TempDir()
	m := NewManager(DefaultPlugins()...)
	paths, err := m.SetUp(ctx, pod, podDir, objs)
	if err != nil {
		t.Fatal(err)
	}
	dir := paths["cfg"]
	if dir != filepath.Join(podDir, "volumes/kubernetes.io~configmap/cfg") {
		t.Fatalf("dir %s", dir)
	}
	read := func() string {
		b, _ := os.ReadFile(filepath.Join(dir, "game.properties"))
		return string(b)
	}
	if read() != "lives=3" {
		t.Fatalf("content %q", read())
	}
	// A non-root container must reach the files: the root is 0777, as the
	// kubelet's emptyDir wrapper makes it.
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o777 {
		t.Fatalf("volume root: %v %v", fi.Mode(), err)
	}
	objs.cms["ns/cfg"] = &v1.ConfigMap{Data: map[string]string{"game.properties": "lives=4"}}
	if err := m.Refresh(ctx, pod, podDir, objs); err != nil {
		t.Fatal(err)
	}
	if read() != "lives=4" {
		t.Fatalf("after refresh %q", read())
	}
	if !References(pod, ObjectRef{"ConfigMap", "ns", "cfg"}) || References(pod, ObjectRef{"Secret", "ns", "cfg"}) || References(pod, ObjectRef{"ConfigMap", "other", "cfg"}) {
		t.Fatal("References wrong")
	}
	delete(objs.cms, "ns/cfg")
	err = m.Refresh(ctx, pod, podDir, objs)
	if err == nil || err.Error() != `MountVolume.SetUp failed for volume "cfg" : configmap "cfg" not found` {
		t.Fatalf("err = %v", err)
	}
	if read() != "lives=4" {
		t.Fatal("a failed refresh changed the files")
	}
	// Without an API server the error says why.
	_, err = m.SetUp(ctx, pod, t.TempDir(), nil)
	if err == nil || !strings.Contains(err.Error(), "static pods cannot reference Secrets/ConfigMaps") {
		t.Fatalf("err = %v", err)
	}
	if err := m.TearDown(ctx, podDir); err != nil {
		t.Fatal(err)
	}
}
