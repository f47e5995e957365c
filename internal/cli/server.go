package cli

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"
	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/apimachinery/pkg/runtime"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	settingsv1alpha1 "github.com/peapod/peapod/internal/apis/settings/v1alpha1"
	"github.com/peapod/peapod/internal/apiserver"
	"github.com/peapod/peapod/internal/apiserver/admission"
	"github.com/peapod/peapod/internal/auth"
	"github.com/peapod/peapod/internal/registry"
	"github.com/peapod/peapod/internal/registry/clusterrole"
	"github.com/peapod/peapod/internal/registry/clusterrolebinding"
	"github.com/peapod/peapod/internal/registry/configmap"
	"github.com/peapod/peapod/internal/registry/event"
	"github.com/peapod/peapod/internal/registry/lease"
	"github.com/peapod/peapod/internal/registry/namespace"
	"github.com/peapod/peapod/internal/registry/node"
	"github.com/peapod/peapod/internal/registry/pod"
	"github.com/peapod/peapod/internal/registry/podpreset"
	"github.com/peapod/peapod/internal/registry/role"
	"github.com/peapod/peapod/internal/registry/rolebinding"
	"github.com/peapod/peapod/internal/registry/secret"
	"github.com/peapod/peapod/internal/registry/selfsubjectaccessreview"
	"github.com/peapod/peapod/internal/registry/selfsubjectreview"
	"github.com/peapod/peapod/internal/registry/serviceaccount"
	"github.com/peapod/peapod/internal/storage"
)

// serverOptions are the flags of `peapod server`.
type serverOptions struct {
	dataDir          string
	etcdServers      []string
	etcdCAFile       string
	etcdCertFile     string
	etcdKeyFile      string
	bindAddress      string
	securePort       int
	tlsSANs          []string
	disableAgent     bool
	disableScheduler bool
	advertiseAddress string
	compactInterval  time.Duration
	memoryLimit      string
	controllers      controllerOptions
	agent            serverAgentOptions
}

func newServerCommand() *cobra.Command {
	o := &serverOptions{}
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the control plane: API server on etcd (embedded unless --etcd-servers)",
		Long: `peapod server runs the Kubernetes API server on etcd.

On first start it creates <data-dir>/pki (a CA and the serving certificate),
the admin token, <data-dir>/node-token (for agents joining) and the
encryption key for Secrets; on every start it writes
<data-dir>/admin.kubeconfig. Use it with:

  export KUBECONFIG=<data-dir>/admin.kubeconfig
  kubectl get namespaces`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runServer(cmd.Context(), o, cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.dataDir, "data-dir", "/var/lib/peapod", "directory for etcd data, certificates, tokens and keys")
	f.StringSliceVar(&o.etcdServers, "etcd-servers", nil, "external etcd client URLs (comma-separated); empty runs an embedded etcd in <data-dir>/etcd")
	f.StringVar(&o.etcdCAFile, "etcd-cafile", "", "CA file to verify the external etcd servers")
	f.StringVar(&o.etcdCertFile, "etcd-certfile", "", "client certificate for the external etcd")
	f.StringVar(&o.etcdKeyFile, "etcd-keyfile", "", "client key for the external etcd")
	f.StringVar(&o.bindAddress, "bind-address", "0.0.0.0", "address to serve HTTPS on")
	f.IntVar(&o.securePort, "secure-port", 6443, "HTTPS port of the API")
	f.StringSliceVar(&o.tlsSANs, "tls-san", nil, "extra DNS names or IPs for the serving certificate")
	f.BoolVar(&o.disableAgent, "disable-agent", false, "do not run a node agent for this host")
	f.BoolVar(&o.disableScheduler, "disable-scheduler", false, "do not run the scheduler (pods then need spec.nodeName)")
	f.StringVar(&o.advertiseAddress, "advertise-address", "", "address other nodes reach this server on (added to the certificate)")
	f.DurationVar(&o.compactInterval, "etcd-compaction-interval", 5*time.Minute, "how often to compact etcd history")
	f.StringVar(&o.memoryLimit, "memory-limit", "auto", "Go soft memory limit of the process: auto (112Mi unless GOMEMLIMIT is set; raised to 1.5x the live heap when that outgrows it), none, or a size such as 256Mi (see docs/apiserver.md)")
	addControllerFlags(f, &o.controllers)
	addServerAgentFlags(f, &o.agent)
	return cmd
}

// Paths under the data dir.
const (
	adminTokenFile  = "admin-token"
	nodeTokenFile   = "node-token"
	kubeconfigFile  = "admin.kubeconfig"
	encryptionFile  = "encryption-keys"
	saKeyFile       = "sa.key"
	pkiDir          = "pki"
	embeddedEtcdDir = "etcd"
)

func runServer(ctx context.Context, o *serverOptions, stderr io.Writer) error {
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	memLimit, err := parseMemoryLimit(o.memoryLimit, os.Getenv("GOMEMLIMIT"))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(o.dataDir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	applyMemoryLimit(ctx, memLimit, log)

	// Bind first: a port in use fails before anything starts.
	addr := net.JoinHostPort(o.bindAddress, strconv.Itoa(o.securePort))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	defer ln.Close()

	// Security material.
	pki, err := auth.EnsurePKI(filepath.Join(o.dataDir, pkiDir), servingSANs(o), time.Now())
	if err != nil {
		return err
	}
	adminToken, err := auth.EnsureToken(filepath.Join(o.dataDir, adminTokenFile))
	if err != nil {
		return err
	}
	nodeToken, err := auth.EnsureToken(filepath.Join(o.dataDir, nodeTokenFile))
	if err != nil {
		return err
	}
	issuer, err := auth.EnsureTokenIssuer(filepath.Join(o.dataDir, pkiDir, saKeyFile))
	if err != nil {
		return err
	}
	keys, err := storage.LoadOrCreateKeys(filepath.Join(o.dataDir, encryptionFile), rand.Reader)
	if err != nil {
		return err
	}
	aes, err := storage.NewAESGCMTransformer(keys, rand.Reader)
	if err != nil {
		return err
	}

	// etcd.
	var client *clientv3.Client
	if len(o.etcdServers) == 0 {
		emb, err := storage.StartEmbedded(ctx, storage.EmbeddedConfig{DataDir: filepath.Join(o.dataDir, embeddedEtcdDir)})
		if err != nil {
			return fmt.Errorf("embedded etcd: %w", err)
		}
		defer emb.Close()
		client = emb.Client()
		log.Info("embedded etcd started", "client-url", emb.ClientURL())
	} else {
		client, err = storage.NewClient(storage.ClientConfig{Endpoints: o.etcdServers, CAFile: o.etcdCAFile, CertFile: o.etcdCertFile, KeyFile: o.etcdKeyFile})
		if err != nil {
			return err
		}
		defer client.Close()
	}

	scheme, err := newScheme()
	if err != nil {
		return err
	}
	resources := serverResources()
	storeOpts := []storage.Option{storage.WithTransformer(storage.SecretsEncryption(aes))}
	for _, r := range resources {
		prefix := "/registry/" + r.GVR.Resource + "/"
		storeOpts = append(storeOpts, storage.WithNewFunc(prefix, r.New))
	}
	store := storage.New(client, storage.NewCodec(scheme), storeOpts...)
	defer store.Close()
	// Start every resource's watch cache now, not on first use, so watches
	// from any later resourceVersion are served from its history (on etcd
	// before 3.5.13, e.g. Debian's 3.4, a late cache answers them 410).
	cacheKeys := make([]string, 0, len(resources))
	for _, r := range resources {
		cacheKeys = append(cacheKeys, "/registry/"+r.GVR.Resource)
	}
	if err := store.StartWatchCache(ctx, cacheKeys...); err != nil {
		return fmt.Errorf("starting the watch caches: %w", err)
	}
	storage.StartCompactor(ctx, client, o.compactInterval, func(err error) { log.Warn("etcd compaction", "err", err) })

	chain := &admission.Chain{Mutating: []admission.MutationInterface{
		admission.NewDefaults(),
		admission.NewServiceAccountPlugin(serviceaccount.NewStoreGetter(store), func() string { return utilrand.String(5) }, nil),
		admission.NewPodPresetPlugin(podpreset.NewStoreLister(store), podpreset.NewStoreEventRecorder(store, time.Now, log)),
		// Again, so volumes the plugins added get their defaults too (idempotent).
		admission.NewDefaults(),
	}}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	api, err := apiserver.New(apiserver.Config{
		Scheme:        scheme,
		Resources:     resources,
		Storage:       store,
		Admission:     chain,
		Authenticator: &auth.TokenAuthenticator{AdminToken: adminToken, NodeToken: nodeToken, Issuer: issuer, Bound: auth.StoreBoundObjects{Store: store}},
		Authorizer:    auth.Authorizer{Node: &auth.NodeAuthorizer{Pods: auth.StoreRBAC{Store: store}}, RBAC: &auth.RBAC{Source: auth.StoreRBAC{Store: store}}},
		TokenSigner:   issuer,
		// Agents serve with self-signed certificates, which the proxy
		// does not verify yet; it authenticates with the node token.
		// See docs/security.md.
		NodeTransport:   &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}, Proxy: nil},
		NodeBearerToken: nodeToken,
		Readyz: func(ctx context.Context) error {
			ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			_, err := store.CurrentRevision(ctx)
			return err
		},
		Registerer: reg,
		Gatherer:   reg,
		Log:        log,
	})
	if err != nil {
		return err
	}
	api.Start(ctx)
	if err := bootstrapNamespaces(api, adminToken); err != nil {
		return err
	}
	if err := bootstrapRBAC(api, adminToken); err != nil {
		return err
	}
	go func() {
		if n, err := store.ReencryptSecrets(ctx); err != nil {
			log.Warn("re-encrypting secrets", "err", err)
		} else if n > 0 {
			log.Info("re-encrypted secrets with the current key", "count", n)
		}
	}()

	srv := &http.Server{
		Handler:           api,
		ReadHeaderTimeout: 30 * time.Second,
		TLSConfig:         &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{pki.Serving}},
		// client-go multiplexes every watch and request of a client on one
		// HTTP/2 connection; allow as many streams as kube-apiserver does.
		HTTP2:    &http.HTTP2Config{MaxConcurrentStreams: 1000},
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	kubeconfig := filepath.Join(o.dataDir, kubeconfigFile)
	if err := auth.WriteKubeconfig(kubeconfig, "https://"+net.JoinHostPort(localHost(o.bindAddress), strconv.Itoa(o.securePort)), pki.CAPEM, auth.AdminUser, adminToken); err != nil {
		return err
	}
	log.Info("peapod API server listening", "address", ln.Addr().String())
	fmt.Fprintf(stderr, "\nTo use the cluster:\n  export KUBECONFIG=%s\n  kubectl get namespaces\nAgents join with the token in %s.\n\n", kubeconfig, filepath.Join(o.dataDir, nodeTokenFile))

	errc := make(chan error, 1)
	go func() { errc <- srv.ServeTLS(ln, "", "") }()
	self := "https://" + net.JoinHostPort(localHost(o.bindAddress), strconv.Itoa(o.securePort))
	if err := startControllers(ctx, controllerRESTConfig(self, pki.CAPEM, adminToken), pki.CAPEM, o.controllers, log.With("component", "controllers")); err != nil {
		return err
	}
	if !o.disableScheduler {
		if err := startScheduler(ctx, "https://"+net.JoinHostPort(localHost(o.bindAddress), strconv.Itoa(o.securePort)), pki.CAPEM, adminToken, log); err != nil {
			return err
		}
	}
	var agentDone <-chan struct{}
	if !o.disableAgent {
		agentDone = startServerAgent(ctx, o, self, nodeToken, log, stderr)
	}
	if memLimit.base != 0 || memLimit.fromEnv {
		go releaseServerExecPages(ctx, log)
	}
	select {
	case err := <-errc:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	if !o.disableAgent {
		<-agentDone
	}
	shutCtx, shutCancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer shutCancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		srv.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// newScheme holds every type the server serves: client-go's plus peapod's
// settings.k8s.io/v1alpha1.
func newScheme() (*runtime.Scheme, error) {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if err := settingsv1alpha1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	return scheme, nil
}

func serverResources() []*registry.Resource {
	return []*registry.Resource{
		namespace.NewResource(), pod.NewResource(), secret.NewResource(), configmap.NewResource(),
		serviceaccount.NewResource(), event.NewResource(), node.NewResource(), lease.NewResource(),
		podpreset.NewResource(),
		role.NewResource(), rolebinding.NewResource(), clusterrole.NewResource(), clusterrolebinding.NewResource(),
		selfsubjectaccessreview.NewResource(), selfsubjectreview.NewResource(),
	}
}

// bootstrapNamespaces creates default, kube-system and kube-node-lease
// through the API itself (so they are defaulted and validated like any
// other), ignoring those that exist.
func bootstrapNamespaces(api http.Handler, adminToken string) error {
	for _, ns := range []string{"default", "kube-system", "kube-node-lease", "kube-public"} {
		body := fmt.Sprintf(`{"apiVersion":"v1","kind":"Namespace","metadata":{"name":%q}}`, ns)
		req := httptest.NewRequest(http.MethodPost, "/api/v1/namespaces?fieldManager=peapod-server", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+adminToken)
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, req)
		if rec.Code != http.StatusCreated && rec.Code != http.StatusConflict {
			return fmt.Errorf("creating namespace %s: %d %s", ns, rec.Code, rec.Body.String())
		}
	}
	return nil
}

// servingSANs are the names the serving certificate covers.
func servingSANs(o *serverOptions) []string {
	sans := []string{"localhost", "127.0.0.1", "::1", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"}
	if h, err := os.Hostname(); err == nil && h != "" {
		sans = append(sans, h)
	}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLinkLocalUnicast() {
				sans = append(sans, ipn.IP.String())
			}
		}
	}
	if o.advertiseAddress != "" {
		sans = append(sans, o.advertiseAddress)
	}
	return append(sans, o.tlsSANs...)
}

// localHost is the host the admin kubeconfig points at.
func localHost(bind string) string {
	if ip := net.ParseIP(bind); ip == nil || ip.IsUnspecified() || ip.IsLoopback() {
		return "127.0.0.1"
	}
	return bind
}
