package volume

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
)

func TestEmptyDirAndHostPath(t *testing.T) {
	ctx := context.Background()
	podDir := t.TempDir()
	host := t.TempDir()
	dirOrCreate := v1.HostPathDirectoryOrCreate
	fileType := v1.HostPathFile
	pod := &v1.Pod{Spec: v1.PodSpec{Volumes: []v1.Volume{
		{Name: "scratch", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{}}},
		{Name: "data", VolumeSource: v1.VolumeSource{HostPath: &v1.HostPathVolumeSource{Path: filepath.Join(host, "new"), Type: &dirOrCreate}}},
	}}}
	m := NewManager(DefaultPlugins()...)
	paths, err := m.SetUp(ctx, pod, podDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(podDir, "volumes", "kubernetes.io~empty-dir", "scratch")
	if paths["scratch"] != want {
		t.Fatalf("scratch at %q, want %q", paths["scratch"], want)
	}
	if fi, err := os.Stat(want); err != nil || fi.Mode().Perm() != 0o777 {
		t.Fatalf("emptyDir: %v %v", fi, err)
	}
	if fi, err := os.Stat(filepath.Join(host, "new")); err != nil || !fi.IsDir() {
		t.Fatalf("DirectoryOrCreate did not create: %v", err)
	}
	// SetUp is idempotent and keeps content.
	os.WriteFile(filepath.Join(want, "f"), []byte("x"), 0o644)
	if _, err := m.SetUp(ctx, pod, podDir, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(want, "f")); err != nil {
		t.Fatal("second SetUp lost the content")
	}

	if err := m.TearDown(ctx, podDir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(podDir, "volumes")); !os.IsNotExist(err) {
		t.Fatalf("volumes dir left: %v", err)
	}
	if _, err := os.Stat(filepath.Join(host, "new")); err != nil {
		t.Fatal("teardown removed the host path")
	}

	// Type checks report every failing volume.
	bad := &v1.Pod{Spec: v1.PodSpec{Volumes: []v1.Volume{
		{Name: "f", VolumeSource: v1.VolumeSource{HostPath: &v1.HostPathVolumeSource{Path: host, Type: &fileType}}},
		{Name: "nfs", VolumeSource: v1.VolumeSource{NFS: &v1.NFSVolumeSource{}}},
	}}}
	_, err = m.SetUp(ctx, bad, podDir, nil)
	if err == nil || !strings.Contains(err.Error(), "is not a file") || !strings.Contains(err.Error(), `volume "nfs" : unsupported volume type`) {
		t.Fatalf("err = %v", err)
	}
}

func TestMounts(t *testing.T) {
	dir := t.TempDir()
	c := &v1.Container{Name: "c", VolumeMounts: []v1.VolumeMount{
		{Name: "v", MountPath: "/data", ReadOnly: true},
		{Name: "v", MountPath: "/sub", SubPath: "a/b"},
	}}
	ms, err := Mounts(c, map[string]string{"v": dir})
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].HostPath != dir || !ms[0].ReadOnly || ms[1].HostPath != filepath.Join(dir, "a/b") {
		t.Fatalf("mounts %+v", ms)
	}
	if _, err := os.Stat(filepath.Join(dir, "a/b")); err != nil {
		t.Fatal("subPath not created")
	}
	// API data volumes are read-only whatever the mount says.
	sec := filepath.Join(dir, "kubernetes.io~secret", "s")
	c.VolumeMounts = []v1.VolumeMount{{Name: "s", MountPath: "/s"}}
	if ms, err := Mounts(c, map[string]string{"s": sec}); err != nil || !ms[0].ReadOnly {
		t.Fatalf("secret mount %+v %v", ms, err)
	}
	c.VolumeMounts = []v1.VolumeMount{{Name: "v", MountPath: "/x", SubPath: "../etc"}}
	if _, err := Mounts(c, map[string]string{"v": dir}); err == nil {
		t.Fatal("subPath escaping the volume accepted")
	}
	c.VolumeMounts = []v1.VolumeMount{{Name: "missing", MountPath: "/x"}}
	if _, err := Mounts(c, map[string]string{}); err == nil {
		t.Fatal("missing volume accepted")
	}
}

func TestUnescapeMountPath(t *testing.T) {
	if got := unescapeMountPath(`/a\040b`); got != "/a b" {
		t.Fatalf("got %q", got)
	}
}
