package e2e

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"
)

// kubectlPortForwardGet runs `kubectl port-forward pod/<pod> :<port>`,
// reads the local address it prints and GETs path through it; it returns
// the response body. The port-forward ends before it returns.
func kubectlPortForwardGet(ctx context.Context, s *apiServer, pod, port, path string) (string, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pf := s.kubectlCmd(ctx, "port-forward", "pod/"+pod, ":"+port)
	stdout, err := pf.StdoutPipe()
	if err != nil {
		return "", err
	}
	pf.Stderr = io.Discard
	if err := pf.Start(); err != nil {
		return "", err
	}
	defer pf.Wait()
	defer cancel()
	lines := bufio.NewScanner(stdout)
	local := ""
	for lines.Scan() {
		// Forwarding from 127.0.0.1:38123 -> 8080
		if f := strings.Fields(lines.Text()); len(f) == 5 && f[0] == "Forwarding" && strings.HasPrefix(f[2], "127.0.0.1:") {
			local = f[2]
			break
		}
	}
	if local == "" {
		return "", errors.New("kubectl port-forward printed no local address")
	}
	go io.Copy(io.Discard, stdout)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	resp, err := client.Get("http://" + local + path)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}
