package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/peapod/peapod/internal/controller"
)

// controllerOptions are the server's controller flags.
type controllerOptions struct {
	disable                  bool
	nodeMonitorPeriod        time.Duration
	nodeMonitorGracePeriod   time.Duration
	podGCPeriod              time.Duration
	podGCQuarantine          time.Duration
	terminatedPodGCThreshold int
}

// addControllerFlags registers the controller flags on fs.
func addControllerFlags(fs *pflag.FlagSet, o *controllerOptions) {
	fs.BoolVar(&o.disable, "disable-controllers", false, "do not run the controllers (namespace, serviceaccount, nodelifecycle, podgc)")
	fs.DurationVar(&o.nodeMonitorPeriod, "node-monitor-period", 5*time.Second, "how often the node lifecycle controller checks node heartbeats")
	fs.DurationVar(&o.nodeMonitorGracePeriod, "node-monitor-grace-period", 40*time.Second, "how old a node's lease and status may be before its conditions become Unknown and its pods NodeLost")
	fs.DurationVar(&o.podGCPeriod, "pod-gc-period", 20*time.Second, "how often pods on deleted nodes are collected")
	fs.DurationVar(&o.podGCQuarantine, "pod-gc-orphan-quarantine", 40*time.Second, "how long a node must be gone before the pods bound to it are force-deleted")
	fs.IntVar(&o.terminatedPodGCThreshold, "terminated-pod-gc-threshold", 12500, "how many terminated (Succeeded/Failed) pods to keep before deleting the oldest; 0 keeps all")
}

// validate returns every bad flag value.
func (o controllerOptions) validate() error {
	var errs []error
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{{"--node-monitor-period", o.nodeMonitorPeriod}, {"--node-monitor-grace-period", o.nodeMonitorGracePeriod},
		{"--pod-gc-period", o.podGCPeriod}, {"--pod-gc-orphan-quarantine", o.podGCQuarantine}} {
		if d.v <= 0 {
			errs = append(errs, fmt.Errorf("%s must be positive, got %v", d.flag, d.v))
		}
	}
	if o.terminatedPodGCThreshold < 0 {
		errs = append(errs, fmt.Errorf("--terminated-pod-gc-threshold must be 0 (keep all) or more, got %d", o.terminatedPodGCThreshold))
	}
	if o.nodeMonitorPeriod > 0 && o.nodeMonitorGracePeriod > 0 && o.nodeMonitorGracePeriod < o.nodeMonitorPeriod {
		errs = append(errs, fmt.Errorf("--node-monitor-grace-period (%v) must not be shorter than --node-monitor-period (%v)", o.nodeMonitorGracePeriod, o.nodeMonitorPeriod))
	}
	return errors.Join(errs...)
}

// controllerRESTConfig is the in-process client config: the server's own
// HTTPS endpoint with the admin token, verified by the CA.
func controllerRESTConfig(host string, caPEM []byte, token string) *rest.Config {
	return &rest.Config{
		Host:            host,
		BearerToken:     token,
		TLSClientConfig: rest.TLSClientConfig{CAData: caPEM},
		ContentConfig:   rest.ContentConfig{ContentType: "application/json"},
		UserAgent:       "peapod-controller-manager",
		QPS:             50,
		Burst:           100,
	}
}

// startControllers runs the controllers under leader election in the
// background until ctx ends. Errors are only about building clients.
func startControllers(ctx context.Context, cfg *rest.Config, caPEM []byte, o controllerOptions, log *slog.Logger) error {
	if o.disable {
		log.Info("controllers disabled")
		return nil
	}
	if err := o.validate(); err != nil {
		return err
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("controllers: %w", err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("controllers: %w", err)
	}
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return fmt.Errorf("controllers: %w", err)
	}
	mcfg := controller.Config{
		Client: client, Dynamic: dyn, Discovery: disc, CAPEM: caPEM,
		NodeMonitorPeriod: o.nodeMonitorPeriod, NodeMonitorGracePeriod: o.nodeMonitorGracePeriod,
		PodGCPeriod: o.podGCPeriod, PodGCQuarantine: o.podGCQuarantine, TerminatedPodGCThreshold: o.terminatedPodGCThreshold,
		Log: log,
	}
	go func() {
		if err := controller.Run(ctx, mcfg); err != nil {
			log.Error("controllers stopped", "err", err)
		}
	}()
	return nil
}
