package cli

import (
	"errors"
	"net"
	"strings"
	"testing"
)

func TestPodAPIServerAddress(t *testing.T) {
	lookup := func(host string) ([]net.IP, error) {
		switch host {
		case "localhost":
			return []net.IP{net.ParseIP("::1"), net.ParseIP("127.0.0.1")}, nil
		case "myhost": // Debian's /etc/hosts: the hostname is 127.0.1.1
			return []net.IP{net.ParseIP("127.0.1.1")}, nil
		case "api.example":
			return []net.IP{net.ParseIP("2001:db8::7"), net.ParseIP("198.51.100.7")}, nil
		case "v6only.example":
			return []net.IP{net.ParseIP("2001:db8::8")}, nil
		}
		return nil, errors.New("no such host")
	}
	cases := []struct{ server, nodeIP, want, wantErr string }{
		{server: "", nodeIP: "192.0.2.2", want: ""},
		// The in-process agent of `peapod server` and an agent beside it.
		{server: "https://127.0.0.1:6443", nodeIP: "192.0.2.2", want: "192.0.2.2:6443"},
		{server: "https://[::1]:7443", nodeIP: "fd00::2", want: "[fd00::2]:7443"},
		{server: "https://localhost:6443", nodeIP: "192.0.2.2", want: "192.0.2.2:6443"},
		{server: "https://myhost:6443", nodeIP: "192.0.2.2", want: "192.0.2.2:6443"},
		// Another host: as given, a name resolved (IPv4 first).
		{server: "https://198.51.100.1:6443", nodeIP: "192.0.2.2", want: "198.51.100.1:6443"},
		{server: "https://[2001:db8::1]:6443", nodeIP: "192.0.2.2", want: "[2001:db8::1]:6443"},
		{server: "https://api.example:6443", nodeIP: "192.0.2.2", want: "198.51.100.7:6443"},
		{server: "https://v6only.example:6443", nodeIP: "192.0.2.2", want: "[2001:db8::8]:6443"},
		{server: "https://api.example", nodeIP: "192.0.2.2", want: "198.51.100.7:443"},
		{server: "https://unknown.example:6443", nodeIP: "192.0.2.2", want: "unknown.example:6443"},
		{server: "https://127.0.0.1:6443", nodeIP: "", wantErr: "no node IP"},
		{server: "https://:6443", nodeIP: "192.0.2.2", wantErr: "no host"},
	}
	for _, c := range cases {
		got, err := podAPIServerAddress(c.server, c.nodeIP, lookup)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%q: err %v, want %q", c.server, err, c.wantErr)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%q (node %s): %q %v, want %q", c.server, c.nodeIP, got, err, c.want)
		}
	}
}

func TestServerPodURL(t *testing.T) {
	for bind, want := range map[string]string{
		"0.0.0.0":   "https://127.0.0.1:6443", // then the node IP (podAPIServerAddress)
		"::":        "https://127.0.0.1:6443",
		"192.0.2.2": "https://192.0.2.2:6443",
		"127.0.0.1": "", // no pod reaches it
		"::1":       "",
		"localhost": "",
	} {
		if got := serverPodURL(bind, 6443); got != want {
			t.Errorf("bind %s: %q, want %q", bind, got, want)
		}
	}
}
