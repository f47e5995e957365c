package runc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
	v1 "k8s.io/api/core/v1"

	"github.com/peapod/peapod/internal/runtime"
	"github.com/peapod/peapod/internal/runtime/oci"
)

// startErrorExitCode is what a container that never started reports, as
// containerd does.
const startErrorExitCode = 128

// CreateContainer mounts the image's rootfs, writes the bundle and runs
// `runc create` under a new conmon. When runc create fails (for example
// the command does not exist) the container is kept, Exited with reason
// StartError and runc's message, and StartContainer returns that error;
// RemoveContainer cleans it up. Errors before that (bad spec, unknown
// image, sandbox not ready) leave nothing behind.
func (d *Driver) CreateContainer(ctx context.Context, sandboxID string, cfg *runtime.ContainerConfig) (_ string, err error) {
	if cfg == nil || cfg.Spec.Name == "" {
		return "", errors.New("container config: name is required")
	}
	d.touchStart()
	sb, err := d.getSandbox(sandboxID)
	if err != nil {
		return "", err
	}
	sb.life.RLock()
	defer sb.life.RUnlock()
	sm := sb.meta()
	if !sm.Ready || sm.Stopped || !alive(sm.InfraPID, sm.InfraStart) {
		return "", fmt.Errorf("sandbox %s is not ready: %w", sandboxID, runtime.ErrInvalidState)
	}
	ref := cfg.ImageRef
	if ref == "" {
		ref = cfg.Spec.Image
	}
	img, err := d.cfg.Images.Get(ref)
	if err != nil {
		return "", fmt.Errorf("container %q: image %q: %w", cfg.Spec.Name, ref, err)
	}
	stopSig, err := oci.ParseSignal(img.StopSignal)
	if err != nil {
		return "", fmt.Errorf("container %q: image STOPSIGNAL: %w", cfg.Spec.Name, err)
	}

	id := newID()
	dir, disk := filepath.Join(d.dirs.containers, id), d.diskDir(id)
	if err := os.Mkdir(dir, 0o711); err != nil {
		return "", fmt.Errorf("container dir: %w", err)
	}
	defer func() {
		if err != nil {
			d.cfg.Images.UnmountRootfs(disk)
			os.RemoveAll(disk)
			os.RemoveAll(dir)
		}
	}()
	rootfs, err := d.cfg.Images.MountRootfs(ctx, img.ID, disk)
	if err != nil {
		return "", fmt.Errorf("container %q: rootfs: %w", cfg.Spec.Name, err)
	}
	termLog := filepath.Join(disk, "termination-log")
	if err := os.WriteFile(termLog, nil, 0o666); err != nil {
		return "", err
	}
	os.Chmod(termLog, 0o666)

	logDir := filepath.Join(d.logDirectory(sm.Config), cfg.Spec.Name)
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return "", fmt.Errorf("log dir: %w", err)
	}
	logPath := filepath.Join(logDir, strconv.FormatUint(uint64(cfg.Attempt), 10)+".log")

	pcfg := sm.Config
	infra := "/proc/" + strconv.Itoa(sm.InfraPID) + "/ns/"
	ns := oci.Namespaces{
		Net: oci.Namespace{Host: pcfg.HostNetwork, Path: sm.NetNS},
		IPC: oci.Namespace{Host: pcfg.HostIPC, Path: infra + "ipc"},
		UTS: oci.Namespace{Host: pcfg.HostNetwork, Path: infra + "uts"},
	}
	sharedPID := false
	switch {
	case pcfg.HostPID:
		ns.PID.Host = true
	case pcfg.ShareProcessNamespace:
		ns.PID.Path, sharedPID = infra+"pid", true
	case cfg.TargetPID != "":
		path, err := d.targetPIDNamespace(sandboxID, cfg.TargetPID)
		if err != nil {
			return "", fmt.Errorf("container %q: %w", cfg.Spec.Name, err)
		}
		ns.PID.Path, sharedPID = path, true
	}
	env := make([]oci.EnvVar, len(cfg.Env))
	for i, e := range cfg.Env {
		env[i] = oci.EnvVar{Name: e.Name, Value: e.Value}
	}
	mounts := make([]oci.Mount, len(cfg.Mounts))
	for i, mt := range cfg.Mounts {
		mounts[i] = oci.Mount{ContainerPath: mt.ContainerPath, HostPath: mt.HostPath, ReadOnly: mt.ReadOnly, Propagation: mt.Propagation}
	}
	localhost, err := d.localhostSeccomp(cfg)
	if err != nil {
		return "", fmt.Errorf("container %q: %w", cfg.Spec.Name, err)
	}
	cgroupsPath := "/" + sm.CgroupParent + "/" + id
	spec, err := oci.ContainerSpec(oci.ContainerInput{
		Container:          cfg.Spec,
		PodSecurityContext: cfg.PodSecurityContext,
		Env:                env,
		Image: oci.ImageConfig{
			Entrypoint: img.Entrypoint, Cmd: img.Cmd, Env: img.Env,
			WorkingDir: img.WorkingDir, User: img.User,
		},
		Rootfs:      rootfs,
		Hostname:    sm.Hostname,
		Namespaces:  ns,
		CgroupsPath: cgroupsPath,
		Mounts:      mounts,
		Files: oci.PodFiles{
			Hosts:          filepath.Join(d.diskDir(sandboxID), "hosts"),
			Hostname:       filepath.Join(d.diskDir(sandboxID), "hostname"),
			ResolvConf:     filepath.Join(d.diskDir(sandboxID), "resolv.conf"),
			Shm:            sm.Shm,
			TerminationLog: termLog,
		},
		Passwd:           readFileIn(rootfs, "etc/passwd"),
		Group:            readFileIn(rootfs, "etc/group"),
		SeccompLocalhost: localhost,
	})
	if err != nil {
		return "", err
	}
	if err := writeJSON(filepath.Join(dir, "config.json"), spec); err != nil {
		return "", err
	}
	c := &container{dir: dir}
	c.m.Store(&containerMeta{
		ID: id, SandboxID: sandboxID, Name: cfg.Spec.Name, Attempt: cfg.Attempt,
		Image: cfg.Spec.Image, ImageRef: img.ID, CreatedAt: time.Now(),
		StopSignal: stopSig, LogPath: logPath, CgroupsPath: cgroupsPath,
		TermPolicy: string(cfg.Spec.TerminationMessagePolicy),
		SharedPID:  sharedPID || pcfg.HostPID,
		TTY:        cfg.Spec.TTY, Stdin: cfg.Spec.Stdin,
		Labels: cfg.Labels, Annotations: cfg.Annotations,
	})
	if err := c.update(func(*containerMeta) {}); err != nil {
		return "", err
	}
	d.mu.Lock()
	d.containers[id] = c
	d.mu.Unlock()
	c.op.Lock()
	defer c.op.Unlock()

	pid, cerr := d.conmonCreate(ctx, conmonSpec{
		ID: id, Name: cfg.Spec.Name, Bundle: dir, LogPath: logPath,
		Stdin: cfg.Spec.Stdin, TTY: cfg.Spec.TTY,
	})
	if cerr != nil {
		var ce *createError
		if !errors.As(cerr, &ce) {
			// Not runc's verdict on the container: undo everything.
			d.forgetCreated(ctx, id, cgroupsPath)
			return "", fmt.Errorf("container %q: %w", cfg.Spec.Name, cerr)
		}
		d.runcDelete(context.WithoutCancel(ctx), id)
		removeCgroup(cgroupsPath)
		if err := c.update(func(m *containerMeta) { m.StartError, m.FinishedAt = ce.msg, time.Now() }); err != nil {
			return "", err
		}
		return id, nil
	}
	start, _ := procStart(pid)
	if err := c.update(func(m *containerMeta) { m.PID, m.PIDStart = pid, start }); err != nil {
		// Untracked, it must not survive: delete it before the rootfs goes.
		d.forgetCreated(ctx, id, cgroupsPath)
		return "", err
	}
	return id, nil
}

// forgetCreated undoes a CreateContainer that fails after conmon ran:
// the runc container, its cgroup, conmon's socket dir and exit file, and
// the driver's record. The caller's deferred cleanup removes the bundle.
func (d *Driver) forgetCreated(ctx context.Context, id, cgroupsPath string) {
	d.runcDelete(context.WithoutCancel(ctx), id)
	removeCgroup(cgroupsPath)
	os.Remove(filepath.Join(d.dirs.socks, id))
	os.Remove(d.exitPath(id))
	d.mu.Lock()
	delete(d.containers, id)
	d.mu.Unlock()
}

// readFileIn reads rel inside rootfs with every symlink resolved inside
// it (openat2 RESOLVE_IN_ROOT), so an image cannot point it at host files.
func readFileIn(rootfs, rel string) []byte {
	root, err := unix.Open(rootfs, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	defer unix.Close(root)
	fd, err := unix.Openat2(root, rel, &unix.OpenHow{Flags: unix.O_RDONLY | unix.O_CLOEXEC, Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS})
	if err != nil {
		return nil
	}
	f := os.NewFile(uintptr(fd), rel)
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() || fi.Size() > 1<<20 {
		return nil
	}
	b, _ := io.ReadAll(f)
	return b
}

// StartContainer starts the created container (as `runc start` does).
func (d *Driver) StartContainer(ctx context.Context, id string) error {
	c, err := d.getContainer(id)
	if err != nil {
		return err
	}
	c.op.Lock()
	defer c.op.Unlock()
	m := c.meta()
	if m.StartError != "" {
		return fmt.Errorf("start container %q: %s", m.Name, m.StartError)
	}
	if m.Started {
		return fmt.Errorf("container %q already started: %w", m.Name, runtime.ErrInvalidState)
	}
	d.touchStart()
	if err := d.startCreated(ctx, id, m.PID, m.PIDStart); err != nil {
		return fmt.Errorf("start container %q: %w", m.Name, err)
	}
	return c.update(func(m *containerMeta) { m.Started, m.StartedAt = true, time.Now() })
}

func (d *Driver) exitPath(id string) string { return filepath.Join(d.dirs.exits, id) }

// StopContainer sends the stop signal, waits up to timeout, then kills.
func (d *Driver) StopContainer(ctx context.Context, id string, timeout time.Duration) error {
	c, err := d.getContainer(id)
	if err != nil {
		return err
	}
	c.op.Lock()
	defer c.op.Unlock()
	return d.stopContainerLocked(ctx, c, timeout)
}

func (d *Driver) stopContainerLocked(ctx context.Context, c *container, timeout time.Duration) error {
	m := c.meta()
	if m.StartError != "" || m.PID == 0 {
		return nil
	}
	exit := d.exitPath(m.ID)
	if _, err := os.Stat(exit); err == nil {
		return nil
	}
	if !m.Started {
		// A created container's process waits on runc's exec fifo; it has
		// never run user code, so kill it at once.
		timeout = 0
	}
	if timeout > 0 {
		if err := signalProcess(m.PID, m.PIDStart, sigOf(m.StopSignal)); err != nil {
			return fmt.Errorf("stop container %q: %w", m.Name, err)
		}
		deadline := timeout
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < deadline {
			deadline = time.Until(dl)
		}
		if waitFileCtx(ctx, exit, deadline) {
			return nil
		}
		if errors.Is(ctx.Err(), context.Canceled) {
			// The caller gave up (a shorter grace is coming, or the agent
			// stops): the stop signal is sent, no SIGKILL yet.
			return fmt.Errorf("stop container %q: %w", m.Name, ctx.Err())
		}
	}
	if err := signalProcess(m.PID, m.PIDStart, unix.SIGKILL); err != nil {
		return fmt.Errorf("stop container %q: %w", m.Name, err)
	}
	if m.SharedPID {
		killCgroup(m.CgroupsPath, 5*time.Second)
	}
	if !waitFile(exit, 10*time.Second) {
		if !alive(m.PID, m.PIDStart) {
			return nil
		}
		return fmt.Errorf("stop container %q: no exit recorded 10s after SIGKILL", m.Name)
	}
	return nil
}

// RemoveContainer kills the container if it still runs, then removes its
// runc state, rootfs, bundle, fifos, socket link, exit file and cgroups.
func (d *Driver) RemoveContainer(ctx context.Context, id string) error {
	c, err := d.getContainer(id)
	if err != nil {
		return err
	}
	c.op.Lock()
	defer c.op.Unlock()
	if err := d.stopContainerLocked(ctx, c, 0); err != nil {
		return err
	}
	m := c.meta()
	emptyMemoryCgroup(m.CgroupsPath)
	if err := d.runcDelete(ctx, id); err != nil {
		return fmt.Errorf("remove container %q: %w", m.Name, err)
	}
	nsexecProcs.dropContainer(id)
	if err := d.cfg.Images.UnmountRootfs(d.diskDir(id)); err != nil {
		return fmt.Errorf("remove container %q: %w", m.Name, err)
	}
	removeCgroup(m.CgroupsPath)
	os.Remove(filepath.Join(d.dirs.socks, id))
	os.Remove(d.exitPath(id))
	if err := os.RemoveAll(d.diskDir(id)); err != nil {
		return fmt.Errorf("remove container %q: %w", m.Name, err)
	}
	if _, err := os.Lstat(filepath.Join(c.dir, "rootfs")); err == nil {
		// Created by an older driver, which kept the rootfs here.
		if err := d.cfg.Images.UnmountRootfs(c.dir); err != nil {
			return fmt.Errorf("remove container %q: %w", m.Name, err)
		}
	}
	if err := os.RemoveAll(c.dir); err != nil {
		return fmt.Errorf("remove container %q: %w", m.Name, err)
	}
	d.mu.Lock()
	delete(d.containers, id)
	d.mu.Unlock()
	return nil
}

// terminationMessage is what the container wrote to its termination
// message file, or with FallbackToLogsOnError and an error exit, the tail
// of its log. The limits are the kubelet's (kubecontainer's
// MaxContainerTerminationMessageLength, ...LogLines and ...LogLength).
func terminationMessage(m containerMeta, dir string, exitCode int32) string {
	const max = 4096
	b := readTail(filepath.Join(dir, "termination-log"), max)
	if len(b) == 0 && exitCode != 0 && m.TermPolicy == string(v1.TerminationMessageFallbackToLogsOnError) {
		return logTail(m.LogPath, 80, 2048)
	}
	return string(b)
}

// readTail returns the last max bytes of the file at path: the kubelet's
// getTerminationMessage reads the file with tail.ReadAtMost, so of an
// oversized message the end is kept (where a program's last words are),
// not the start. Only those bytes are read, however big the file.
func readTail(path string, max int64) []byte {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil
	}
	off := fi.Size() - max
	if off < 0 {
		off = 0
	}
	b := make([]byte, fi.Size()-off)
	n, _ := f.ReadAt(b, off)
	return b[:n]
}

// targetPIDNamespace is the PID namespace of running container id of
// sandboxID, which an ephemeral container with a targetContainerName joins.
func (d *Driver) targetPIDNamespace(sandboxID, id string) (string, error) {
	t, err := d.getContainer(id)
	if err != nil {
		return "", fmt.Errorf("target container: %w", err)
	}
	m := t.meta()
	if m.SandboxID != sandboxID || m.PID == 0 || !alive(m.PID, m.PIDStart) {
		return "", fmt.Errorf("target container %s is not running: %w", m.Name, runtime.ErrInvalidState)
	}
	return "/proc/" + strconv.Itoa(m.PID) + "/ns/pid", nil
}

// SeccompDir is where Localhost seccomp profiles are read from, under the
// data directory (the kubelet's <root-dir>/seccomp).
const SeccompDir = "seccomp"

// localhostSeccomp reads the container's Localhost seccomp profile, if it
// has one: <data dir>/seccomp/<localhostProfile>, a path that cannot leave
// that directory.
func (d *Driver) localhostSeccomp(cfg *runtime.ContainerConfig) ([]byte, error) {
	p := oci.EffectiveSeccomp(cfg.Spec.SecurityContext, cfg.PodSecurityContext)
	if p == nil || p.Type != v1.SeccompProfileTypeLocalhost || p.LocalhostProfile == nil {
		return nil, nil
	}
	b, err := os.ReadFile(filepath.Join(d.cfg.DataDir, SeccompDir, filepath.Clean("/"+*p.LocalhostProfile)))
	if err != nil {
		return nil, fmt.Errorf("cannot load seccomp profile %q: %w", *p.LocalhostProfile, err)
	}
	return b, nil
}
