// Package oci builds OCI runtime specs (config.json) for the infra
// container and for application containers. It is pure: every input is a
// value, nothing touches the host; the driver in runtime/runc acts on the
// result.
package oci

import (
	"fmt"
	"path"
	"sort"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	v1 "k8s.io/api/core/v1"
)

// Version is the ociVersion written into specs (what runc 1.1 speaks).
const Version = "1.0.2"

// DefaultPath is set when neither the image nor the container sets PATH.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Namespace says how a container gets one namespace: a new private one
// (zero value), the host's (Host), or joining an existing one (Path).
type Namespace struct {
	Host bool
	Path string
}

// Namespaces are the shareable namespaces of a pod.
type Namespaces struct {
	Net, IPC, UTS, PID Namespace
}

func (n Namespaces) linux() []specs.LinuxNamespace {
	out := []specs.LinuxNamespace{{Type: specs.MountNamespace}}
	add := func(t specs.LinuxNamespaceType, ns Namespace) {
		if ns.Host {
			return
		}
		out = append(out, specs.LinuxNamespace{Type: t, Path: ns.Path})
	}
	add(specs.PIDNamespace, n.PID)
	add(specs.NetworkNamespace, n.Net)
	add(specs.IPCNamespace, n.IPC)
	add(specs.UTSNamespace, n.UTS)
	return out
}

// maskedPaths and readonlyPaths are runc's defaults.
var (
	maskedPaths = []string{
		"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
		"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
		"/proc/scsi",
	}
	readonlyPaths = []string{
		"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
	}
)

// baseMounts are runc's default mounts; shm replaces /dev/shm when set.
func baseMounts(shm string, privileged bool) []specs.Mount {
	sysOpts := []string{"nosuid", "noexec", "nodev", "ro"}
	cgOpts := []string{"nosuid", "noexec", "nodev", "relatime", "ro"}
	if privileged {
		sysOpts = []string{"nosuid", "noexec", "nodev", "rw"}
		cgOpts = []string{"nosuid", "noexec", "nodev", "relatime", "rw"}
	}
	m := []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
	}
	if shm != "" {
		m = append(m, specs.Mount{Destination: "/dev/shm", Type: "bind", Source: shm, Options: []string{"rbind", "rprivate", "rw"}})
	} else {
		m = append(m, specs.Mount{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}})
	}
	return append(m,
		specs.Mount{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
		specs.Mount{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: sysOpts},
		specs.Mount{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: cgOpts},
	)
}

// InfraInput describes the sandbox's infra container.
type InfraInput struct {
	// Rootfs is an empty directory; it is mounted read-only.
	Rootfs string
	// Catatonit is the host path of catatonit, bind-mounted at /catatonit.
	Catatonit string
	// Hostname is set when the infra owns a new UTS namespace.
	Hostname    string
	Namespaces  Namespaces
	CgroupsPath string
	Sysctls     []v1.Sysctl
}

// InfraSpec is the spec of the infra container: catatonit -P as PID 1 of
// its namespaces, no capabilities beyond the default set, read-only empty
// rootfs.
func InfraSpec(in InfraInput) *specs.Spec {
	caps := DefaultCapabilities()
	s := &specs.Spec{
		Version: Version,
		Process: &specs.Process{
			Args: []string{"/catatonit", "-P"},
			Env:  []string{"PATH=" + DefaultPath},
			Cwd:  "/",
			Capabilities: &specs.LinuxCapabilities{
				Bounding: caps, Effective: caps, Permitted: caps,
			},
			NoNewPrivileges: true,
		},
		Root: &specs.Root{Path: in.Rootfs, Readonly: true},
		// Only what catatonit needs: no /sys, cgroup, mqueue or shm mounts
		// (each is work for runc on every pod start, for nothing).
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
			{Destination: "/catatonit", Type: "bind", Source: in.Catatonit, Options: []string{"rbind", "ro"}},
		},
		Linux: &specs.Linux{
			CgroupsPath: in.CgroupsPath,
			Namespaces:  in.Namespaces.linux(),
			Resources: &specs.LinuxResources{
				Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}},
			},
			Sysctl:        sysctls(in.Sysctls, in.Namespaces),
			MaskedPaths:   maskedPaths,
			ReadonlyPaths: readonlyPaths,
		},
	}
	if !in.Namespaces.UTS.Host && in.Namespaces.UTS.Path == "" {
		s.Hostname = in.Hostname
	}
	return s
}

func sysctls(in []v1.Sysctl, ns Namespaces) map[string]string {
	if len(in) == 0 {
		return nil
	}
	out := map[string]string{}
	for _, s := range in {
		// net.* needs the pod's own network namespace; kernel.shm*/msg*/sem
		// its own IPC namespace. Host namespaces never get sysctls.
		if strings.HasPrefix(s.Name, "net.") && ns.Net.Host {
			continue
		}
		if (strings.HasPrefix(s.Name, "kernel.") || strings.HasPrefix(s.Name, "fs.mqueue.")) && ns.IPC.Host {
			continue
		}
		out[s.Name] = s.Value
	}
	return out
}

// ImageConfig is the part of the image config that shapes a container.
type ImageConfig struct {
	Entrypoint []string
	Cmd        []string
	Env        []string
	WorkingDir string
	User       string
}

// Mount is a bind mount of a host path.
type Mount struct {
	ContainerPath string
	HostPath      string
	ReadOnly      bool
	Propagation   v1.MountPropagationMode
}

// PodFiles are the per-pod files the runtime mounts into every container
// unless a mount already covers their path. Empty fields are skipped.
type PodFiles struct {
	Hosts, Hostname, ResolvConf string
	// Shm is the pod's /dev/shm (a tmpfs shared by the pod's containers).
	Shm string
	// TerminationLog is the host file behind terminationMessagePath.
	TerminationLog string
}

// ContainerInput is everything a container spec is built from.
type ContainerInput struct {
	Container          v1.Container
	PodSecurityContext *v1.PodSecurityContext
	// Env is the resolved environment, not yet expanded.
	Env         []EnvVar
	Image       ImageConfig
	Rootfs      string
	Hostname    string
	Namespaces  Namespaces
	CgroupsPath string
	Mounts      []Mount
	Files       PodFiles
	// Passwd and Group are the rootfs /etc/passwd and /etc/group contents.
	Passwd, Group []byte
	// SeccompLocalhost is the content of the container's Localhost seccomp
	// profile (EffectiveSeccomp), which the runtime reads.
	SeccompLocalhost []byte
	// CurrentCapabilities are what privileged and `add: [ALL]` give (nil:
	// this process's effective set, see Capabilities).
	CurrentCapabilities []string
}

// ContainerSpec builds an application container's spec. Errors name the
// offending field; all of them are returned together.
func ContainerSpec(in ContainerInput) (*specs.Spec, error) {
	var errs []string
	c := in.Container
	sc := c.SecurityContext
	psc := in.PodSecurityContext
	if psc == nil {
		psc = &v1.PodSecurityContext{}
	}
	if sc == nil {
		sc = &v1.SecurityContext{}
	}
	privileged := sc.Privileged != nil && *sc.Privileged

	env, vars := in.Env, EnvMap(in.Env)
	hasPath, hasHostname := false, false
	for _, e := range env {
		hasPath = hasPath || e.Name == "PATH"
		hasHostname = hasHostname || e.Name == "HOSTNAME"
	}
	for _, kv := range in.Image.Env {
		hasPath = hasPath || strings.HasPrefix(kv, "PATH=")
		hasHostname = hasHostname || strings.HasPrefix(kv, "HOSTNAME=")
	}
	var pre []string
	if !hasPath {
		pre = append(pre, "PATH="+DefaultPath)
	}
	if !hasHostname && in.Hostname != "" {
		pre = append(pre, "HOSTNAME="+in.Hostname)
	}
	if c.TTY {
		pre = append(pre, "TERM=xterm")
	}
	procEnv := append(pre, MergeEnv(in.Image.Env, env)...)

	argv, err := Argv(in.Image.Entrypoint, in.Image.Cmd, ExpandAll(c.Command, vars), ExpandAll(c.Args, vars))
	if err != nil {
		errs = append(errs, err.Error())
	}

	runAsUser, runAsGroup := psc.RunAsUser, psc.RunAsGroup
	if sc.RunAsUser != nil {
		runAsUser = sc.RunAsUser
	}
	if sc.RunAsGroup != nil {
		runAsGroup = sc.RunAsGroup
	}
	user, err := ResolveUser(UserInput{
		RunAsUser: runAsUser, RunAsGroup: runAsGroup, ImageUser: in.Image.User,
		SupplementalGroups: psc.SupplementalGroups, FSGroup: psc.FSGroup,
		Passwd: in.Passwd, Group: in.Group,
	})
	if err != nil {
		errs = append(errs, err.Error())
	}
	if sc.RunAsNonRoot != nil && *sc.RunAsNonRoot || sc.RunAsNonRoot == nil && psc.RunAsNonRoot != nil && *psc.RunAsNonRoot {
		if user.UID == 0 {
			errs = append(errs, "runAsNonRoot is set but the container would run as root (uid 0)")
		}
	}
	homeSet := false
	for _, kv := range procEnv {
		homeSet = homeSet || strings.HasPrefix(kv, "HOME=")
	}
	if !homeSet {
		procEnv = append(procEnv, "HOME="+user.Home)
	}

	cwd := c.WorkingDir
	if cwd == "" {
		cwd = in.Image.WorkingDir
	}
	if cwd == "" {
		cwd = "/"
	}
	if !path.IsAbs(cwd) {
		errs = append(errs, fmt.Sprintf("workingDir %q is not absolute", cwd))
	}

	current := in.CurrentCapabilities
	if current == nil {
		current = currentCapabilities()
	}
	caps := capabilities(sc.Capabilities, privileged, current)
	nnp := sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation && !privileged

	s := &specs.Spec{
		Version: Version,
		Process: &specs.Process{
			Terminal: c.TTY,
			User: specs.User{
				UID: user.UID, GID: user.GID, AdditionalGids: user.AdditionalGids,
			},
			Args: argv,
			Env:  procEnv,
			Cwd:  cwd,
			Capabilities: &specs.LinuxCapabilities{
				Bounding: caps, Effective: caps, Permitted: caps,
			},
			NoNewPrivileges: nnp,
		},
		Root: &specs.Root{
			Path:     in.Rootfs,
			Readonly: sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem,
		},
		Linux: &specs.Linux{
			CgroupsPath: in.CgroupsPath,
			Namespaces:  in.Namespaces.linux(),
			Resources:   Resources(c.Resources, privileged),
			// Namespaced sysctls of the pod; runc sets them again (same
			// values) in the namespaces the container joins.
			Sysctl: sysctls(psc.Sysctls, in.Namespaces),
		},
	}
	if !privileged {
		s.Linux.MaskedPaths = maskedPaths
		s.Linux.ReadonlyPaths = readonlyPaths
	}
	mounts, propagation, merr := containerMounts(in, privileged)
	errs = append(errs, merr...)
	s.Mounts = mounts
	s.Linux.RootfsPropagation = propagation
	// After the capabilities: the default profile allows what they need.
	if s.Linux.Seccomp, err = seccompFor(EffectiveSeccomp(c.SecurityContext, in.PodSecurityContext), in.SeccompLocalhost, s, privileged); err != nil {
		errs = append(errs, err.Error())
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("container %q: %s", c.Name, strings.Join(errs, "; "))
	}
	return s, nil
}

func bindOptions(ro bool, prop v1.MountPropagationMode) []string {
	p := "rprivate"
	switch prop {
	case v1.MountPropagationHostToContainer:
		p = "rslave"
	case v1.MountPropagationBidirectional:
		p = "rshared"
	}
	rw := "rw"
	if ro {
		rw = "ro"
	}
	return []string{"rbind", p, rw}
}

// containerMounts returns the default mounts, the pod files and the
// user's mounts (sorted by depth so parents mount first), and the rootfs
// propagation the mounts need.
func containerMounts(in ContainerInput, privileged bool) ([]specs.Mount, string, []string) {
	var errs []string
	covered := map[string]bool{}
	var user []specs.Mount
	propagation := ""
	for _, m := range in.Mounts {
		dst := path.Clean(m.ContainerPath)
		if !path.IsAbs(m.ContainerPath) {
			errs = append(errs, fmt.Sprintf("mount path %q is not absolute", m.ContainerPath))
			continue
		}
		if !path.IsAbs(m.HostPath) {
			errs = append(errs, fmt.Sprintf("mount %q: host path %q is not absolute", dst, m.HostPath))
			continue
		}
		if covered[dst] {
			errs = append(errs, fmt.Sprintf("mount path %q is used twice", dst))
			continue
		}
		covered[dst] = true
		switch m.Propagation {
		case v1.MountPropagationBidirectional:
			if !privileged {
				errs = append(errs, fmt.Sprintf("mount %q: Bidirectional propagation needs a privileged container", dst))
			}
			propagation = "rshared"
		case v1.MountPropagationHostToContainer:
			if propagation == "" {
				propagation = "rslave"
			}
		}
		user = append(user, specs.Mount{Destination: dst, Type: "bind", Source: m.HostPath, Options: bindOptions(m.ReadOnly, m.Propagation)})
	}
	shm := in.Files.Shm
	if covered["/dev/shm"] {
		shm = ""
	}
	out := baseMounts(shm, privileged)
	if covered["/dev/shm"] {
		out = append(out[:3], out[4:]...)
	}
	term := in.Container.TerminationMessagePath
	if term == "" {
		term = v1.TerminationMessagePathDefault
	}
	for _, f := range []struct{ dst, src string }{
		{"/etc/hosts", in.Files.Hosts},
		{"/etc/hostname", in.Files.Hostname},
		{"/etc/resolv.conf", in.Files.ResolvConf},
		{path.Clean(term), in.Files.TerminationLog},
	} {
		if f.src == "" || covered[f.dst] {
			continue
		}
		out = append(out, specs.Mount{Destination: f.dst, Type: "bind", Source: f.src, Options: []string{"rbind", "rprivate", "rw"}})
	}
	sort.SliceStable(user, func(i, j int) bool {
		return strings.Count(user[i].Destination, "/") < strings.Count(user[j].Destination, "/")
	})
	return append(out, user...), propagation, errs
}
