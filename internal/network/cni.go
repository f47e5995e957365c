package network

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/invoke"
	types100 "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/cni/pkg/version"
)

// Config is one agent's pod network. Nothing is global: two agents on one
// host use different bridges, subnets, network names and directories.
type Config struct {
	// PluginDirs hold the CNI plugins (Debian: /usr/lib/cni).
	PluginDirs []string
	// CacheDir is libcni's result cache; IPAMDir is host-local's dataDir.
	CacheDir string
	IPAMDir  string
	// NetworkName names the CNI network (it also prefixes iptables chain
	// hashes and the IPAM directory).
	NetworkName string
	// Bridge is the Linux bridge; Subnet the pod CIDR (e.g. 10.77.1.0/24).
	Bridge string
	Subnet string
	// IPMasq masquerades traffic leaving the pod CIDR. It is one nat rule
	// for the whole CIDR (EnsureMasquerade), not the bridge plugin's
	// per-pod chain: that makes CNI ADD and DEL 2-3x faster.
	IPMasq bool
}

// Validate returns every problem of the config at once.
func (c Config) Validate() error {
	var errs []string
	if len(c.PluginDirs) == 0 {
		errs = append(errs, "no CNI plugin directory")
	}
	if c.CacheDir == "" || c.IPAMDir == "" {
		errs = append(errs, "CNI cache and IPAM directories are required")
	}
	if c.NetworkName == "" {
		errs = append(errs, "network name is required")
	}
	if c.Bridge == "" || len(c.Bridge) > 15 {
		errs = append(errs, fmt.Sprintf("bridge name %q must be 1-15 characters", c.Bridge))
	}
	if _, _, err := net.ParseCIDR(c.Subnet); err != nil {
		errs = append(errs, fmt.Sprintf("pod CIDR %q: %v", c.Subnet, err))
	}
	if len(errs) > 0 {
		return fmt.Errorf("network config: %s", strings.Join(errs, "; "))
	}
	return nil
}

// ConfList is the CNI network configuration list: bridge with host-local
// IPAM, plus portmap when the pod has host ports. The bridge plugin's
// ipMasq stays off; see EnsureMasquerade.
func ConfList(c Config, portmap bool) []byte {
	plugins := []map[string]any{{
		"type":        "bridge",
		"bridge":      c.Bridge,
		"isGateway":   true,
		"ipMasq":      false,
		"hairpinMode": true,
		"ipam": map[string]any{
			"type":    "host-local",
			"ranges":  [][]map[string]string{{{"subnet": c.Subnet}}},
			"routes":  []map[string]string{{"dst": "0.0.0.0/0"}},
			"dataDir": c.IPAMDir,
		},
	}}
	if portmap {
		plugins = append(plugins, map[string]any{
			"type":         "portmap",
			"capabilities": map[string]bool{"portMappings": true},
			"snat":         true,
		})
	}
	b, _ := json.Marshal(map[string]any{
		"cniVersion": "1.0.0",
		"name":       c.NetworkName,
		"plugins":    plugins,
	})
	return b
}

// PortMapping is one hostPort in CNI's portMappings capability format.
type PortMapping struct {
	HostPort      int32  `json:"hostPort"`
	ContainerPort int32  `json:"containerPort"`
	Protocol      string `json:"protocol"`
	HostIP        string `json:"hostIP,omitempty"`
}

// CNI attaches pods to the network.
type CNI struct {
	cfg Config
	cni *libcni.CNIConfig
}

// NewCNI validates cfg and prepares the directories.
func NewCNI(cfg Config) (*CNI, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	for _, d := range []string{cfg.CacheDir, cfg.IPAMDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	// An explicit Exec: libcni would otherwise set its default lazily on
	// first use, racing between concurrent ADDs.
	exec := &invoke.DefaultExec{RawExec: &invoke.RawExec{Stderr: os.Stderr}, PluginDecoder: version.PluginDecoder{}}
	return &CNI{cfg: cfg, cni: libcni.NewCNIConfigWithCacheDir(cfg.PluginDirs, cfg.CacheDir, exec)}, nil
}

func (c *CNI) runtimeConf(id, netns string, ports []PortMapping) *libcni.RuntimeConf {
	rt := &libcni.RuntimeConf{ContainerID: id, NetNS: netns, IfName: "eth0"}
	if len(ports) > 0 {
		rt.CapabilityArgs = map[string]any{"portMappings": ports}
	}
	return rt
}

// Add attaches the namespace at netns to the pod network and returns the
// pod's IPs.
func (c *CNI) Add(ctx context.Context, id, netns string, ports []PortMapping) ([]string, error) {
	list, err := libcni.ConfListFromBytes(ConfList(c.cfg, len(ports) > 0))
	if err != nil {
		return nil, fmt.Errorf("cni config: %w", err)
	}
	res, err := c.cni.AddNetworkList(ctx, list, c.runtimeConf(id, netns, ports))
	if err != nil {
		return nil, fmt.Errorf("cni add: %w", err)
	}
	r, err := types100.NewResultFromResult(res)
	if err != nil {
		return nil, fmt.Errorf("cni result: %w", err)
	}
	var ips []string
	for _, ip := range r.IPs {
		ips = append(ips, ip.Address.IP.String())
	}
	if len(ips) == 0 {
		return nil, fmt.Errorf("cni add: no IP address in result")
	}
	return ips, nil
}

// Del detaches the pod; the namespace must still exist (else the
// masquerade rules leak). A second Del succeeds.
func (c *CNI) Del(ctx context.Context, id, netns string, ports []PortMapping) error {
	list, err := libcni.ConfListFromBytes(ConfList(c.cfg, len(ports) > 0))
	if err != nil {
		return fmt.Errorf("cni config: %w", err)
	}
	if err := c.cni.DelNetworkList(ctx, list, c.runtimeConf(id, netns, ports)); err != nil {
		return fmt.Errorf("cni del: %w", err)
	}
	return nil
}

// masqueradeRule is the nat POSTROUTING rule for the pod CIDR.
func (c *CNI) masqueradeRule() []string {
	return []string{"POSTROUTING", "-s", c.cfg.Subnet, "!", "-d", c.cfg.Subnet,
		"-m", "comment", "--comment", "peapod masquerade " + c.cfg.NetworkName, "-j", "MASQUERADE"}
}

func iptables(ctx context.Context, args ...string) error {
	out, err := exec.CommandContext(ctx, "iptables", append([]string{"-w", "-t", "nat"}, args...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("iptables %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// EnsureMasquerade installs the masquerade rule if IPMasq is set and the
// rule is missing. Idempotent.
func (c *CNI) EnsureMasquerade(ctx context.Context) error {
	if !c.cfg.IPMasq {
		return nil
	}
	if iptables(ctx, append([]string{"-C"}, c.masqueradeRule()...)...) == nil {
		return nil
	}
	return iptables(ctx, append([]string{"-A"}, c.masqueradeRule()...)...)
}

// RemoveMasquerade deletes the masquerade rule; a missing rule is fine.
func (c *CNI) RemoveMasquerade(ctx context.Context) error {
	for iptables(ctx, append([]string{"-C"}, c.masqueradeRule()...)...) == nil {
		if err := iptables(ctx, append([]string{"-D"}, c.masqueradeRule()...)...); err != nil {
			return err
		}
	}
	return nil
}

// RemoveBridge deletes the bridge (CNI DEL never does). Call it when no
// pod uses the network any more. A missing bridge is not an error.
func (c *CNI) RemoveBridge(ctx context.Context) error {
	if _, err := net.InterfaceByName(c.cfg.Bridge); err != nil {
		return nil
	}
	out, err := exec.CommandContext(ctx, "ip", "link", "del", c.cfg.Bridge).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip link del %s: %v: %s", c.cfg.Bridge, err, strings.TrimSpace(string(out)))
	}
	return nil
}
