package volume

import (
	"context"

	v1 "k8s.io/api/core/v1"
)

// ConfigMap writes a ConfigMap's keys (data and binaryData) as files on
// the node's disk, updated when the ConfigMap changes.
type ConfigMap struct{}

var _ Plugin = (*ConfigMap)(nil)

func (*ConfigMap) Dir() string { return "kubernetes.io~configmap" }

func (*ConfigMap) Handles(v *v1.Volume) bool { return v.ConfigMap != nil }

// Updates marks the plugin for re-running SetUp on every sync.
func (*ConfigMap) Updates() {}

func (*ConfigMap) SetUp(_ context.Context, req SetUpRequest) (string, error) {
	src := req.Volume.ConfigMap
	payload, err := configMapPayload(req.objects(), req.Pod.Namespace, src.Name, src.Items,
		modeOr(src.DefaultMode, defaultMode), src.Optional != nil && *src.Optional)
	if err != nil {
		return "", err
	}
	return writeVolume(req, false, payload)
}

func (*ConfigMap) TearDown(_ context.Context, dir string) error { return removeDir(dir) }
