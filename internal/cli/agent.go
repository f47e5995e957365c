package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	v1 "k8s.io/api/core/v1"

	"github.com/peapod/peapod/internal/agent"
	"github.com/peapod/peapod/internal/agent/node"
	"github.com/peapod/peapod/internal/agent/server"
	"github.com/peapod/peapod/internal/agent/volume"
	"github.com/peapod/peapod/internal/image"
	"github.com/peapod/peapod/internal/runtime/runc"
)

// agentOptions are the flags of `peapod agent`.
type agentOptions struct {
	podManifestPath string
	dataDir         string
	nodeName        string
	nodeIP          string
	address         string
	port            int
	bridgeName      string
	podCIDR         string
	cgroupParent    string
	clusterDomain   string
	warmSandboxes   int
	server          string
	tokenFile       string
	join            agentJoinOptions
	// podServer is the API server URL whose address pods get as
	// KUBERNETES_SERVICE_HOST/PORT (podAPIServerAddress): --server for
	// `peapod agent`, the server's own for its in-process agent ("" for
	// none).
	podServer string
	// standalone is set for `peapod agent` (not the server's in-process
	// agent): the agent owns the process's memory settings.
	standalone bool
}

func newAgentCommand() *cobra.Command {
	o := &agentOptions{}
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run the node agent: the pods of a manifest directory (static pods)",
		Long: `Run the node agent. It runs the pods whose manifests are in --pod-manifest-path
(*.yaml, *.yml, *.json, one Pod each) and serves /healthz and /pods on --port.
Stopping the agent leaves the containers running; the next agent on the same
--data-dir adopts them.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.standalone = true
			o.podServer = o.server
			return runAgent(cmd.Context(), o, cmd.ErrOrStderr())
		},
	}
	host, _ := os.Hostname()
	f := cmd.Flags()
	f.StringVar(&o.podManifestPath, "pod-manifest-path", "", "directory of static pod manifests to run (required until --server is supported)")
	f.StringVar(&o.dataDir, "data-dir", "/var/lib/peapod", "directory for the agent's state, images, pod logs and volumes")
	f.StringVar(&o.nodeName, "node-name", strings.ToLower(host), "this node's name (static pods are named <name>-<node-name>)")
	f.StringVar(&o.nodeIP, "node-ip", "", "this node's IP, reported as the pods' hostIP and, when --server is on this host, where pods reach it (default: the first non-loopback IPv4 address)")
	f.StringVar(&o.address, "address", "127.0.0.1", "address the agent's HTTP endpoint binds")
	f.IntVar(&o.port, "port", 10250, "port of the agent's API (/healthz, /pods, logs, exec, attach, port-forward; docs/agent-api.md)")
	f.StringVar(&o.bridgeName, "bridge-name", "peapod0", "the pod network bridge (at most 15 characters; one per agent on a host)")
	f.StringVar(&o.podCIDR, "pod-cidr", "10.85.0.0/24", "the pod subnet of this node (one per agent on a host)")
	f.StringVar(&o.cgroupParent, "cgroup-parent", "peapod", "cgroup under which pods run")
	f.StringVar(&o.clusterDomain, "cluster-domain", "cluster.local", "DNS domain of the cluster (for pods with a subdomain)")
	f.IntVar(&o.warmSandboxes, "warm-sandboxes", 0, "keep this many pod sandboxes ready ahead of time (faster pod starts; 0 disables)")
	f.StringVar(&o.server, "server", "", "API server URL (https://host:6443): register this node and run the pods bound to it (needs --token-file); pods get its address as KUBERNETES_SERVICE_HOST/PORT")
	addAgentJoinFlags(f, &o.join)
	f.StringVar(&o.tokenFile, "token-file", "", "node token file: serve the agent API over TLS and require this bearer token (without it the API is plain HTTP on loopback only)")
	return cmd
}

func (o *agentOptions) validate() error {
	var errs []error
	if o.podManifestPath == "" && o.server == "" {
		errs = append(errs, errors.New("--pod-manifest-path or --server is required"))
	}
	if o.nodeName == "" {
		errs = append(errs, errors.New("--node-name is required (the hostname could not be read)"))
	}
	if o.port <= 0 || o.port > 65535 {
		errs = append(errs, fmt.Errorf("--port %d: must be 1-65535", o.port))
	}
	if len(o.bridgeName) == 0 || len(o.bridgeName) > 15 {
		errs = append(errs, fmt.Errorf("--bridge-name %q: must be 1-15 characters", o.bridgeName))
	}
	if _, _, err := net.ParseCIDR(o.podCIDR); err != nil {
		errs = append(errs, fmt.Errorf("--pod-cidr: %w", err))
	}
	if o.warmSandboxes < 0 {
		errs = append(errs, fmt.Errorf("--warm-sandboxes %d: must not be negative", o.warmSandboxes))
	}
	if o.nodeIP != "" && net.ParseIP(o.nodeIP) == nil {
		errs = append(errs, fmt.Errorf("--node-ip %q: not an IP address", o.nodeIP))
	}
	return errors.Join(errs...)
}

func runAgent(ctx context.Context, o *agentOptions, logw io.Writer) error {
	if err := o.validate(); err != nil {
		return err
	}
	if ip := net.ParseIP(o.address); o.tokenFile == "" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("--address %q: without --token-file the agent API (logs, exec, port-forward) is unauthenticated and may only bind a loopback address", o.address)
	}
	logger := log.New(logw, "agent: ", log.LstdFlags|log.Lmicroseconds)
	logf := logger.Printf
	if o.standalone {
		// The agent's own process: a soft memory limit kept above the live
		// heap (as the server's --memory-limit auto), a smaller GOGC, and
		// the executable's unused pages given back (docs/agent.md).
		applyMemoryLimit(ctx, memoryLimitSetting{base: agent.DefaultMemoryLimit, fromEnv: os.Getenv("GOMEMLIMIT") != ""},
			slog.New(slog.NewTextHandler(logw, nil)).With("component", "agent"))
		logf("GC percent %d (GOGC overrides)", agent.SetDefaultGCPercent(os.Getenv))
		go releaseExecPages(ctx, logf)
	}

	dataDir, err := filepath.Abs(o.dataDir)
	if err != nil {
		return err
	}
	if fi, err := os.Stat(o.podManifestPath); o.podManifestPath != "" && (err != nil || !fi.IsDir()) {
		return fmt.Errorf("--pod-manifest-path %q: not a directory", o.podManifestPath)
	}
	if err := os.MkdirAll(filepath.Join(dataDir, "pods"), 0o755); err != nil {
		return err
	}
	nodeIP := o.nodeIP
	if nodeIP == "" {
		nodeIP = firstHostIPv4()
	}
	resolv, _ := os.ReadFile("/etc/resolv.conf")
	apiServer, err := podAPIServerAddress(o.podServer, nodeIP, lookupIP)
	if err != nil {
		logf("WARNING: pods get no KUBERNETES_SERVICE_* variables: %v", err)
	} else if apiServer != "" {
		logf("pods reach the API server at %s (KUBERNETES_SERVICE_HOST, KUBERNETES_SERVICE_PORT)", apiServer)
	}

	images, err := image.Open(filepath.Join(dataDir, "images"))
	if err != nil {
		return fmt.Errorf("image store: %w", err)
	}
	rt, err := runc.New(runc.Config{
		DataDir:       dataDir,
		Images:        images,
		Bridge:        o.bridgeName,
		PodCIDR:       o.podCIDR,
		CgroupParent:  o.cgroupParent,
		WarmSandboxes: o.warmSandboxes,
		Logf:          func(f string, a ...any) { logf("runtime: "+f, a...) },
	})
	if err != nil {
		return fmt.Errorf("runtime: %w", err)
	}

	status := agent.NewMemoryStatus()
	var sink agent.StatusSink = status
	var lister agent.PodLister = status
	var recorder agent.Recorder
	var join *agentJoin
	// Admission (docs/agent.md): against the Node object with --server,
	// else against the host's own figures and --node-labels.
	host := node.ReadHost(dataDir)
	nodeSource := agent.StaticNode(node.AdmitNode(node.Desired(node.Config{
		Name: o.nodeName, Labels: o.join.nodeLabels, Host: host,
	})))
	// What the node reports as allocatable is what the downward API gives
	// for unset limits (env and volumes).
	allocatable := node.Capacity(host)
	if o.server != "" {
		if join, err = newAgentJoin(o, dataDir, nodeIP, logf); err != nil {
			return err
		}
		sink, lister, recorder = join.status, join.status, join.events
		nodeSource = join.heartbeat.Node
	}
	mgr, err := agent.NewManager(agent.Config{
		Runtime:        rt,
		Volumes:        volume.NewManager(volume.DefaultPlugins()...).WithAllocatable(allocatable),
		Allocatable:    allocatable,
		Status:         sink,
		Events:         recorder,
		DataDir:        dataDir,
		NodeName:       o.nodeName,
		HostIP:         nodeIP,
		ClusterDomain:  o.clusterDomain,
		HostResolvConf: resolv,
		Logf:           logf,
		Objects:        join.objectSource(),
		APIServer:      apiServer,
		Node:           nodeSource,
		HostAppArmor:   host.AppArmor,
	})
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", net.JoinHostPort(o.address, strconv.Itoa(o.port)))
	if err != nil {
		return fmt.Errorf("agent endpoint: %w", err)
	}
	// The agent API (docs/agent-api.md): logs, exec, attach, port-forward,
	// and /pods. With --token-file: TLS and the node token; without, plain
	// HTTP on loopback (checked at the start).
	apiCfg := server.Config{
		Pods:     server.NewRuntimeLookup(rt),
		Runtime:  rt,
		Fallback: agent.Handler(lister),
		Logf:     func(f string, a ...any) { logf("api: "+f, a...) },
	}
	if o.tokenFile != "" {
		tok, err := os.ReadFile(o.tokenFile)
		if err != nil {
			ln.Close()
			return fmt.Errorf("--token-file: %w", err)
		}
		cert, err := server.EnsureServingCert(filepath.Join(dataDir, "pki"), []string{o.nodeName, nodeIP}, time.Now())
		if err != nil {
			ln.Close()
			return fmt.Errorf("agent serving certificate: %w", err)
		}
		apiCfg.Authenticate = server.StaticToken(strings.TrimSpace(string(tok)))
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	}
	srv := &http.Server{Handler: server.New(apiCfg), ReadHeaderTimeout: 10 * time.Second}
	srvErr := make(chan error, 1)
	go func() { srvErr <- srv.Serve(ln) }()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	updates := make(chan []*v1.Pod)
	src := &agent.StaticSource{Dir: o.podManifestPath, NodeName: o.nodeName, Logf: logf}
	if join == nil {
		go src.Run(ctx, updates)
	} else if err := join.start(ctx, updates, staticRun(o, src)); err != nil {
		srv.Close()
		return err
	}
	mgrDone := make(chan struct{})
	go func() { mgr.Run(ctx, updates); close(mgrDone) }()
	logf("node %s (%s): running the static pods of %s; serving on %s", o.nodeName, nodeIP, o.podManifestPath, ln.Addr())

	select {
	case <-ctx.Done():
	case err = <-srvErr:
		err = fmt.Errorf("agent endpoint: %w", err)
	}
	cancel()
	<-mgrDone
	shutdown, stop := context.WithTimeout(context.Background(), 5*time.Second)
	defer stop()
	srv.Shutdown(shutdown)
	// With no pods left, leave nothing of the network behind either.
	if sbs, lerr := rt.ListPodSandboxes(shutdown); lerr == nil && len(sbs) == 0 {
		if perr := rt.Prune(shutdown); perr != nil {
			logf("pruning the pod network: %v", perr)
		}
	} else {
		rt.Close() // stop refilling the warm pool; the next agent adopts it
	}
	logf("stopped; containers keep running")
	return err
}

// firstHostIPv4 is the first non-loopback IPv4 address of an interface
// that is up.
func firstHostIPv4() string {
	ifs, err := net.Interfaces()
	if err != nil {
		return ""
	}
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, _ := ifc.Addrs()
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLinkLocalUnicast() {
				return n.IP.String()
			}
		}
	}
	return ""
}

// Pages of the executable resident but unused (the server's package
// initialisation, kernel fault-around) are given back once the agent has
// started, then now and then (see agent.ReleaseExecPages).
const (
	releaseExecFirst = 30 * time.Second
	releaseExecEvery = 10 * time.Minute
)

func releaseExecPages(ctx context.Context, logf func(string, ...any)) {
	t := time.NewTimer(releaseExecFirst)
	defer t.Stop()
	for first := true; ; first = false {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := agent.ReleaseExecPages(); err != nil {
			logf("releasing the executable's unused pages: %v (not retried)", err)
			return
		}
		if first {
			logf("released the executable's unused pages (again every %v)", releaseExecEvery)
		}
		t.Reset(releaseExecEvery)
	}
}
