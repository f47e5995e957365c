package volume

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
)

func TestOwnershipOf(t *testing.T) {
	sc := func(u *int64) *v1.SecurityContext { return &v1.SecurityContext{RunAsUser: u} }
	cases := []struct {
		name      string
		pod       v1.PodSpec
		wantUser  *int64
		wantGroup *int64
	}{
		{name: "nothing set", pod: v1.PodSpec{Containers: []v1.Container{{}}}},
		{name: "pod user and fsGroup",
			pod:      v1.PodSpec{SecurityContext: &v1.PodSecurityContext{RunAsUser: ptr(int64(1000)), FSGroup: ptr(int64(2000))}, Containers: []v1.Container{{}, {}}},
			wantUser: ptr(int64(1000)), wantGroup: ptr(int64(2000))},
		{name: "container users agree",
			pod:      v1.PodSpec{InitContainers: []v1.Container{{SecurityContext: sc(ptr(int64(7)))}}, Containers: []v1.Container{{SecurityContext: sc(ptr(int64(7)))}}},
			wantUser: ptr(int64(7))},
		{name: "container overrides pod",
			pod:      v1.PodSpec{SecurityContext: &v1.PodSecurityContext{RunAsUser: ptr(int64(1000))}, Containers: []v1.Container{{SecurityContext: sc(ptr(int64(0)))}}},
			wantUser: ptr(int64(0))},
		{name: "two users", pod: v1.PodSpec{Containers: []v1.Container{{SecurityContext: sc(ptr(int64(1)))}, {SecurityContext: sc(ptr(int64(2)))}}}},
		{name: "one container without a user", pod: v1.PodSpec{Containers: []v1.Container{{SecurityContext: sc(ptr(int64(1)))}, {}}}},
		{name: "an init container without a user",
			pod: v1.PodSpec{InitContainers: []v1.Container{{}}, Containers: []v1.Container{{SecurityContext: sc(ptr(int64(1)))}}}},
	}
	eq := func(a, b *int64) bool { return (a == nil && b == nil) || (a != nil && b != nil && *a == *b) }
	for _, c := range cases {
		o := OwnershipOf(&v1.Pod{Spec: c.pod})
		if !eq(o.FsUser, c.wantUser) || !eq(o.FsGroup, c.wantGroup) {
			t.Errorf("%s: got user %v group %v", c.name, o.FsUser, o.FsGroup)
		}
	}
	if tokenMode(0o644, Ownership{}) != 0o644 || tokenMode(0o644, Ownership{FsGroup: ptr(int64(1))}) != 0o600 ||
		tokenMode(0o444, Ownership{FsUser: ptr(int64(1))}) != 0o600 {
		t.Fatal("tokenMode")
	}
	if ownedMode(0o400, false, true) != 0o440 || ownedMode(0o755, true, true) != 0o755|fs.ModeSetgid ||
		ownedMode(0o777, true, false) != 0o777|fs.ModeSetgid || ownedMode(0o600, false, false) != 0o660 {
		t.Fatal("ownedMode")
	}
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("chown to other users needs root")
	}
}

func stat(t *testing.T, p string) (fs.FileMode, uint32, uint32) {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return fi.Mode(), st.Uid, st.Gid
}

// With an fsGroup the atomic writer gives every file and directory of the
// volume the group, group read (dirs: search and setgid) and keeps the
// owner, without following the links; a token's FsUser owns it; the same
// payload again writes nothing.
func TestWriteAtomicFsGroup(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	gid := ptr(int64(2000))
	payload := map[string]FileProjection{
		"user":       {Data: []byte("admin"), Mode: 0o400},
		"nested/a/b": {Data: []byte("x"), Mode: 0o600},
		"token":      {Data: []byte("t"), Mode: 0o600, FsUser: ptr(int64(1000))},
	}
	if changed, err := WriteAtomic(dir, payload, time.Now(), gid); err != nil || !changed {
		t.Fatalf("write: %v %v", changed, err)
	}
	want := []struct {
		path     string
		mode     fs.FileMode
		uid, gid uint32
	}{
		{"", fs.ModeDir | fs.ModeSetgid | 0o755, 0, 2000},
		{"..data/user", 0o440, 0, 2000},
		{"..data/nested/a/b", 0o640, 0, 2000},
		{"..data/nested/a", fs.ModeDir | fs.ModeSetgid | 0o755, 0, 2000},
		{"..data/token", 0o640, 1000, 2000},
	}
	for _, w := range want {
		p := filepath.Join(dir, w.path)
		if w.path != "" {
			var err error
			if p, err = filepath.EvalSymlinks(p); err != nil {
				t.Fatal(err)
			}
		}
		if m, u, g := stat(t, p); m != w.mode || u != w.uid || g != w.gid {
			t.Errorf("%s: %v %d:%d, want %v %d:%d", w.path, m, u, g, w.mode, w.uid, w.gid)
		}
	}
	// The links themselves are left alone (a chown of a link is the
	// target's without AT_SYMLINK_NOFOLLOW; they stay root's).
	if _, _, g := stat(t, filepath.Join(dir, "user")); g != 0 {
		t.Errorf("link chgrp'ed to %d", g)
	}
	if changed, err := WriteAtomic(dir, payload, time.Now().Add(time.Second), gid); err != nil || changed {
		t.Fatalf("same payload rewritten: %v %v", changed, err)
	}
	// Files without the group (written before the agent knew fsGroup) are
	// rewritten.
	if changed, err := WriteAtomic(dir, payload, time.Now().Add(2*time.Second), ptr(int64(3000))); err != nil || !changed {
		t.Fatalf("new group not applied: %v %v", changed, err)
	}
	if _, _, g := stat(t, filepath.Join(dir, "..data/user")); g != 3000 {
		t.Fatalf("group %d", g)
	}
}

// Through the manager: a pod with runAsUser and fsGroup gets its configMap
// files group-readable and an emptyDir group-writable and setgid; a chmod
// of the emptyDir by the container survives the next SetUp. Its
// kube-api-access token (written here on disk: unit tests mount no tmpfs)
// is 0640, owned by that user and group.
func TestVolumesFsGroupThroughManager(t *testing.T) {
	needRoot(t)
	ctx := context.Background()
	pod := testPod()
	pod.Spec.SecurityContext = &v1.PodSecurityContext{RunAsUser: ptr(int64(1000)), FSGroup: ptr(int64(2000))}
	pod.Spec.Volumes = []v1.Volume{
		{Name: "cfg", VolumeSource: v1.VolumeSource{ConfigMap: &v1.ConfigMapVolumeSource{LocalObjectReference: v1.LocalObjectReference{Name: "cfg"}, DefaultMode: ptr(int32(0o400))}}},
		{Name: "scratch", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{}}},
	}
	podDir := t.TempDir()
	m := NewManager(DefaultPlugins()...)
	paths, err := m.SetUp(ctx, pod, podDir, testObjects())
	if err != nil {
		t.Fatal(err)
	}
	check := func(p string, mode fs.FileMode, uid, gid uint32) {
		t.Helper()
		if m, u, g := stat(t, p); m != mode || u != uid || g != gid {
			t.Errorf("%s: %v %d:%d, want %v %d:%d", p, m, u, g, mode, uid, gid)
		}
	}
	check(paths["cfg"], fs.ModeDir|fs.ModeSetgid|0o777, 0, 2000)
	check(filepath.Join(paths["cfg"], "..data/game.properties"), 0o440, 0, 2000)
	check(paths["scratch"], fs.ModeDir|fs.ModeSetgid|0o777, 0, 2000)
	if err := os.Chmod(paths["scratch"], 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := m.SetUp(ctx, pod, podDir, testObjects()); err != nil {
		t.Fatal(err)
	}
	check(paths["scratch"], fs.ModeDir|0o700, 0, 2000)
	if err := m.TearDown(ctx, podDir); err != nil {
		t.Fatal(err)
	}

	src := &v1.ProjectedVolumeSource{DefaultMode: ptr(int32(0o644)), Sources: []v1.VolumeProjection{
		{ServiceAccountToken: &v1.ServiceAccountTokenProjection{Path: "token"}},
		{ConfigMap: &v1.ConfigMapProjection{LocalObjectReference: v1.LocalObjectReference{Name: "kube-root-ca.crt"}}},
	}}
	own := OwnershipOf(pod)
	payload, err := projectedPayload(SetUpRequest{Pod: pod, Volume: &v1.Volume{VolumeSource: v1.VolumeSource{Projected: src}}, Objects: testObjects(), Ownership: own})
	if err != nil {
		t.Fatal(err)
	}
	dir, err := writeVolume(SetUpRequest{Dir: filepath.Join(podDir, "api"), Ownership: own}, false, payload)
	if err != nil {
		t.Fatal(err)
	}
	check(filepath.Join(dir, "..data/token"), 0o640, 1000, 2000)
	check(filepath.Join(dir, "..data/ca.crt"), 0o644, 0, 2000)
}
