package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/spf13/pflag"
	v1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/peapod/peapod/internal/agent"
	"github.com/peapod/peapod/internal/agent/apisource"
	"github.com/peapod/peapod/internal/agent/events"
	"github.com/peapod/peapod/internal/agent/node"
	"github.com/peapod/peapod/internal/agent/objects"
	"github.com/peapod/peapod/internal/agent/status"
	"github.com/peapod/peapod/internal/agent/volume"
	"github.com/peapod/peapod/internal/auth"
	"github.com/peapod/peapod/internal/version"
)

// agentJoinOptions are the flags of `peapod agent` for joining a server.
type agentJoinOptions struct {
	caFile     string
	nodeLabels map[string]string
	// token is the node token itself (the server's in-process agent);
	// otherwise it is read from --token-file.
	token string
}

func addAgentJoinFlags(f *pflag.FlagSet, o *agentJoinOptions) {
	f.StringVar(&o.caFile, "ca-file", "", "CA certificate of the API server (the server's <data-dir>/pki/ca.crt); without it the server's certificate is not verified")
	f.StringToStringVar(&o.nodeLabels, "node-labels", nil, "labels of this node, k=v,... (with --server)")
}

// agentJoin links an agent to the API server: its status manager, event
// recorder, node heartbeat and pod source.
type agentJoin struct {
	client    kubernetes.Interface
	status    *status.Manager
	events    *events.Recorder
	heartbeat *node.Heartbeat
	source    *apisource.Source
	objects   *objects.Source
	logf      func(string, ...any)
}

// newAgentJoin builds the API side of an agent started with --server.
func newAgentJoin(o *agentOptions, dataDir, nodeIP string, logf func(string, ...any)) (*agentJoin, error) {
	if ip := net.ParseIP(o.address); ip != nil && ip.IsLoopback() && !net.ParseIP(nodeIP).IsLoopback() {
		// The API server reaches the agent API (logs, exec, port-forward)
		// at the node's InternalIP: a loopback bind would refuse it.
		logf("--server: the agent API binds 0.0.0.0 (not %s) so the API server can reach it at %s", o.address, nodeIP)
		o.address = "0.0.0.0"
	}
	token := o.join.token
	if token == "" {
		if o.tokenFile == "" {
			return nil, errors.New("--server needs --token-file (the server's <data-dir>/node-token)")
		}
		b, err := os.ReadFile(o.tokenFile)
		if err != nil {
			return nil, fmt.Errorf("--token-file: %w", err)
		}
		token = strings.TrimSpace(string(b))
	}
	cfg := &rest.Config{
		Host:        o.server,
		BearerToken: token,
		QPS:         200,
		Burst:       400,
		UserAgent:   "peapod-agent/" + o.nodeName,
	}
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { return nodeNameHeader{rt, o.nodeName} })
	if o.join.caFile != "" {
		ca, err := os.ReadFile(o.join.caFile)
		if err != nil {
			return nil, fmt.Errorf("--ca-file: %w", err)
		}
		cfg.TLSClientConfig.CAData = ca
	} else {
		logf("WARNING: no --ca-file: the API server's certificate is NOT verified (use the server's <data-dir>/pki/ca.crt)")
		cfg.TLSClientConfig.Insecure = true
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("API client: %w", err)
	}
	host := node.ReadHost(dataDir)
	host.RuntimeVersion = "runc://" + runcVersion()
	host.KubeletVersion = version.Info().GitVersion
	hb, err := node.New(client, node.Config{
		Name: o.nodeName, Labels: o.join.nodeLabels, NodeIP: nodeIP, PodCIDR: o.podCIDR,
		Port: int32(o.port), Host: host, DataDir: dataDir, Logf: logf,
	})
	if err != nil {
		return nil, err
	}
	st := status.New(client, func(f string, a ...any) { logf("status: "+f, a...) })
	return &agentJoin{
		client:    client,
		status:    st,
		events:    events.New(client, o.nodeName, 1000, logf),
		heartbeat: hb,
		source:    &apisource.Source{Client: client, NodeName: o.nodeName, Logf: logf, OnUpdate: st.PodUpdated},
		objects:   objects.New(client, nil, logf),
		logf:      logf,
	}, nil
}

// start registers the node (retrying until ctx ends) and runs the status
// manager, recorder, heartbeat and the pod sources merged into updates.
// static may be nil.
func (j *agentJoin) start(ctx context.Context, updates chan<- []*v1.Pod, static apisource.RunFunc) error {
	for {
		err := j.heartbeat.Register(ctx)
		if err == nil {
			break
		}
		j.logf("registering the node: %v (retrying)", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
	go j.status.Run(ctx)
	go j.objects.Run(ctx)
	go j.events.Run(ctx)
	go j.heartbeat.Run(ctx)
	sources := []apisource.RunFunc{j.source.Run}
	if static != nil {
		sources = append(sources, static)
	}
	go apisource.Merge(ctx, updates, sources...)
	return nil
}

// objectSource is the Secrets/ConfigMaps/tokens source of the agent's
// pods: nil (none, static pods only) without --server.
func (j *agentJoin) objectSource() volume.ObjectSource {
	if j == nil {
		return nil
	}
	return j.objects
}

// runcVersion is the version of the runc on PATH ("unknown" if none).
func runcVersion() string {
	out, err := exec.Command("runc", "--version").Output()
	if err != nil {
		return "unknown"
	}
	// "runc version 1.1.12+ds1\ncommit: ..."
	first, _, _ := strings.Cut(string(out), "\n")
	if f := strings.Fields(first); len(f) >= 3 {
		return f[2]
	}
	return "unknown"
}

// nodeNameHeader names the node the node token speaks for.
type nodeNameHeader struct {
	rt   http.RoundTripper
	name string
}

func (n nodeNameHeader) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set(auth.NodeNameHeader, n.name)
	return n.rt.RoundTrip(r)
}

// staticRun is the static source of an agent with --server, or nil
// without --pod-manifest-path.
func staticRun(o *agentOptions, src *agent.StaticSource) apisource.RunFunc {
	if o.podManifestPath == "" {
		return nil
	}
	return src.Run
}
