package agent

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestContainerEnv(t *testing.T) {
	pod := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "u1", Labels: map[string]string{"app": "web"}, Annotations: map[string]string{"a": "b"}},
		Spec:       v1.PodSpec{NodeName: "n1", ServiceAccountName: "sa"},
	}
	ref := func(path string) *v1.EnvVarSource {
		return &v1.EnvVarSource{FieldRef: &v1.ObjectFieldSelector{FieldPath: path}}
	}
	yes := true
	c := &v1.Container{Env: []v1.EnvVar{
		{Name: "A", Value: "1"},
		{Name: "NAME", ValueFrom: ref("metadata.name")},
		{Name: "NS", ValueFrom: ref("metadata.namespace")},
		{Name: "UID", ValueFrom: ref("metadata.uid")},
		{Name: "LBL", ValueFrom: ref("metadata.labels['app']")},
		{Name: "ANN", ValueFrom: ref("metadata.annotations['a']")},
		{Name: "NODE", ValueFrom: ref("spec.nodeName")},
		{Name: "SA", ValueFrom: ref("spec.serviceAccountName")},
		{Name: "IP", ValueFrom: ref("status.podIP")},
		{Name: "IPS", ValueFrom: ref("status.podIPs")},
		{Name: "HOST", ValueFrom: ref("status.hostIP")},
		{Name: "OPT", ValueFrom: &v1.EnvVarSource{SecretKeyRef: &v1.SecretKeySelector{Key: "k", Optional: &yes}}},
		{Name: "EPH", ValueFrom: &v1.EnvVarSource{ResourceFieldRef: &v1.ResourceFieldSelector{Resource: "limits.ephemeral-storage", Divisor: resource.MustParse("1Gi")}}},
	}}
	// An unset limit reads as the node's allocatable, given by the agent.
	alloc := v1.ResourceList{v1.ResourceEphemeralStorage: resource.MustParse("50Gi")}
	env, err := containerEnv(pod, c, podNetwork{PodIPs: []string{"10.0.0.2", "fd00::2"}, HostIP: "192.0.2.1"}, nil, nil, alloc)
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(env)
	want := "[{A 1} {NAME p} {NS ns} {UID u1} {LBL web} {ANN b} {NODE n1} {SA sa} {IP 10.0.0.2} {IPS 10.0.0.2,fd00::2} {HOST 192.0.2.1} {EPH 50}]"
	if got != want {
		t.Fatalf("env\n got %s\nwant %s", got, want)
	}

	bad := &v1.Container{Env: []v1.EnvVar{
		{Name: "S", ValueFrom: &v1.EnvVarSource{SecretKeyRef: &v1.SecretKeySelector{LocalObjectReference: v1.LocalObjectReference{Name: "db"}, Key: "pw"}}},
		{Name: "F", ValueFrom: ref("spec.nope")},
	}}
	// The first error only, as the kubelet's makeEnvironmentVariables (it
	// is the container's waiting message).
	_, err = containerEnv(pod, bad, podNetwork{}, nil, nil, nil)
	if !errors.Is(err, errConfig) || !strings.Contains(err.Error(), `secret "db"`) || strings.Contains(err.Error(), "spec.nope") {
		t.Fatalf("err = %v", err)
	}
	bad.Env = bad.Env[1:]
	if _, err = containerEnv(pod, bad, podNetwork{}, nil, nil, nil); !errors.Is(err, errConfig) || !strings.Contains(err.Error(), `unsupported fieldPath "spec.nope"`) {
		t.Fatalf("err = %v", err)
	}
}

func TestHostnameAndDNS(t *testing.T) {
	pod := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: strings.Repeat("a", 62) + "-b", Namespace: "ns"}}
	if h, d := hostnameAndDomain(pod, "cluster.local"); h != strings.Repeat("a", 62) || d != "" {
		t.Fatalf("hostname %q domain %q", h, d)
	}
	pod.Spec.Hostname, pod.Spec.Subdomain = "web", "svc1"
	if h, d := hostnameAndDomain(pod, "cluster.local"); h != "web" || d != "svc1.ns.svc.cluster.local" {
		t.Fatalf("hostname %q domain %q", h, d)
	}

	host := []byte("# c\nnameserver 192.0.2.53\nnameserver 192.0.2.54\nsearch example.com corp\noptions ndots:2 edns0\n")
	dns := dnsConfig(&v1.Pod{}, host)
	if fmt.Sprint(dns) != "{[example.com corp] [192.0.2.53 192.0.2.54] [ndots:2 edns0]}" {
		t.Fatalf("default: %v", dns)
	}
	five := "5"
	pod = &v1.Pod{Spec: v1.PodSpec{DNSPolicy: v1.DNSNone, DNSConfig: &v1.PodDNSConfig{
		Nameservers: []string{"1.1.1.1"}, Searches: []string{"a.b"}, Options: []v1.PodDNSConfigOption{{Name: "ndots", Value: &five}},
	}}}
	if dns := dnsConfig(pod, host); fmt.Sprint(dns) != "{[a.b] [1.1.1.1] [ndots:5]}" {
		t.Fatalf("None: %v", dns)
	}
	pod.Spec.DNSPolicy = v1.DNSClusterFirst
	if dns := dnsConfig(pod, host); fmt.Sprint(dns) != "{[example.com corp a.b] [192.0.2.53 192.0.2.54 1.1.1.1] [ndots:5 edns0]}" {
		t.Fatalf("merged: %v", dns)
	}
}
