package volume

import (
	"context"
	"fmt"

	authv1 "k8s.io/api/authentication/v1"
	v1 "k8s.io/api/core/v1"
)

// Projected merges secret, configMap, downwardAPI and serviceAccountToken
// sources into one tmpfs directory, updated when any of them changes (the
// token past 80% of its life).
type Projected struct{}

var _ Plugin = (*Projected)(nil)

func (*Projected) Dir() string { return "kubernetes.io~projected" }

func (*Projected) Handles(v *v1.Volume) bool { return v.Projected != nil }

// Updates marks the plugin for re-running SetUp on every sync.
func (*Projected) Updates() {}

func (*Projected) SetUp(_ context.Context, req SetUpRequest) (string, error) {
	payload, err := projectedPayload(req)
	if err != nil {
		return "", err
	}
	return writeVolume(req, true, payload)
}

func (*Projected) TearDown(_ context.Context, dir string) error { return removeDir(dir) }

// DefaultTokenExpiration is a serviceAccountToken source's default life.
const DefaultTokenExpiration int64 = 3600

// projectedPayload is the files of req's projected volume.
func projectedPayload(req SetUpRequest) (map[string]FileProjection, error) {
	pod, src, objs, own := req.Pod, req.Volume.Projected, req.objects(), req.Ownership
	mode := modeOr(src.DefaultMode, defaultMode)
	out := map[string]FileProjection{}
	for _, s := range src.Sources {
		var part map[string]FileProjection
		var err error
		switch {
		case s.Secret != nil:
			part, err = secretPayload(objs, pod.Namespace, s.Secret.Name, s.Secret.Items, mode, s.Secret.Optional != nil && *s.Secret.Optional)
		case s.ConfigMap != nil:
			part, err = configMapPayload(objs, pod.Namespace, s.ConfigMap.Name, s.ConfigMap.Items, mode, s.ConfigMap.Optional != nil && *s.ConfigMap.Optional)
		case s.DownwardAPI != nil:
			part, err = downwardPayload(pod, s.DownwardAPI.Items, mode, req.Allocatable)
		case s.ServiceAccountToken != nil:
			part, err = tokenPayload(pod, s.ServiceAccountToken, tokenMode(mode, own), own.FsUser, objs)
		default:
			err = fmt.Errorf("unsupported projected volume source")
		}
		if err != nil {
			return nil, err
		}
		mergePayload(out, part)
	}
	return out, nil
}

// tokenMode is the kubelet's: the volume's defaultMode, but 0600 when the
// pod has an fsGroup or a single runAsUser (fsGroup then makes it 0640), so
// a token is never readable by every user of the container.
func tokenMode(mode int32, own Ownership) int32 {
	if own.FsUser != nil || own.FsGroup != nil {
		return 0o600
	}
	return mode
}

func tokenPayload(pod *v1.Pod, tp *v1.ServiceAccountTokenProjection, mode int32, fsUser *int64, objs ObjectSource) (map[string]FileProjection, error) {
	exp := DefaultTokenExpiration
	if tp.ExpirationSeconds != nil {
		exp = *tp.ExpirationSeconds
	}
	var auds []string
	if tp.Audience != "" {
		auds = []string{tp.Audience}
	}
	sa := pod.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	tr, err := objs.RequestToken(pod.Namespace, sa, &authv1.TokenRequest{Spec: authv1.TokenRequestSpec{
		Audiences:         auds,
		ExpirationSeconds: &exp,
		BoundObjectRef:    &authv1.BoundObjectReference{APIVersion: "v1", Kind: "Pod", Name: pod.Name, UID: pod.UID},
	}})
	if err != nil {
		return nil, fmt.Errorf("failed to fetch token: %w", err)
	}
	return map[string]FileProjection{tp.Path: {Data: []byte(tr.Status.Token), Mode: mode, FsUser: fsUser}}, nil
}
