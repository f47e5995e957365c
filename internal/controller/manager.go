// Package controller runs peapod's controllers (namespace, serviceaccount,
// nodelifecycle, podgc) under one leader election, as kube-controller-manager
// does: a Lease peapod-controller-manager in kube-system. Each controller
// lives in its own package on client-go shared informers and workqueues.
package controller

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"

	"github.com/peapod/peapod/internal/controller/namespace"
	"github.com/peapod/peapod/internal/controller/nodelifecycle"
	"github.com/peapod/peapod/internal/controller/podgc"
	"github.com/peapod/peapod/internal/controller/serviceaccount"
)

// Lease names the leader election lock.
const (
	LeaseNamespace = "kube-system"
	LeaseName      = "peapod-controller-manager"
)

// Config is everything the controllers need; zero durations take the
// defaults below.
type Config struct {
	Client    kubernetes.Interface
	Dynamic   dynamic.Interface
	Discovery discovery.DiscoveryInterface
	// CAPEM is the API server's CA, published as kube-root-ca.crt.
	CAPEM []byte
	// Identity is this process in the Lease; empty = hostname_random.
	Identity string

	LeaseDuration time.Duration // 15s
	RenewDeadline time.Duration // 10s
	RetryPeriod   time.Duration // 2s

	NodeMonitorPeriod      time.Duration // 5s
	NodeMonitorGracePeriod time.Duration // 40s
	PodGCPeriod            time.Duration // 20s
	PodGCQuarantine        time.Duration // 40s: how long a node must be gone before its pods are orphans
	// TerminatedPodGCThreshold caps Succeeded/Failed pods; 0 disables.
	TerminatedPodGCThreshold int
	Workers                  int // per controller, 2

	Clock clock.Clock
	Log   *slog.Logger
}

func (c *Config) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.LeaseDuration, 15*time.Second)
	def(&c.RenewDeadline, 10*time.Second)
	def(&c.RetryPeriod, 2*time.Second)
	def(&c.NodeMonitorPeriod, 5*time.Second)
	def(&c.NodeMonitorGracePeriod, 40*time.Second)
	def(&c.PodGCPeriod, 20*time.Second)
	if c.Workers <= 0 {
		c.Workers = 2
	}
	if c.Clock == nil {
		c.Clock = clock.RealClock{}
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Identity == "" {
		h, _ := os.Hostname()
		c.Identity = h + "_" + rand.String(8)
	}
}

// Run campaigns for the lease until ctx ends; while leading it runs every
// controller. Losing the lease stops them and campaigns again.
func Run(ctx context.Context, cfg Config) error {
	cfg.defaults()
	if cfg.Client == nil || cfg.Dynamic == nil || cfg.Discovery == nil {
		return fmt.Errorf("controller manager: clients are required")
	}
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metaFor(LeaseNamespace, LeaseName),
		Client:     cfg.Client.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: cfg.Identity},
	}
	for ctx.Err() == nil {
		le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
			Lock:            lock,
			LeaseDuration:   cfg.LeaseDuration,
			RenewDeadline:   cfg.RenewDeadline,
			RetryPeriod:     cfg.RetryPeriod,
			ReleaseOnCancel: true,
			Name:            LeaseName,
			Callbacks: leaderelection.LeaderCallbacks{
				OnStartedLeading: func(ctx context.Context) {
					cfg.Log.Info("controllers: became leader", "identity", cfg.Identity)
					runControllers(ctx, cfg)
				},
				OnStoppedLeading: func() {
					cfg.Log.Info("controllers: stopped leading", "identity", cfg.Identity)
				},
			},
		})
		if err != nil {
			return fmt.Errorf("leader election: %w", err)
		}
		le.Run(ctx)
	}
	return nil
}

// runControllers starts fresh informers and every controller, and returns
// when ctx ends and they have stopped.
func runControllers(ctx context.Context, cfg Config) {
	factory := informers.NewSharedInformerFactory(cfg.Client, 0)
	broadcaster := record.NewBroadcaster(record.WithContext(ctx))
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: cfg.Client.CoreV1().Events("")})
	defer broadcaster.Shutdown()
	nodeEvents := broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "node-controller"})
	ns := namespace.New(cfg.Client, cfg.Dynamic, cfg.Discovery, factory.Core().V1().Namespaces(), factory.Core().V1().Pods(), cfg.Clock, cfg.Log.With("controller", "namespace"))
	sa := serviceaccount.New(cfg.Client, factory.Core().V1().Namespaces(), factory.Core().V1().ServiceAccounts(), factory.Core().V1().ConfigMaps(), cfg.CAPEM, cfg.Log.With("controller", "serviceaccount"))
	nl := nodelifecycle.New(cfg.Client, factory.Core().V1().Nodes(), factory.Coordination().V1().Leases(), factory.Core().V1().Pods(),
		nodelifecycle.Options{MonitorPeriod: cfg.NodeMonitorPeriod, GracePeriod: cfg.NodeMonitorGracePeriod}, cfg.Clock, nodeEvents, cfg.Log.With("controller", "nodelifecycle"))
	gc := podgc.New(cfg.Client, factory.Core().V1().Pods(), factory.Core().V1().Nodes(),
		podgc.Options{Period: cfg.PodGCPeriod, TerminatedThreshold: cfg.TerminatedPodGCThreshold, Quarantine: cfg.PodGCQuarantine}, cfg.Clock, cfg.Log.With("controller", "podgc"))
	factory.Start(ctx.Done())
	var wg sync.WaitGroup
	for _, run := range []func(context.Context, int){ns.Run, sa.Run, nl.Run, gc.Run} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			run(ctx, cfg.Workers)
		}()
	}
	wg.Wait()
	factory.Shutdown()
}
