package oci

import (
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	v1 "k8s.io/api/core/v1"
)

// The container's seccomp profile over the pod's; RuntimeDefault is the
// runtime's default filter (EPERM for what it does not list), Localhost a
// JSON profile, Unconfined and privileged containers none.
func TestSeccomp(t *testing.T) {
	rd := &v1.SeccompProfile{Type: v1.SeccompProfileTypeRuntimeDefault}
	un := &v1.SeccompProfile{Type: v1.SeccompProfileTypeUnconfined}
	if EffectiveSeccomp(&v1.SecurityContext{SeccompProfile: un}, &v1.PodSecurityContext{SeccompProfile: rd}) != un ||
		EffectiveSeccomp(nil, &v1.PodSecurityContext{SeccompProfile: rd}) != rd || EffectiveSeccomp(nil, nil) != nil {
		t.Fatal("EffectiveSeccomp")
	}
	s := &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{Bounding: []string{"CAP_CHOWN"}}}, Linux: &specs.Linux{}}
	got, err := seccompFor(rd, nil, s, false)
	if err != nil || got == nil || got.DefaultAction != specs.ActErrno || len(got.Syscalls) < 10 {
		t.Fatalf("RuntimeDefault: %v %+v", err, got)
	}
	for _, p := range []*v1.SeccompProfile{nil, un} {
		if got, err := seccompFor(p, nil, s, false); got != nil || err != nil {
			t.Fatalf("%v: %+v %v", p, got, err)
		}
	}
	if got, _ := seccompFor(rd, nil, s, true); got != nil {
		t.Fatal("a privileged container got a filter")
	}
	name := "deny-mkdir.json"
	lh := &v1.SeccompProfile{Type: v1.SeccompProfileTypeLocalhost, LocalhostProfile: &name}
	prof := `{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}`
	got, err = seccompFor(lh, []byte(prof), s, false)
	if err != nil || got.DefaultAction != specs.ActAllow || len(got.Syscalls) != 1 || got.Syscalls[0].Action != specs.ActErrno {
		t.Fatalf("Localhost: %v %+v", err, got)
	}
	if _, err := seccompFor(lh, nil, s, false); err == nil || !strings.Contains(err.Error(), "deny-mkdir.json") {
		t.Fatalf("missing profile: %v", err)
	}
	if _, err := seccompFor(lh, []byte("{"), s, false); err == nil {
		t.Fatal("a broken profile was accepted")
	}
}
