package runc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/peapod/peapod/internal/runtime"
	"github.com/peapod/peapod/internal/runtime/oci"
)

// The fast ExecSync path ("nsexec"): what `runc exec` does for a
// non-interactive process, done from the agent without runc. The exec
// runs on a pooled OS thread (nsexec_thread.go), locked for good and set
// up once: its own fs_struct (unshare CLONE_FS: setns into a mount
// namespace refuses a shared one) and the container's restrictions as runc
// applies them (the capability bounding set, inheritable and ambient cut
// to the container's capabilities, no_new_privs if the spec has it). Per
// exec, that thread:
//
//  1. setns(pidfd of the container's process) into its mount, PID,
//     network, IPC, UTS and cgroup namespaces at once (PID only affects
//     children; the mount namespace sets root and cwd to the container's
//     root);
//  2. resolves the command on the container's PATH;
//  3. forks the command (nsexec_fork.go), which joins the container's
//     cgroups itself (the v1 hierarchies' `tasks` files, the unified
//     one's `cgroup.procs`) and execs with the spec's env,
//     cwd, uid, gid and groups, in a new session, stdout/stderr into
//     pipes;
//  4. setns's back into the agent's namespaces.
//
// The child is the agent's child (the caller collects its output and
// reaps it, nsexec_wait.go) but lives in the container's PID namespace
// and cgroups; a timeout kills its process group. Anything the fast path
// cannot honour (rlimits, seccomp, AppArmor/SELinux labels, an unknown
// capability, a container in a user namespace) or fails to set up makes
// ExecSync fall back to `runc exec`.

// errNsexecUnavailable marks a fast-path setup failure: ExecSync then
// uses runc exec.
var errNsexecUnavailable = errors.New("fast exec path unavailable")

// nsexecWaitDelay bounds how long ExecSync waits for the output pipes
// after the process exited (a background child may hold them).
const nsexecWaitDelay = time.Second

// nsexecSpec is what the fast path runs: the command with the container
// process's identity.
type nsexecSpec struct {
	args     []string
	env      []string
	envv     []*byte  // env for execve, made once per container process
	pathDirs []string // env's PATH, as nsexecLookPath searches it
	cwd      string
	uid, gid uint32
	groups   []uint32
	// restrict is what the exec thread carries: the container's
	// capability set (the bounding set to keep) and no_new_privs.
	restrict nsexecThreadKey
	// proc holds the container process's pidfd and cgroups
	// (nsexec_cache.go); nil in the cache's own copy.
	proc *nsexecEntry
}

// nsexecFromSpec builds the fast path's plan from the container's OCI
// spec (as `runc exec` takes the process from config.json). An error
// wrapping errNsexecUnavailable means the spec asks for something the
// fast path does not do.
func nsexecFromSpec(s *specs.Spec, cmd []string) (*nsexecSpec, error) {
	unavailable := func(what string) error { return fmt.Errorf("%w: the spec sets %s", errNsexecUnavailable, what) }
	p := s.Process
	if p == nil {
		return nil, unavailable("no process")
	}
	switch {
	case len(p.Rlimits) > 0:
		return nil, unavailable("rlimits")
	case p.ApparmorProfile != "":
		return nil, unavailable("an AppArmor profile")
	case p.SelinuxLabel != "":
		return nil, unavailable("an SELinux label")
	case p.OOMScoreAdj != nil:
		return nil, unavailable("oomScoreAdj")
	case p.User.Umask != nil:
		return nil, unavailable("a umask")
	case p.Capabilities != nil && len(p.Capabilities.Ambient) > 0:
		return nil, unavailable("ambient capabilities")
	}
	if l := s.Linux; l != nil {
		if l.Seccomp != nil {
			return nil, unavailable("seccomp")
		}
		for _, ns := range l.Namespaces {
			if ns.Type == specs.UserNamespace {
				return nil, unavailable("a user namespace")
			}
		}
	}
	env, ok := nsexecEnv(p.Env)
	if !ok {
		return nil, unavailable("an environment variable with a NUL byte")
	}
	cwd := p.Cwd
	if cwd == "" {
		cwd = "/"
	}
	envv, err := syscall.SlicePtrFromStrings(env)
	if err != nil {
		return nil, unavailable("an environment variable with a NUL byte")
	}
	out := &nsexecSpec{
		args: cmd, env: env, envv: envv, pathDirs: nsexecPathDirs(env), cwd: cwd,
		uid: p.User.UID, gid: p.User.GID, groups: p.User.AdditionalGids,
		restrict: nsexecThreadKey{noNewPrivs: p.NoNewPrivileges},
	}
	if p.Capabilities != nil {
		for _, n := range p.Capabilities.Bounding {
			c, ok := oci.CapabilityNumber(n)
			if !ok || c >= 64 {
				return nil, unavailable("capability " + n)
			}
			out.restrict.caps |= 1 << c
		}
	}
	return out, nil
}

// nsexecEnv is env as the command gets it: duplicates removed, the last
// value of each name kept (as runc does, and os/exec did for the fast
// path). Done once per container process (the spec is cached), not per
// exec. ok is false when a variable has a NUL byte, which execve cannot
// pass (runc exec then reports the error).
func nsexecEnv(env []string) (out []string, ok bool) {
	out = make([]string, 0, len(env))
	seen := make(map[string]bool, len(env))
	for i := len(env) - 1; i >= 0; i-- {
		kv := env[i]
		if strings.IndexByte(kv, 0) >= 0 {
			return nil, false
		}
		i := strings.IndexByte(kv, '=')
		if i == 0 {
			i = strings.IndexByte(kv[1:], '=') + 1 // "=NAME=value", as os/exec reads it
		}
		if i < 0 {
			if kv != "" {
				out = append(out, kv) // not NAME=value: passed as is
			}
			continue
		}
		name := kv[:i]
		if seen[name] {
			continue
		}
		seen[name] = true
		out = append(out, kv)
	}
	slices.Reverse(out)
	return out, true
}

// nsexecCgroups lists the cgroups of process pid as the fast path joins
// them: the v1 hierarchies' tasks files and the unified directory. Nothing
// is looked up here (joining tries the candidates in order).
func nsexecCgroups(pid int) (tasks [][]string, unified string, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		return nil, "", err
	}
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		f := strings.SplitN(sc.Text(), ":", 3)
		if len(f) != 3 {
			continue
		}
		if f[0] == "0" && f[1] == "" {
			if root := unifiedMount(); root != "" {
				unified = filepath.Join(root, f[2])
			}
			continue
		}
		tasks = append(tasks, nsexecTasksCandidates(f[1], f[2]))
	}
	return tasks, unified, nil
}

// nsexecTasksCandidates are the paths the tasks file of cgroup path in
// the v1 hierarchy with controllers ctrls ("cpu,cpuacct", "name=systemd")
// may have: /sys/fs/cgroup/<ctrls>, then each controller's own mount.
func nsexecTasksCandidates(ctrls, path string) []string {
	names := []string{strings.TrimPrefix(ctrls, "name=")}
	if strings.Contains(ctrls, ",") {
		names = append(names, strings.Split(ctrls, ",")...)
	}
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = filepath.Join("/sys/fs/cgroup", n, path, "tasks")
	}
	return out
}

// nsexecPrepare returns what the fast path needs of running container m,
// from the cache (nsexec_cache.go) or read now; s.proc goes back with
// nsexecProcs.release.
func (d *Driver) nsexecPrepare(m containerMeta, cmd []string) (*nsexecSpec, error) {
	k := nsexecKey{id: m.ID, pid: m.PID, start: m.PIDStart}
	e, err := nsexecProcs.get(k, time.Now(), func() (*nsexecEntry, error) {
		base, err := d.nsexecReadSpec(m)
		if err != nil {
			return nil, err
		}
		e, err := nsexecOpen(*base, m.PID, m.PIDStart)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", errNsexecUnavailable, err)
		}
		return e, nil
	})
	if err != nil {
		return nil, err
	}
	s := e.base
	s.args, s.proc = cmd, e
	return &s, nil
}

// nsexecReadSpec reads the fast path's plan (without a command) from
// container m's config.json.
func (d *Driver) nsexecReadSpec(m containerMeta) (*nsexecSpec, error) {
	// Only what the fast path reads (a third of the cost of a whole spec).
	var s struct {
		Process *specs.Process `json:"process"`
		Linux   *struct {
			Namespaces []specs.LinuxNamespace `json:"namespaces"`
			Seccomp    *specs.LinuxSeccomp    `json:"seccomp"`
		} `json:"linux"`
	}
	if err := readJSON(filepath.Join(d.dirs.containers, m.ID, "config.json"), &s); err != nil {
		return nil, fmt.Errorf("%w: %v", errNsexecUnavailable, err)
	}
	spec := &specs.Spec{Process: s.Process}
	if s.Linux != nil {
		spec.Linux = &specs.Linux{Namespaces: s.Linux.Namespaces, Seccomp: s.Linux.Seccomp}
	}
	return nsexecFromSpec(spec, nil)
}

// nsexecStarted is a process the fast path started.
type nsexecStarted struct {
	pid, pidfd int
	// execErr is set when the command could not be started inside the
	// container (not found, not executable, bad cwd): what runc exec
	// would report.
	execErr error
}

// nsexecStart starts s on a pooled thread (nsexec_thread.go), its stdout
// and stderr the write ends of pipes.
func nsexecStart(s *nsexecSpec, pipes *nsexecPipes) (nsexecStarted, error) {
	var (
		st  nsexecStarted
		err error
	)
	perr := nsexecThreads.run(s.restrict, func(home *nsexecThreadHome) bool {
		var keep bool
		st, keep, err = nsexecOnThread(s, pipes, home)
		return keep
	})
	if perr != nil {
		return nsexecStarted{}, perr
	}
	return st, err
}

// nsexecDevNull is the command's stdin, opened once.
var nsexecDevNull = sync.OnceValues(func() (int, error) {
	fd, err := unix.Open(os.DevNull, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, &os.PathError{Op: "open", Path: os.DevNull, Err: err}
	}
	return fd, nil
})

// nsexecOnThread starts s from the calling pooled thread and brings the
// thread home again; keep is false when that failed.
func nsexecOnThread(s *nsexecSpec, pipes *nsexecPipes, home *nsexecThreadHome) (st nsexecStarted, keep bool, err error) {
	fail := func(what string, err error) (nsexecStarted, bool, error) {
		return nsexecStarted{}, true, fmt.Errorf("%w: %s: %v", errNsexecUnavailable, what, err)
	}
	// Opened in the agent's mount namespace, before the switch.
	devnull, err := nsexecDevNull()
	if err != nil {
		return fail("open /dev/null", err)
	}
	if devnull < 3 || pipes.stdout[1] < 3 || pipes.stderr[1] < 3 {
		return fail("stdio", errors.New("a descriptor below 3"))
	}
	// The way back, whatever happens below. A thread that cannot get
	// home is discarded.
	defer func() {
		if home.goHome() != nil {
			keep = false
		}
	}()
	if err := rawSetns(s.proc.pidfd, unix.CLONE_NEWNS|unix.CLONE_NEWPID|unix.CLONE_NEWNET|unix.CLONE_NEWIPC|unix.CLONE_NEWUTS|unix.CLONE_NEWCGROUP); err != nil {
		return fail("setns", err)
	}
	path, err := nsexecLookPath(s.args[0], s.pathDirs, s.cwd)
	if err != nil {
		return nsexecStarted{execErr: err}, true, nil
	}
	c, err := s.child(path)
	if err != nil {
		return fail("command", err)
	}
	c.stdio = [3]int{devnull, pipes.stdout[1], pipes.stderr[1]}
	pid, pidfd, err := nsexecFork(c)
	switch {
	case err == nil:
		return nsexecStarted{pid: pid, pidfd: pidfd}, true, nil
	case c.failStep == nsexecStepChdir || c.failStep == nsexecStepExec:
		// As os.StartProcess words it (runc exec's message, see
		// nsexecStartFailure).
		err = &os.PathError{Op: "fork/exec", Path: path, Err: err}
		if nsexecCommandError(err) {
			return nsexecStarted{execErr: err}, true, nil
		}
		return fail("start", err)
	case c.failStep == nsexecStepCgroup:
		return fail("join cgroup", &os.PathError{Op: "write", Path: s.proc.tasks[c.failIndex].path, Err: err})
	case c.failStep != nsexecStepNone:
		return fail(c.failStep.String(), err)
	default:
		return fail("clone3", err)
	}
}

// child is what the forked child of s does to exec path (nsexec_fork.go).
func (s *nsexecSpec) child(path string) (*nsexecChild, error) {
	argv0, err := unix.BytePtrFromString(path)
	if err != nil {
		return nil, err
	}
	argv, err := syscall.SlicePtrFromStrings(s.args)
	if err != nil {
		return nil, err
	}
	dir, err := unix.BytePtrFromString(s.cwd)
	if err != nil {
		return nil, err
	}
	return &nsexecChild{
		path: argv0, argv: argv, envv: s.envv, dir: dir,
		tasks: s.proc.tasks, nofile: s.proc.nofile,
		uid: uintptr(s.uid), gid: uintptr(s.gid), groups: s.groups,
	}, nil
}

// nsexecCommandError tells errors of the command itself (not found, not
// executable: what runc exec would report too) from failures of the fast
// path (clone3, cgroup, credentials), after which runc exec is tried.
func nsexecCommandError(err error) bool {
	for _, e := range []unix.Errno{unix.ENOENT, unix.EACCES, unix.ENOEXEC, unix.ENOTDIR, unix.ELOOP,
		unix.ETXTBSY, unix.EISDIR, unix.ENAMETOOLONG, unix.E2BIG} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// restrictThread limits the calling thread (and so its children) to caps:
// the bounding set loses every other capability, the inheritable and
// ambient sets are emptied; no_new_privs when asked. A root child then
// execs with exactly caps (permitted = effective = bounding), a non-root
// one with none, as under runc.
func restrictThread(caps uint64, noNewPrivs bool) error {
	for c := uintptr(0); c < 64; c++ {
		if caps&(1<<c) != 0 {
			continue
		}
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, c, 0, 0, 0); err != nil {
			if errors.Is(err, unix.EINVAL) {
				break // past the kernel's last capability
			}
			return fmt.Errorf("drop capability %d: %w", c, err)
		}
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
		return fmt.Errorf("clear ambient capabilities: %w", err)
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capget: %w", err)
	}
	if data[0].Inheritable != 0 || data[1].Inheritable != 0 {
		data[0].Inheritable, data[1].Inheritable = 0, 0
		if err := unix.Capset(&hdr, &data[0]); err != nil {
			return fmt.Errorf("capset: %w", err)
		}
	}
	if noNewPrivs {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("no_new_privs: %w", err)
		}
	}
	return nil
}

// nsexecLookPath resolves name as runc does: a name with a slash as is
// (relative to cwd), others in the PATH directories dirs (nsexecPathDirs).
// It runs on the switched thread, so it looks at the container's
// filesystem.
func nsexecLookPath(name string, dirs []string, cwd string) (string, error) {
	if strings.Contains(name, "/") {
		p := name
		if !filepath.IsAbs(p) {
			p = filepath.Join(cwd, p)
		}
		if err := executable(p); err != nil {
			return "", &exec.Error{Name: name, Err: err}
		}
		return name, nil
	}
	for _, dir := range dirs {
		// A probe's command is looked up on every exec, in each directory
		// before its own: a stat(2) each.
		if p := dir + name; executable(p) == nil {
			return p, nil
		}
	}
	return "", &exec.Error{Name: name, Err: exec.ErrNotFound}
}

// nsexecPathDirs are the absolute directories of the env's PATH, each
// ready to have a command name appended: dir + name is what
// filepath.Join(dir, name) gives for a name without a slash (nor one
// that is "." or "..", which both find a directory, not a command).
func nsexecPathDirs(env []string) []string {
	pathEnv := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			pathEnv = v
		}
	}
	var dirs []string
	for _, dir := range filepath.SplitList(pathEnv) {
		if dir == "" || !filepath.IsAbs(dir) {
			continue
		}
		if dir = filepath.Clean(dir); dir != "/" {
			dir += "/"
		}
		dirs = append(dirs, dir)
	}
	return dirs
}

// executable checks that p is a file (not a directory) with an execute
// bit, as runc does; its errors are os.Stat's, without os.Stat's FileInfo
// (it runs for each PATH directory on every exec).
func executable(p string) error {
	var st unix.Stat_t
	if err := unix.Stat(p, &st); err != nil {
		return &os.PathError{Op: "stat", Path: p, Err: err}
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR || st.Mode&0o111 == 0 {
		return os.ErrPermission
	}
	return nil
}

// nsexecSync runs cmd in running container m through the fast path. An
// error wrapping errNsexecUnavailable means nothing ran: use runc exec.
func (d *Driver) nsexecSync(ctx context.Context, m containerMeta, cmd []string) (*runtime.ExecResult, error) {
	s, err := d.nsexecPrepare(m, cmd)
	if err != nil {
		return nil, err
	}
	pipes, err := openNsexecPipes()
	if err != nil {
		nsexecProcs.release(s.proc)
		return nil, fmt.Errorf("%w: %v", errNsexecUnavailable, err)
	}
	st, err := nsexecStart(s, &pipes)
	nsexecProcs.release(s.proc)
	// The child has its copies: the streams end when it (and what it
	// started) closes them.
	pipes.closeWrite()
	if err != nil {
		pipes.closeRead()
		// Gone, or its cgroups are not where they were: the next exec
		// looks again.
		nsexecProcs.drop(nsexecKey{id: m.ID, pid: m.PID, start: m.PIDStart})
		return nil, err
	}
	if st.execErr != nil {
		pipes.closeRead()
		return nsexecStartFailure(st.execErr), nil
	}
	return nsexecWait(ctx, cmd[0], st.pid, st.pidfd, pipes)
}

// nsexecStartFailure is the result when the command could not be
// started in the container; it mirrors runc exec's (see
// TestNsexecMatchesRunc).
func nsexecStartFailure(err error) *runtime.ExecResult {
	return &runtime.ExecResult{
		Stderr:   []byte(fmt.Sprintf("exec failed: unable to start container process: %v\n", err)),
		ExitCode: 255,
	}
}

// ExecSyncRunc is ExecSync through `runc exec` only (the fallback of the
// fast path), for comparisons and benchmarks.
func (d *Driver) ExecSyncRunc(ctx context.Context, id string, cmd []string, timeout time.Duration) (*runtime.ExecResult, error) {
	if len(cmd) == 0 {
		return nil, errors.New("exec: empty command")
	}
	if _, err := d.runningContainer(id); err != nil {
		return nil, err
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	return d.runcExecSync(ctx, id, cmd)
}
