package oci

import (
	"fmt"

	"github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	v1 "k8s.io/api/core/v1"
)

// EffectiveSeccomp is the seccomp profile a container runs with: its own
// securityContext's, else the pod's (nil: unconfined, the kubelet's
// default without --seccomp-default).
func EffectiveSeccomp(sc *v1.SecurityContext, psc *v1.PodSecurityContext) *v1.SeccompProfile {
	if sc != nil && sc.SeccompProfile != nil {
		return sc.SeccompProfile
	}
	if psc != nil {
		return psc.SeccompProfile
	}
	return nil
}

// seccompFor is the spec's seccomp filter for profile p, as containerd's
// CRI builds it: RuntimeDefault is the runtime's default profile (moby's,
// which containerd's is derived from; syscalls that the spec's
// capabilities need are allowed), Localhost the JSON profile localhost
// (read by the runtime from its profile directory). Privileged containers
// and Unconfined get none.
func seccompFor(p *v1.SeccompProfile, localhost []byte, s *specs.Spec, privileged bool) (*specs.LinuxSeccomp, error) {
	if p == nil || privileged {
		return nil, nil
	}
	switch p.Type {
	case v1.SeccompProfileTypeRuntimeDefault:
		return seccomp.GetDefaultProfile(s)
	case v1.SeccompProfileTypeLocalhost:
		name := ""
		if p.LocalhostProfile != nil {
			name = *p.LocalhostProfile
		}
		if len(localhost) == 0 {
			return nil, fmt.Errorf("seccomp profile %q: empty or not found", name)
		}
		out, err := seccomp.LoadProfile(string(localhost), s)
		if err != nil {
			return nil, fmt.Errorf("seccomp profile %q: %w", name, err)
		}
		return out, nil
	}
	return nil, nil
}
