package image

import (
	"errors"
	"testing"

	v1 "k8s.io/api/core/v1"
)

func TestShouldPull(t *testing.T) {
	for _, tc := range []struct {
		policy  v1.PullPolicy
		present bool
		pull    bool
		err     error
	}{
		{v1.PullAlways, true, true, nil},
		{v1.PullAlways, false, true, nil},
		{v1.PullIfNotPresent, true, false, nil},
		{v1.PullIfNotPresent, false, true, nil},
		{"", false, true, nil},
		{"", true, false, nil},
		{v1.PullNever, true, false, nil},
		{v1.PullNever, false, false, ErrNeverPull},
	} {
		pull, err := ShouldPull(tc.policy, tc.present)
		if pull != tc.pull || !errors.Is(err, tc.err) || (tc.err == nil && err != nil) {
			t.Errorf("ShouldPull(%q, %v) = %v, %v; want %v, %v", tc.policy, tc.present, pull, err, tc.pull, tc.err)
		}
	}
	if _, err := ShouldPull("Sometimes", true); err == nil {
		t.Error("unknown policy: no error")
	}
}

func TestNeverPullMessage(t *testing.T) {
	want := `Container image "busybox" is not present with pull policy of Never`
	if got := NeverPullMessage("busybox"); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
