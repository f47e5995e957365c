// Package version holds the build version of peapod and the Kubernetes
// version it speaks.
package version

import (
	"runtime"

	"k8s.io/apimachinery/pkg/version"
)

// Set at link time with -ldflags "-X github.com/peapod/peapod/internal/version.GitVersion=...".
var (
	GitVersion = "v0.1.0-dev"
	GitCommit  = ""
)

// KubeMajor and KubeMinor are the Kubernetes API version peapod is built
// against (k8s.io/api v0.33). kubectl's dispatcher picks its client by the
// minor reported at /version, so this must match the API we serve.
const (
	KubeMajor = "1"
	KubeMinor = "33"
)

// Info is what /version reports.
func Info() version.Info {
	return version.Info{
		Major:        KubeMajor,
		Minor:        KubeMinor,
		GitVersion:   "v1.33.0-peapod+" + GitVersion,
		GitCommit:    GitCommit,
		GitTreeState: "clean",
		GoVersion:    runtime.Version(),
		Compiler:     runtime.Compiler,
		Platform:     runtime.GOOS + "/" + runtime.GOARCH,
	}
}
