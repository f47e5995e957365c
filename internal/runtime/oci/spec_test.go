package oci

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

var update = flag.Bool("update", false, "rewrite the golden specs in testdata/")

func golden(t *testing.T, name string, v any) {
	t.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", name+".json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test ./internal/runtime/oci -update to accept):\n%s", path, got)
	}
}

func bp(b bool) *bool { return &b }

var podFiles = PodFiles{
	Hosts: "/data/sb/hosts", Hostname: "/data/sb/hostname", ResolvConf: "/data/sb/resolv.conf",
	Shm: "/data/sb/shm", TerminationLog: "/data/ctr/termination-log",
}

var podNS = Namespaces{
	Net: Namespace{Path: "/data/sb/netns"},
	IPC: Namespace{Path: "/proc/42/ns/ipc"},
	UTS: Namespace{Path: "/proc/42/ns/uts"},
}

func TestContainerSpecGolden(t *testing.T) {
	base := func() ContainerInput {
		return ContainerInput{
			Container: v1.Container{Name: "app"},
			Image: ImageConfig{
				Entrypoint: []string{"/entry"}, Cmd: []string{"serve"},
				Env: []string{"PATH=/usr/bin:/bin", "MODE=image"}, User: "www",
			},
			Rootfs: "/data/ctr/rootfs", Hostname: "web-0", Namespaces: podNS,
			CgroupsPath: "/peapod/pod-1/ctr", Files: podFiles,
			Passwd: []byte(testPasswd), Group: []byte(testGroup),
			// Not this machine's: the golden files hold every capability.
			CurrentCapabilities: allCapabilities,
		}
	}
	cases := map[string]func(*ContainerInput){
		"default": func(*ContainerInput) {},
		"command-env-expansion": func(in *ContainerInput) {
			in.Container.Command = []string{"/bin/sh", "-c"}
			in.Container.Args = []string{"echo $(GREETING) $$(GREETING) $(MISSING)"}
			in.Container.WorkingDir = "/work"
			// As the agent resolved it ($(NAME) expanded there).
			in.Env = []EnvVar{{"NAME", "world"}, {"GREETING", "hello world"}, {"MODE", "pod"}}
		},
		"security-context": func(in *ContainerInput) {
			in.Container.SecurityContext = &v1.SecurityContext{
				RunAsUser: i64(1000), RunAsGroup: i64(3000),
				Capabilities:             &v1.Capabilities{Add: []v1.Capability{"NET_ADMIN", "SYS_TIME"}, Drop: []v1.Capability{"MKNOD", "NET_RAW"}},
				ReadOnlyRootFilesystem:   bp(true),
				AllowPrivilegeEscalation: bp(false),
			}
			in.PodSecurityContext = &v1.PodSecurityContext{SupplementalGroups: []int64{4000}, FSGroup: i64(2000), RunAsUser: i64(5)}
		},
		"privileged-host-namespaces": func(in *ContainerInput) {
			in.Container.SecurityContext = &v1.SecurityContext{Privileged: bp(true)}
			in.Namespaces = Namespaces{Net: Namespace{Host: true}, IPC: Namespace{Host: true}, UTS: Namespace{Host: true}, PID: Namespace{Host: true}}
			in.Files.Shm = ""
		},
		"shared-pid-resources-tty": func(in *ContainerInput) {
			in.Namespaces.PID = Namespace{Path: "/proc/42/ns/pid"}
			in.Container.TTY = true
			in.Container.Resources = v1.ResourceRequirements{
				Requests: v1.ResourceList{v1.ResourceCPU: resource.MustParse("250m")},
				Limits:   v1.ResourceList{v1.ResourceCPU: resource.MustParse("1500m"), v1.ResourceMemory: resource.MustParse("64Mi")},
			}
		},
		"mounts": func(in *ContainerInput) {
			in.Container.TerminationMessagePath = "/tmp/my-termination"
			in.Mounts = []Mount{
				{ContainerPath: "/data/cache", HostPath: "/var/lib/pods/x/cache", ReadOnly: false},
				{ContainerPath: "/data", HostPath: "/var/lib/pods/x/data", ReadOnly: true, Propagation: v1.MountPropagationHostToContainer},
				{ContainerPath: "/etc/hosts", HostPath: "/custom/hosts"},
				{ContainerPath: "/dev/shm", HostPath: "/var/lib/pods/x/shm"},
			}
		},
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			in := base()
			mutate(&in)
			s, err := ContainerSpec(in)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, "container-"+name, s)
		})
	}
}

func TestInfraSpecGolden(t *testing.T) {
	golden(t, "infra-pod", InfraSpec(InfraInput{
		Rootfs: "/data/sb/infra/rootfs", Catatonit: "/usr/bin/catatonit", Hostname: "web-0",
		Namespaces:  Namespaces{Net: Namespace{Path: "/data/sb/netns"}, PID: Namespace{}},
		CgroupsPath: "/peapod/pod-1/sb",
		Sysctls:     []v1.Sysctl{{Name: "net.ipv4.ip_unprivileged_port_start", Value: "0"}},
	}))
	golden(t, "infra-host", InfraSpec(InfraInput{
		Rootfs: "/data/sb/infra/rootfs", Catatonit: "/usr/bin/catatonit", Hostname: "node",
		Namespaces:  Namespaces{Net: Namespace{Host: true}, IPC: Namespace{Host: true}, UTS: Namespace{Host: true}, PID: Namespace{Host: true}},
		CgroupsPath: "/peapod/pod-2/sb",
		Sysctls:     []v1.Sysctl{{Name: "net.ipv4.ip_unprivileged_port_start", Value: "0"}},
	}))
}

func TestContainerSpecErrorsAllAtOnce(t *testing.T) {
	_, err := ContainerSpec(ContainerInput{
		Container: v1.Container{Name: "bad", WorkingDir: "relative",
			SecurityContext: &v1.SecurityContext{RunAsNonRoot: bp(true)}},
		Image:  ImageConfig{User: "ghost"},
		Mounts: []Mount{{ContainerPath: "rel", HostPath: "/x"}, {ContainerPath: "/a", HostPath: "/x"}, {ContainerPath: "/a/", HostPath: "/y"}},
	})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"no command specified", `"ghost"`, "runAsNonRoot", `workingDir "relative"`, `"rel" is not absolute`, `"/a" is used twice`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}

// Privileged and add ALL give what this process holds (containerd's
// WithAllCurrentCapabilities): here a process without CAP_SYS_RESOURCE, as
// on the project's machine, whose CapEff is 000001fffeffffff.
func TestCurrentCapabilities(t *testing.T) {
	current := capabilitiesFromStatus([]byte("Name:\tpeapod\nCapInh:\t0000000000000000\nCapEff:\t000001fffeffffff\n"))
	if len(current) != len(allCapabilities)-1 || slices.Contains(current, "CAP_SYS_RESOURCE") || !slices.Contains(current, "CAP_SYS_ADMIN") {
		t.Fatalf("current %v", current)
	}
	if got := capabilities(nil, true, current); slices.Contains(got, "CAP_SYS_RESOURCE") || len(got) != len(current) {
		t.Fatalf("privileged %v", got)
	}
	if got := capabilities(&v1.Capabilities{Add: []v1.Capability{"ALL"}}, false, current); slices.Contains(got, "CAP_SYS_RESOURCE") {
		t.Fatalf("add ALL %v", got)
	}
	// An explicit add is kept: runc then refuses it, as with containerd.
	if got := capabilities(&v1.Capabilities{Add: []v1.Capability{"SYS_RESOURCE"}}, false, current); !slices.Contains(got, "CAP_SYS_RESOURCE") {
		t.Fatalf("explicit add %v", got)
	}
	if got := capabilitiesFromStatus([]byte("Name:\tx\n")); len(got) != len(allCapabilities) {
		t.Fatalf("no CapEff: %v", got)
	}
}

func TestCapabilities(t *testing.T) {
	for _, tc := range []struct {
		name       string
		c          *v1.Capabilities
		privileged bool
		has, lacks []string
		n          int
	}{
		{"default", nil, false, []string{"CAP_CHOWN", "CAP_NET_RAW", "CAP_KILL"}, []string{"CAP_SYS_ADMIN"}, 14},
		{"add drop", &v1.Capabilities{Add: []v1.Capability{"SYS_ADMIN", "CAP_NET_ADMIN"}, Drop: []v1.Capability{"chown"}}, false, []string{"CAP_SYS_ADMIN", "CAP_NET_ADMIN"}, []string{"CAP_CHOWN"}, 15},
		{"drop all add one", &v1.Capabilities{Add: []v1.Capability{"NET_BIND_SERVICE"}, Drop: []v1.Capability{"ALL"}}, false, []string{"CAP_NET_BIND_SERVICE"}, []string{"CAP_CHOWN"}, 1},
		{"add all drop one", &v1.Capabilities{Add: []v1.Capability{"ALL"}, Drop: []v1.Capability{"SYS_ADMIN"}}, false, []string{"CAP_BPF"}, []string{"CAP_SYS_ADMIN"}, len(allCapabilities) - 1},
		{"add all drop all", &v1.Capabilities{Add: []v1.Capability{"ALL"}, Drop: []v1.Capability{"ALL"}}, false, nil, []string{"CAP_CHOWN"}, 0},
		{"privileged", &v1.Capabilities{Drop: []v1.Capability{"ALL"}}, true, []string{"CAP_SYS_ADMIN"}, nil, len(allCapabilities)},
	} {
		got := capabilities(tc.c, tc.privileged, allCapabilities)
		set := map[string]bool{}
		for _, c := range got {
			set[c] = true
		}
		if len(got) != tc.n {
			t.Errorf("%s: %d caps, want %d: %v", tc.name, len(got), tc.n, got)
		}
		for _, h := range tc.has {
			if !set[h] {
				t.Errorf("%s: lacks %s", tc.name, h)
			}
		}
		for _, l := range tc.lacks {
			if set[l] {
				t.Errorf("%s: has %s", tc.name, l)
			}
		}
	}
}

func TestResources(t *testing.T) {
	r := Resources(v1.ResourceRequirements{Limits: v1.ResourceList{v1.ResourceCPU: resource.MustParse("500m")}}, false)
	if *r.CPU.Shares != 512 || *r.CPU.Quota != 50000 || *r.CPU.Period != 100000 || r.Memory != nil {
		t.Errorf("limit-only cpu: %+v", r.CPU)
	}
	r = Resources(v1.ResourceRequirements{}, false)
	if *r.CPU.Shares != 2 || r.CPU.Quota != nil {
		t.Errorf("best effort: %+v", r.CPU)
	}
	if got := MilliCPUToQuota(5); got != 1000 {
		t.Errorf("min quota = %d", got)
	}
	if !reflect.DeepEqual(Resources(v1.ResourceRequirements{}, true).Devices[0].Allow, true) {
		t.Error("privileged devices not allowed")
	}
}

func TestCapabilityNumber(t *testing.T) {
	for name, want := range map[string]uintptr{
		"CAP_CHOWN": unix.CAP_CHOWN, "CAP_KILL": unix.CAP_KILL, "CAP_NET_RAW": unix.CAP_NET_RAW,
		"CAP_SYS_ADMIN": unix.CAP_SYS_ADMIN, "CAP_SYS_RESOURCE": unix.CAP_SYS_RESOURCE,
		"CAP_AUDIT_READ": unix.CAP_AUDIT_READ, "CAP_BPF": unix.CAP_BPF,
		"CAP_CHECKPOINT_RESTORE": unix.CAP_CHECKPOINT_RESTORE,
	} {
		if got, ok := CapabilityNumber(name); !ok || got != want {
			t.Errorf("CapabilityNumber(%s) = %d, %v; want %d", name, got, ok, want)
		}
	}
	if len(allCapabilities) != unix.CAP_LAST_CAP+1 {
		t.Errorf("%d capabilities listed, the kernel headers know %d", len(allCapabilities), unix.CAP_LAST_CAP+1)
	}
	if _, ok := CapabilityNumber("CAP_NOPE"); ok {
		t.Error("an unknown capability has a number")
	}
}
