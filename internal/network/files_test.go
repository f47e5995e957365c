package network

import (
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
)

func TestHostsFile(t *testing.T) {
	aliases := []v1.HostAlias{
		{IP: "10.1.2.3", Hostnames: []string{"foo.local", "bar.local"}},
		{IP: "10.1.2.4", Hostnames: []string{"baz"}},
	}
	header := "# Kubernetes-managed hosts file.\n" +
		"127.0.0.1\tlocalhost\n" +
		"::1\tlocalhost ip6-localhost ip6-loopback\n" +
		"fe00::0\tip6-localnet\n" +
		"fe00::0\tip6-mcastprefix\n" +
		"fe00::1\tip6-allnodes\n" +
		"fe00::2\tip6-allrouters\n"
	for _, tc := range []struct {
		name string
		in   HostsInput
		want string
	}{
		{"plain", HostsInput{PodIPs: []string{"10.77.1.5"}, Hostname: "web-0"},
			header + "10.77.1.5\tweb-0\n"},
		{"subdomain", HostsInput{PodIPs: []string{"10.77.1.5"}, Hostname: "web-0", FQDN: "web-0.web.default.svc.cluster.local"},
			header + "10.77.1.5\tweb-0.web.default.svc.cluster.local\tweb-0\n"},
		{"two IPs and aliases", HostsInput{PodIPs: []string{"10.77.1.5", "fd00::5"}, Hostname: "web-0", HostAliases: aliases},
			header + "10.77.1.5\tweb-0\nfd00::5\tweb-0\n\n# Entries added by HostAliases.\n10.1.2.3\tfoo.local\tbar.local\n10.1.2.4\tbaz\n"},
		{"no IP yet", HostsInput{Hostname: "web-0"}, header},
		{"host network", HostsInput{HostNetwork: true, NodeHosts: []byte("127.0.0.1 localhost\n192.0.2.1 node\n"), HostAliases: aliases[:1]},
			"# Kubernetes-managed hosts file (host network).\n127.0.0.1 localhost\n192.0.2.1 node\n\n# Entries added by HostAliases.\n10.1.2.3\tfoo.local\tbar.local\n"},
		{"host network no aliases", HostsInput{HostNetwork: true, NodeHosts: []byte("127.0.0.1 localhost\n")},
			"# Kubernetes-managed hosts file (host network).\n127.0.0.1 localhost\n"},
	} {
		if got := string(HostsFile(tc.in)); got != tc.want {
			t.Errorf("%s:\ngot:\n%s\nwant:\n%s", tc.name, got, tc.want)
		}
	}
}

func TestResolvConf(t *testing.T) {
	node := []byte("nameserver 192.0.2.53\nsearch example.com\n")
	for _, tc := range []struct {
		name                       string
		searches, servers, options []string
		want                       string
	}{
		{"cluster first", []string{"ns.svc.cluster.local", "svc.cluster.local", "cluster.local"}, []string{"10.96.0.10"}, []string{"ndots:5"},
			"search ns.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n"},
		{"servers only", nil, []string{"1.1.1.1", "8.8.8.8"}, nil, "nameserver 1.1.1.1\nnameserver 8.8.8.8\n"},
		{"options only", nil, nil, []string{"ndots:2", "edns0"}, "options ndots:2 edns0\n"},
		{"empty uses node", nil, nil, nil, string(node)},
	} {
		if got := string(ResolvConf(tc.searches, tc.servers, tc.options, node)); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
	if got := string(HostnameFile("web-0")); got != "web-0\n" {
		t.Errorf("hostname file %q", got)
	}
}

func TestConfList(t *testing.T) {
	c := Config{PluginDirs: []string{"/usr/lib/cni"}, CacheDir: "/d/cache", IPAMDir: "/d/ipam", NetworkName: "peapod-br0", Bridge: "br0", Subnet: "10.77.1.0/24", IPMasq: true}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	want := `{"cniVersion":"1.0.0","name":"peapod-br0","plugins":[{"bridge":"br0","hairpinMode":true,"ipMasq":false,"ipam":{"dataDir":"/d/ipam","ranges":[[{"subnet":"10.77.1.0/24"}]],"routes":[{"dst":"0.0.0.0/0"}],"type":"host-local"},"isGateway":true,"type":"bridge"}]}`
	if got := string(ConfList(c, false)); got != want {
		t.Errorf("conflist:\n%s\nwant\n%s", got, want)
	}
	withPM := string(ConfList(c, true))
	if want := `{"capabilities":{"portMappings":true},"snat":true,"type":"portmap"}`; !strings.Contains(withPM, want) {
		t.Errorf("portmap missing: %s", withPM)
	}
	bad := Config{Bridge: "a-very-long-bridge-name", Subnet: "nope"}
	err := bad.Validate()
	for _, w := range []string{"plugin directory", "cache and IPAM", "network name", "1-15 characters", "pod CIDR"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("Validate error lacks %q: %v", w, err)
		}
	}
}
