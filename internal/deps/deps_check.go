//go:build depscheck

// Package deps exists only to check that the chosen dependency set builds
// together; it is compiled with -tags depscheck.
package deps

import (
	_ "github.com/containernetworking/cni/libcni"
	_ "github.com/evanphx/json-patch"
	_ "github.com/google/go-containerregistry/pkg/registry"
	_ "github.com/google/go-containerregistry/pkg/v1/remote"
	_ "github.com/google/go-containerregistry/pkg/v1/tarball"
	_ "github.com/opencontainers/runtime-spec/specs-go"
	_ "github.com/prometheus/client_golang/prometheus/promhttp"
	_ "go.etcd.io/etcd/client/v3"
	_ "go.etcd.io/etcd/server/v3/embed"
	_ "k8s.io/apimachinery/pkg/util/httpstream/wsstream"
	_ "k8s.io/apimachinery/pkg/util/managedfields"
	_ "k8s.io/apimachinery/pkg/util/strategicpatch"
	_ "k8s.io/client-go/applyconfigurations"
	_ "k8s.io/client-go/kubernetes"
	_ "k8s.io/client-go/tools/leaderelection"
	_ "k8s.io/kubelet/pkg/cri/streaming/portforward"
	_ "k8s.io/kubelet/pkg/cri/streaming/remotecommand"
)
