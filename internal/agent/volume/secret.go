package volume

import (
	"context"

	v1 "k8s.io/api/core/v1"
)

// Secret writes a Secret's keys as files on a tmpfs, updated when the
// Secret changes.
type Secret struct{}

var _ Plugin = (*Secret)(nil)

func (*Secret) Dir() string { return "kubernetes.io~secret" }

func (*Secret) Handles(v *v1.Volume) bool { return v.Secret != nil }

// Updates marks the plugin for re-running SetUp on every sync.
func (*Secret) Updates() {}

func (*Secret) SetUp(_ context.Context, req SetUpRequest) (string, error) {
	src := req.Volume.Secret
	payload, err := secretPayload(req.objects(), req.Pod.Namespace, src.SecretName, src.Items,
		modeOr(src.DefaultMode, defaultMode), src.Optional != nil && *src.Optional)
	if err != nil {
		return "", err
	}
	return writeVolume(req, true, payload)
}

func (*Secret) TearDown(_ context.Context, dir string) error { return removeDir(dir) }
