package secret

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func errStrings(errs field.ErrorList) string {
	var out []string
	for _, e := range errs {
		out = append(out, string(e.Type)+" "+e.Field)
	}
	return strings.Join(out, ",")
}

func meta() metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: "mysecret", Namespace: "default", ResourceVersion: "3"}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name   string
		secret corev1.Secret
		want   string
	}{
		{"seed secret", corev1.Secret{ObjectMeta: meta(), Type: corev1.SecretTypeOpaque,
			Data: map[string][]byte{"username": []byte("admin"), "password": []byte("123456")}}, ""},
		{"file-named key", corev1.Secret{ObjectMeta: meta(), Data: map[string][]byte{"username.txt": nil, "-_.x": nil}}, ""},
		{"bad keys, sorted", corev1.Secret{ObjectMeta: meta(), Data: map[string][]byte{"b/x": nil, "a b": nil, "..": nil}},
			"FieldValueInvalid data[..],FieldValueInvalid data[a b],FieldValueInvalid data[b/x]"},
		{"too big", corev1.Secret{ObjectMeta: meta(), Data: map[string][]byte{"a": make([]byte, MaxSize), "b": []byte("x")}},
			"FieldValueTooLong data"},
		{"bad name", corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "My_Secret", Namespace: "default"}},
			"FieldValueInvalid metadata.name"},
		{"tls needs keys", corev1.Secret{ObjectMeta: meta(), Type: corev1.SecretTypeTLS},
			"FieldValueRequired data[tls.crt],FieldValueRequired data[tls.key]"},
		{"basic auth needs one key", corev1.Secret{ObjectMeta: meta(), Type: corev1.SecretTypeBasicAuth},
			"FieldValueRequired data[username],FieldValueRequired data[password]"},
		{"dockerconfigjson must be JSON", corev1.Secret{ObjectMeta: meta(), Type: corev1.SecretTypeDockerConfigJson,
			Data: map[string][]byte{".dockerconfigjson": []byte("{not json")}}, "FieldValueInvalid data[.dockerconfigjson]"},
		{"sa token needs annotation", corev1.Secret{ObjectMeta: meta(), Type: corev1.SecretTypeServiceAccountToken},
			"FieldValueRequired metadata.annotations[kubernetes.io/service-account.name]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := errStrings(Validate(&c.secret)); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestValidateUpdate(t *testing.T) {
	yes := true
	old := corev1.Secret{ObjectMeta: meta(), Type: corev1.SecretTypeOpaque, Data: map[string][]byte{"a": []byte("1")}}
	immutable := *old.DeepCopy()
	immutable.Immutable = &yes
	cases := []struct {
		name     string
		old, new func() *corev1.Secret
		want     string
	}{
		{"data change", func() *corev1.Secret { return old.DeepCopy() },
			func() *corev1.Secret { s := old.DeepCopy(); s.Data["a"] = []byte("2"); return s }, ""},
		{"type change", func() *corev1.Secret { return old.DeepCopy() },
			func() *corev1.Secret { s := old.DeepCopy(); s.Type = "other"; return s }, "FieldValueInvalid type"},
		{"immutable data", func() *corev1.Secret { return immutable.DeepCopy() },
			func() *corev1.Secret { s := immutable.DeepCopy(); s.Data["a"] = []byte("2"); return s }, "FieldValueForbidden data"},
		{"immutable unset", func() *corev1.Secret { return immutable.DeepCopy() },
			func() *corev1.Secret { s := immutable.DeepCopy(); s.Immutable = nil; return s }, "FieldValueForbidden immutable"},
		{"immutable labels may change", func() *corev1.Secret { return immutable.DeepCopy() },
			func() *corev1.Secret { s := immutable.DeepCopy(); s.Labels = map[string]string{"a": "b"}; return s }, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := errStrings(ValidateUpdate(c.new(), c.old())); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestStringDataFolded(t *testing.T) {
	s := NewResource().Strategy
	sec := &corev1.Secret{ObjectMeta: meta(), Data: map[string][]byte{"a": []byte("old"), "b": []byte("keep")},
		StringData: map[string]string{"a": "new", "c": "x"}}
	sec.Generation = 1
	s.PrepareForCreate(context.Background(), sec)
	if sec.Generation != 0 || sec.StringData != nil || string(sec.Data["a"]) != "new" || string(sec.Data["b"]) != "keep" || string(sec.Data["c"]) != "x" {
		t.Errorf("secret = %+v", sec)
	}
	upd := &corev1.Secret{ObjectMeta: meta(), StringData: map[string]string{"z": "1"}}
	s.PrepareForUpdate(context.Background(), upd, sec)
	if upd.StringData != nil || string(upd.Data["z"]) != "1" {
		t.Errorf("update = %+v", upd)
	}
}

func TestTableAndAttrs(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	res := NewResourceWithClock(func() time.Time { return now })
	sec := &corev1.Secret{ObjectMeta: meta(), Type: corev1.SecretTypeOpaque, Data: map[string][]byte{"a": nil, "b": nil}}
	sec.CreationTimestamp = metav1.NewTime(now.Add(-2 * time.Hour))
	tbl, err := res.Strategy.ConvertToTable(context.Background(), sec, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []interface{}{"mysecret", "Opaque", int64(2), "120m"}
	for i, w := range want {
		if tbl.Rows[0].Cells[i] != w {
			t.Errorf("cell %d = %#v, want %#v", i, tbl.Rows[0].Cells[i], w)
		}
	}
	_, f, _ := res.Strategy.GetAttrs(sec)
	if f["type"] != "Opaque" || f["metadata.name"] != "mysecret" {
		t.Errorf("fields = %v", f)
	}
}
