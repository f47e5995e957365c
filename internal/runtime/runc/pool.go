package runc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/peapod/peapod/internal/network"
	"github.com/peapod/peapod/internal/runtime"
)

// The warm pool: sandboxes created ahead of time on the pod network with
// private IPC, UTS and PID namespaces. Claiming one costs a sethostname
// and three small files instead of a network namespace, a CNI ADD and an
// infra container (RECIPES.md: "keep sandboxes warm").
//
//	refillPool (one goroutine) --createSandbox(pooled)--> pool
//	RunPodSandbox --claimWarm--> named, visible sandbox; kick refill

// warmEligible reports whether a pod can use a warm sandbox: the pool's
// sandboxes have the pod network without host ports and private
// IPC/UTS/PID namespaces (the infra's private PID namespace serves pods
// with and without shareProcessNamespace alike).
func warmEligible(cfg *runtime.SandboxConfig) bool {
	return !cfg.HostNetwork && !cfg.HostIPC && !cfg.HostPID && len(portMappings(cfg.PortMappings)) == 0
}

func (d *Driver) kickPool() {
	select {
	case d.poolKick <- struct{}{}:
	default:
	}
}

func (d *Driver) poolLen() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.pool)
}

// refillPool owns the creation of warm sandboxes; it ends with ctx.
func (d *Driver) refillPool(ctx context.Context) {
	defer close(d.poolDone)
	warm := &runtime.SandboxConfig{Name: "warm", Namespace: "peapod-warm", UID: "warm", Hostname: "warm"}
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.poolKick:
		}
		for d.poolLen() < d.cfg.WarmSandboxes && ctx.Err() == nil {
			if !d.waitQuiet(ctx) {
				return
			}
			id, err := d.createSandbox(ctx, warm, true)
			if err != nil {
				if ctx.Err() == nil {
					d.cfg.Logf("runtime: warm sandbox: %v", err)
					select {
					case <-ctx.Done():
					case <-time.After(time.Second):
						d.kickPool()
					}
				}
				break
			}
			d.mu.Lock()
			d.pool = append(d.pool, id)
			d.mu.Unlock()
		}
	}
}

// refillQuiet is how long no pod may have been starting before the pool
// refills: refilling competes for the CPU with the pod starts it exists
// to speed up, so it waits for a lull (a burst drains the pool first).
const refillQuiet = 30 * time.Millisecond

// touchStart records that a pod or container start is in progress.
func (d *Driver) touchStart() { d.lastStart.Store(time.Now().UnixNano()) }

// waitQuiet waits until no start happened for refillQuiet; false if ctx ended.
func (d *Driver) waitQuiet(ctx context.Context) bool {
	for {
		idle := time.Since(time.Unix(0, d.lastStart.Load()))
		if idle >= refillQuiet {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(refillQuiet - idle):
		}
	}
}

// claimWarm turns a warm sandbox into cfg's. ok is false when the pool is
// empty or the claim failed (the warm sandbox is then removed).
func (d *Driver) claimWarm(ctx context.Context, cfg *runtime.SandboxConfig) (string, bool) {
	d.mu.Lock()
	if len(d.pool) == 0 {
		d.mu.Unlock()
		return "", false
	}
	id := d.pool[0]
	d.pool = d.pool[1:]
	sb := d.sandboxes[id]
	d.mu.Unlock()
	d.kickPool()
	if err := d.nameWarm(sb, cfg); err != nil {
		d.cfg.Logf("runtime: claiming warm sandbox %s: %v", id, err)
		if err := d.removeWarm(context.WithoutCancel(ctx), id); err != nil {
			d.cfg.Logf("runtime: removing warm sandbox %s: %v", id, err)
		}
		return "", false
	}
	return id, true
}

func (d *Driver) nameWarm(sb *sandbox, cfg *runtime.SandboxConfig) error {
	sb.op.Lock()
	defer sb.op.Unlock()
	m := sb.meta()
	if !alive(m.InfraPID, m.InfraStart) {
		return errors.New("infra container is gone")
	}
	if err := setHostname(m.InfraPID, cfg.Hostname); err != nil {
		return err
	}
	files := map[string][]byte{
		"hostname":    network.HostnameFile(cfg.Hostname),
		"resolv.conf": network.ResolvConf(cfg.DNS.Searches, cfg.DNS.Servers, cfg.DNS.Options, readFileOr("/etc/resolv.conf")),
		"hosts": network.HostsFile(network.HostsInput{
			PodIPs: m.IPs, Hostname: cfg.Hostname, FQDN: cfg.HostnameFQDN, HostAliases: cfg.HostAliases,
		}),
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(d.diskDir(m.ID), name), b, 0o644); err != nil {
			return err
		}
	}
	return sb.update(func(m *sandboxMeta) {
		m.Config, m.Hostname, m.Pooled = cfg, cfg.Hostname, false
		m.CgroupParent = d.podCgroupParent(cfg, m.ID)
		m.CreatedAt = time.Now()
	})
}

// setHostname sets the hostname of pid's UTS namespace from a thread that
// enters it and comes back.
func setHostname(pid int, hostname string) error {
	return network.OnThread(unix.CLONE_NEWUTS, func() error {
		fd, err := unix.Open("/proc/"+strconv.Itoa(pid)+"/ns/uts", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWUTS); err != nil {
			return fmt.Errorf("setns uts: %w", err)
		}
		return unix.Sethostname([]byte(hostname))
	})
}

// removeWarm removes a warm sandbox (claimed-and-failed, stale, or drained).
func (d *Driver) removeWarm(ctx context.Context, id string) error {
	d.mu.Lock()
	sb, ok := d.sandboxes[id]
	d.mu.Unlock()
	if !ok {
		return nil
	}
	sb.op.Lock()
	defer sb.op.Unlock()
	return d.removeSandboxLocked(ctx, sb, true)
}

// drainPool removes every warm sandbox; the refill goroutine must be stopped.
func (d *Driver) drainPool(ctx context.Context) error {
	d.mu.Lock()
	ids := d.pool
	d.pool = nil
	d.mu.Unlock()
	var errs []error
	for _, id := range ids {
		if err := d.removeWarm(ctx, id); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
