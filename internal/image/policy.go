package image

import (
	"errors"
	"fmt"

	v1 "k8s.io/api/core/v1"
)

// ErrNeverPull is returned by ShouldPull when the policy is Never and the
// image is absent; the agent reports it as ErrImageNeverPull with
// NeverPullMessage.
var ErrNeverPull = errors.New("image is not present with pull policy of Never")

// ShouldPull decides whether an image must be pulled under policy, given
// whether it is present in the store. An empty policy is IfNotPresent (the
// API server defaults it before the agent sees it).
func ShouldPull(policy v1.PullPolicy, present bool) (bool, error) {
	switch policy {
	case v1.PullAlways:
		return true, nil
	case v1.PullIfNotPresent, "":
		return !present, nil
	case v1.PullNever:
		if !present {
			return false, ErrNeverPull
		}
		return false, nil
	}
	return false, fmt.Errorf("unknown image pull policy %q", policy)
}

// NeverPullMessage is the kubelet's message for ErrImageNeverPull.
func NeverPullMessage(image string) string {
	return fmt.Sprintf("Container image %q is not present with pull policy of Never", image)
}
