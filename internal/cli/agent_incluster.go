package cli

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"time"
)

// podAPIServerAddress is host:port at which pods reach the API server of
// URL server (the agent's KUBERNETES_SERVICE_HOST and _PORT; "" when
// server is "": a static-only agent gives pods none). A loopback host
// means nothing inside a pod's network namespace: the API server is then
// on this host, and pods reach it at nodeIP (it binds 0.0.0.0 by default,
// and its certificate covers every interface address). A name is looked
// up, so that the pod need not resolve it: a loopback answer is nodeIP
// again, else the first IPv4 address (the first address without one); a
// name that does not resolve is kept.
func podAPIServerAddress(server, nodeIP string, lookup func(string) ([]net.IP, error)) (string, error) {
	if server == "" {
		return "", nil
	}
	u, err := url.Parse(server)
	if err != nil {
		return "", fmt.Errorf("--server %q: %w", server, err)
	}
	host, port := u.Hostname(), u.Port()
	if host == "" {
		return "", fmt.Errorf("--server %q: no host", server)
	}
	if port == "" {
		port = "443"
		if u.Scheme == "http" {
			port = "80"
		}
	}
	onThisHost := func() (string, error) {
		if nodeIP == "" {
			return "", fmt.Errorf("--server %q is on this host, and there is no node IP for pods to reach it at (set --node-ip)", server)
		}
		return net.JoinHostPort(nodeIP, port), nil
	}
	if ip := net.ParseIP(host); ip != nil {
		if ip.IsLoopback() {
			return onThisHost()
		}
		return net.JoinHostPort(host, port), nil
	}
	ips, err := lookup(host)
	if err != nil || len(ips) == 0 {
		return net.JoinHostPort(host, port), nil
	}
	pick := ips[0]
	for _, ip := range ips {
		if ip.To4() != nil {
			pick = ip
			break
		}
	}
	if pick.IsLoopback() {
		return onThisHost()
	}
	return net.JoinHostPort(pick.String(), port), nil
}

// lookupIP resolves a name with a short timeout.
func lookupIP(host string) ([]net.IP, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return net.DefaultResolver.LookupIP(ctx, "ip", host)
}

// serverPodURL is the URL that `peapod server` gives its own agent for
// its pods' KUBERNETES_SERVICE_* variables: its own address when it
// binds every address or a non-loopback one; "" (none) when it binds a
// loopback address only, which no pod network reaches.
func serverPodURL(bindAddress string, port int) string {
	if ip := net.ParseIP(bindAddress); (ip != nil && ip.IsLoopback()) || bindAddress == "localhost" {
		return ""
	}
	return fmt.Sprintf("https://%s", net.JoinHostPort(localHost(bindAddress), fmt.Sprint(port)))
}
