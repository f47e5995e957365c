package cli

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"
)

// serverAgentOptions are the flags of `peapod server` for its own node
// agent (unless --disable-agent).
type serverAgentOptions struct {
	port       int
	nodeName   string
	nodeIP     string
	nodeLabels map[string]string
	podCIDR    string
	bridgeName string
}

func addServerAgentFlags(f *pflag.FlagSet, o *serverAgentOptions) {
	host, _ := os.Hostname()
	f.IntVar(&o.port, "agent-port", 10250, "port of the built-in agent's API")
	f.StringVar(&o.nodeName, "node-name", strings.ToLower(host), "node name of the built-in agent")
	f.StringVar(&o.nodeIP, "node-ip", "", "IP of the built-in agent's node (default: the first non-loopback IPv4 address)")
	f.StringToStringVar(&o.nodeLabels, "node-labels", nil, "labels of the built-in agent's node, k=v,...")
	f.StringVar(&o.podCIDR, "pod-cidr", "10.85.0.0/24", "pod subnet of the built-in agent's node")
	f.StringVar(&o.bridgeName, "bridge-name", "peapod0", "pod network bridge of the built-in agent")
}

// startServerAgent runs the node agent of `peapod server` in-process: it
// joins self (https://...) with the node token, sharing the server's data
// dir; its pods get the server's address as KUBERNETES_SERVICE_* (none
// when it binds loopback only; serverPodURL). The returned channel closes when the agent has stopped (ctx ended;
// containers keep running).
func startServerAgent(ctx context.Context, o *serverOptions, self string, nodeToken string, log *slog.Logger, stderr io.Writer) <-chan struct{} {
	done := make(chan struct{})
	ao := &agentOptions{
		dataDir:       o.dataDir,
		nodeName:      o.agent.nodeName,
		nodeIP:        o.agent.nodeIP,
		address:       "0.0.0.0",
		port:          o.agent.port,
		bridgeName:    o.agent.bridgeName,
		podCIDR:       o.agent.podCIDR,
		cgroupParent:  "peapod",
		clusterDomain: "cluster.local",
		server:        self,
		podServer:     serverPodURL(o.bindAddress, o.securePort),
		tokenFile:     filepath.Join(o.dataDir, nodeTokenFile),
		join: agentJoinOptions{
			caFile:     filepath.Join(o.dataDir, pkiDir, "ca.crt"),
			nodeLabels: o.agent.nodeLabels,
			token:      nodeToken,
		},
	}
	go func() {
		defer close(done)
		log.Info("starting the node agent", "node", ao.nodeName, "port", ao.port)
		if err := runAgent(ctx, ao, stderr); err != nil && ctx.Err() == nil {
			log.Error("node agent stopped", "err", err)
		}
	}()
	return done
}
