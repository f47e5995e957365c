package runc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
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
// non-interactive process, done from the agent without runc. The calling
// goroutine's thread (locked for the moment) sets its pid_for_children to
// the container's PID namespace through a pidfd of the container's
// process, and forks the command (nsexec_fork.go), which joins the
// container's cgroups and its other namespaces itself, restricts its
// capabilities as runc does, looks the command up on the container's
// PATH and execs it with the spec's env, cwd, uid, gid and groups, in a
// new session, stdout/stderr into pipes. The thread then sets its
// pid_for_children back to the agent's namespace.
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
	envv     []*byte  // the env for execve (NUL-terminated), made once per container process
	pathDirs []string // env's PATH, as nsexecCandidates lists it
	cwd      string
	uid, gid uint32
	groups   []uint32
	// restrict is how the command restricts itself: the container's
	// capability set (the bounding set to keep) and no_new_privs.
	restrict nsexecRestrict
	dropCaps []uintptr // the capabilities restrict drops from the bounding set
	// proc holds the container process's pidfd and cgroups
	// (nsexec_cache.go); nil in the cache's own copy.
	proc *nsexecEntry
}

// nsexecRestrict is what the command gives up before it execs.
type nsexecRestrict struct {
	caps       uint64 // bit n: capability n is kept in the bounding set
	noNewPrivs bool
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
		args: cmd, envv: envv, pathDirs: nsexecPathDirs(env), cwd: cwd,
		uid: p.User.UID, gid: p.User.GID, groups: p.User.AdditionalGids,
		restrict: nsexecRestrict{noNewPrivs: p.NoNewPrivileges},
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
	out.dropCaps = nsexecDropCaps(out.restrict.caps)
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

// unifiedMount is where the unified (v2) hierarchy is mounted:
// /sys/fs/cgroup on a v2 host, /sys/fs/cgroup/unified on a hybrid one,
// "" if nowhere.
func unifiedMount() string {
	for _, p := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified"} {
		var st unix.Statfs_t
		if unix.Statfs(p, &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
			return p
		}
	}
	return ""
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

// nsexecDevNull is the command's stdin; nsexecAgentPidNS the agent's own
// PID namespace, which a thread's pid_for_children goes back to. Both
// are opened once, for the agent's life.
var (
	nsexecDevNull    = openOnce(os.DevNull)
	nsexecAgentPidNS = openOnce("/proc/self/ns/pid")
)

// openOnce returns a function that opens path read-only the first time
// and returns that descriptor (or error) ever after.
func openOnce(path string) func() (int, error) {
	return sync.OnceValues(func() (int, error) {
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return -1, &os.PathError{Op: "open", Path: path, Err: err}
		}
		return fd, nil
	})
}

// nsexecStart starts s, its stdout and stderr the write ends of pipes.
func nsexecStart(s *nsexecSpec, pipes *nsexecPipes) (nsexecStarted, error) {
	fail := func(what string, err error) (nsexecStarted, error) {
		return nsexecStarted{}, fmt.Errorf("%w: %s: %v", errNsexecUnavailable, what, err)
	}
	devnull, err := nsexecDevNull()
	if err != nil {
		return fail("open /dev/null", err)
	}
	home, err := nsexecAgentPidNS()
	if err != nil {
		return fail("the agent's PID namespace", err)
	}
	if devnull < 3 || pipes.stdout[1] < 3 || pipes.stderr[1] < 3 {
		return fail("stdio", errors.New("a descriptor below 3"))
	}
	c, err := s.child()
	if err != nil {
		return fail("command", err)
	}
	c.stdio = [3]int{devnull, pipes.stdout[1], pipes.stderr[1]}
	root, err := unix.Open("/proc/"+strconv.Itoa(s.proc.pid)+"/root", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fail("the container's root", err)
	}
	c.found, c.failStep, err = nsexecFindIn(root, c.cands, c.slash)
	unix.Close(root)
	if c.failStep != nsexecStepNone {
		c.failIndex = c.found
		return nsexecChildFailure(s, c, err)
	}
	if c.exec, err = unix.BytePtrFromString(c.cands[c.found].path); err != nil {
		return fail("command", err)
	}

	// The fork, from a thread whose pid_for_children is the container's
	// namespace for the moment: on a goroutine of its own, which ends with
	// the thread still locked (so Go ends the thread) if it cannot go back.
	type forked struct {
		pid, pidfd int
		err        error
	}
	done := make(chan forked, 1)
	go func() {
		goruntime.LockOSThread()
		if err := rawSetns(s.proc.pidfd, unix.CLONE_NEWPID); err != nil {
			goruntime.UnlockOSThread()
			done <- forked{err: fmt.Errorf("%w: setns: %v", errNsexecUnavailable, err)}
			return
		}
		pid, pidfd, err := nsexecFork(c, s.proc.unified)
		if rawSetns(home, unix.CLONE_NEWPID) == nil {
			goruntime.UnlockOSThread()
		}
		done <- forked{pid, pidfd, err}
	}()
	f := <-done
	switch {
	case f.err == nil:
		return nsexecStarted{pid: f.pid, pidfd: f.pidfd}, nil
	case errors.Is(f.err, errNsexecUnavailable):
		return nsexecStarted{}, f.err
	}
	return nsexecChildFailure(s, c, f.err)
}

// nsexecChildFailure is what a child that failed at c.failStep means:
// the command's own error (not found, not executable, bad cwd), as runc
// exec reports it, or a failure of the fast path.
func nsexecChildFailure(s *nsexecSpec, c *nsexecChild, err error) (nsexecStarted, error) {
	name := s.args[0]
	switch c.failStep {
	case nsexecStepNotFound:
		return nsexecStarted{execErr: &exec.Error{Name: name, Err: exec.ErrNotFound}}, nil
	case nsexecStepNotExec:
		return nsexecStarted{execErr: &exec.Error{Name: name, Err: os.ErrPermission}}, nil
	case nsexecStepLookup:
		return nsexecStarted{execErr: &exec.Error{Name: name, Err: &os.PathError{Op: "stat", Path: c.cands[c.failIndex].look, Err: err}}}, nil
	case nsexecStepChdir, nsexecStepExec:
		// As os.StartProcess words it (runc exec's message, see
		// nsexecStartFailure).
		err = &os.PathError{Op: "fork/exec", Path: c.cands[c.found].path, Err: err}
		if nsexecCommandError(err) {
			return nsexecStarted{execErr: err}, nil
		}
	case nsexecStepCgroup:
		err = fmt.Errorf("%s: %w", c.tasks[c.failIndex].path, err)
	}
	what := c.failStep.String()
	if c.failStep == nsexecStepNone {
		what = "clone3"
	}
	return nsexecStarted{}, fmt.Errorf("%w: %s: %v", errNsexecUnavailable, what, err)
}

// child is what the forked child of s does (nsexec_fork.go).
func (s *nsexecSpec) child() (*nsexecChild, error) {
	argv, err := syscall.SlicePtrFromStrings(s.args)
	if err != nil {
		return nil, err
	}
	dir, err := unix.BytePtrFromString(s.cwd)
	if err != nil {
		return nil, err
	}
	cands, slash := nsexecCandidates(s.args[0], s.pathDirs, s.cwd)
	return &nsexecChild{
		tasks: s.proc.tasks, nsfd: s.proc.pidfd,
		dropCaps: s.dropCaps, capset: nsexecInheritable(), noNewPrivs: s.restrict.noNewPrivs,
		cands: cands, slash: slash, nofile: s.proc.nofile,
		uid: uintptr(s.uid), gid: uintptr(s.gid), groups: s.groups, dir: dir,
		argv: argv, envv: s.envv, found: -1,
	}, nil
}

// nsexecCandidates are the files command name may be, in the order
// they are tried (nsexecFindIn): with a slash, name itself (looked at
// relative to cwd, exec'd as given after the chdir to cwd); else name in
// each PATH directory.
func nsexecCandidates(name string, dirs []string, cwd string) (cands []nsexecCandidate, slash bool) {
	if strings.Contains(name, "/") {
		p := name
		if !filepath.IsAbs(p) {
			p = filepath.Join(cwd, p)
		}
		return []nsexecCandidate{{look: p, path: name}}, true
	}
	cands = make([]nsexecCandidate, len(dirs))
	for i, dir := range dirs {
		cands[i] = nsexecCandidate{look: dir + name, path: dir + name}
	}
	return cands, false
}

// nsexecFindIn returns the index of the first of cands that is an
// executable file (not a directory, some x bit) in the filesystem whose
// root is the directory root, as exec.LookPath judges it (runc looks a
// command up so). A command with a slash is only that file: its stat
// error (as step nsexecStepLookup) or "not executable" is the failure.
//
// It runs in the agent, before the fork, with ordinary (preemptible)
// system calls: a PATH directory on a network filesystem that hangs
// blocks this goroutine only, not the agent. (Done in the child, which
// holds its parent's thread and P with signals blocked until it execs,
// a hung lookup would also have held up every stop-the-world of the
// agent.) RESOLVE_IN_ROOT resolves each path as the container sees it:
// absolute symlinks and ".." stay inside root, and mounts inside the
// container are crossed.
func nsexecFindIn(root int, cands []nsexecCandidate, slash bool) (found int, step nsexecStep, err error) {
	how := &unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: unix.RESOLVE_IN_ROOT}
	for i, c := range cands {
		var st unix.Stat_t
		fd, err := unix.Openat2(root, c.look, how)
		if err == nil {
			err = unix.Fstat(fd, &st)
			unix.Close(fd)
		}
		if err == nil && st.Mode&unix.S_IFMT != unix.S_IFDIR && st.Mode&0o111 != 0 {
			return i, nsexecStepNone, nil
		}
		if slash {
			if err != nil {
				return i, nsexecStepLookup, err
			}
			return i, nsexecStepNotExec, nil
		}
	}
	return -1, nsexecStepNotFound, nil
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
