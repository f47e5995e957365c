package runc

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"

	"github.com/peapod/peapod/internal/runtime"
)

func TestRuncMessage(t *testing.T) {
	for in, want := range map[string]string{
		`time="2026-11-25T00:35:34Z" level=error msg="runc create failed: unable to start container process: exec: \"no-such-command\": executable file not found in $PATH"`: `runc create failed: unable to start container process: exec: "no-such-command": executable file not found in $PATH`,
		"plain message":     "plain message",
		`msg="unterminated`: `msg="unterminated`,
	} {
		if got := runcMessage(in); got != want {
			t.Errorf("runcMessage(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLogTail(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "0.log")
	var b strings.Builder
	for i := 0; i < 100; i++ {
		b.WriteString("2026-11-25T00:10:11.717381093+00:00 stdout F line\n")
	}
	b.WriteString("2026-11-25T00:10:11.717381093+00:00 stderr P part-\n")
	b.WriteString("2026-11-25T00:10:11.717381093+00:00 stderr F ial\n")
	b.WriteString("2026-11-25T00:10:11.717381093+00:00 stdout F with spaces in it\n")
	os.WriteFile(p, []byte(b.String()), 0o644)
	// The last 3 lines are the file's last 3 records (the partial one
	// counts), each full one with its newline, as the kubelet gives them.
	got := logTail(p, 3, 2048)
	if got != "part-ial\nwith spaces in it\n" {
		t.Errorf("logTail = %q", got)
	}
	if got := logTail(p, 80, 10); got != "ces in it\n" {
		t.Errorf("byte cap: %q", got)
	}
	if got := logTail(filepath.Join(dir, "missing"), 3, 10); got != "" {
		t.Errorf("missing file: %q", got)
	}
}

func TestValidateSandboxAndPool(t *testing.T) {
	err := validateSandbox(&runtime.SandboxConfig{PortMappings: []runtime.PortMapping{{ContainerPort: 0, HostPort: 80}}})
	for _, w := range []string{"name, namespace and uid", "hostname is required", "out of range"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("validateSandbox error lacks %q: %v", w, err)
		}
	}
	ok := &runtime.SandboxConfig{Name: "a", Namespace: "b", UID: "c", Hostname: "a"}
	if err := validateSandbox(ok); err != nil {
		t.Error(err)
	}
	for _, tc := range []struct {
		cfg  runtime.SandboxConfig
		want bool
	}{
		{runtime.SandboxConfig{}, true},
		{runtime.SandboxConfig{ShareProcessNamespace: true}, true},
		{runtime.SandboxConfig{PortMappings: []runtime.PortMapping{{ContainerPort: 80}}}, true}, // no hostPort: nothing to map
		{runtime.SandboxConfig{PortMappings: []runtime.PortMapping{{ContainerPort: 80, HostPort: 8080}}}, false},
		{runtime.SandboxConfig{HostNetwork: true}, false},
		{runtime.SandboxConfig{HostIPC: true}, false},
		{runtime.SandboxConfig{HostPID: true}, false},
	} {
		if got := warmEligible(&tc.cfg); got != tc.want {
			t.Errorf("warmEligible(%+v) = %v", tc.cfg, got)
		}
	}
	pm := portMappings([]runtime.PortMapping{{ContainerPort: 80, HostPort: 8080}, {ContainerPort: 53, HostPort: 53, Protocol: v1.ProtocolUDP}, {ContainerPort: 9}})
	if len(pm) != 2 || pm[0].Protocol != "tcp" || pm[1].Protocol != "udp" {
		t.Errorf("portMappings = %+v", pm)
	}
}

func TestConfigValidate(t *testing.T) {
	c := Config{DataDir: "relative", RuncPath: "/nonexistent/runc", ConmonPath: "/nonexistent/conmon", CatatonitPath: "/nonexistent/catatonit"}
	c.setDefaults()
	err := c.validate()
	for _, w := range []string{"absolute path", "image store is required", "/nonexistent/runc", "/nonexistent/conmon", "/nonexistent/catatonit"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("validate error lacks %q: %v", w, err)
		}
	}
}

func TestExitFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "id")
	if _, _, ok, err := exitFile(p); ok || err != nil {
		t.Errorf("missing: %v %v", ok, err)
	}
	os.WriteFile(p, nil, 0o644)
	if _, _, ok, err := exitFile(p); ok || err != nil {
		t.Errorf("empty (being written): %v %v", ok, err)
	}
	os.WriteFile(p, []byte("137"), 0o644)
	if code, _, ok, err := exitFile(p); !ok || err != nil || code != 137 {
		t.Errorf("137: %d %v %v", code, ok, err)
	}
	os.WriteFile(p, []byte("x"), 0o644)
	if _, _, _, err := exitFile(p); err == nil {
		t.Error("garbage accepted")
	}
	if s, err := procStart(os.Getpid()); err != nil || s == 0 || !alive(os.Getpid(), s) || alive(os.Getpid(), s+1) {
		t.Errorf("procStart/alive: %d %v", s, err)
	}
}

func TestReadFileInStaysInRoot(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "passwd"), []byte("host secret"), 0o644)
	os.MkdirAll(filepath.Join(root, "real"), 0o755)
	os.WriteFile(filepath.Join(root, "real", "passwd"), []byte("root:x:0:0::/root:/bin/sh\n"), 0o644)
	os.Symlink(outside, filepath.Join(root, "etc")) // absolute: must resolve inside root
	if got := readFileIn(root, "etc/passwd"); got != nil {
		t.Errorf("read through an escaping symlink: %q", got)
	}
	os.Remove(filepath.Join(root, "etc"))
	os.Symlink("/real", filepath.Join(root, "etc")) // absolute inside the root
	if got := string(readFileIn(root, "etc/passwd")); got != "root:x:0:0::/root:/bin/sh\n" {
		t.Errorf("in-root symlink: %q", got)
	}
}
