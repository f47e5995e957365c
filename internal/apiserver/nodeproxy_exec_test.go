package apiserver

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"

	agentserver "github.com/peapod/peapod/internal/agent/server"
	"github.com/peapod/peapod/internal/runtime"
)

// fakeAgentRuntime is a container "cid" of pod default/exec that echoes
// the command it is asked to run.
type fakeAgentRuntime struct{}

func (fakeAgentRuntime) LookupContainer(_ context.Context, ns, pod, container string, _ bool) (agentserver.ContainerRef, error) {
	if ns != "default" || pod != "exec" || container != "c" {
		return agentserver.ContainerRef{}, agentserver.ErrContainerNotFound
	}
	return agentserver.ContainerRef{ID: "cid"}, nil
}

func (fakeAgentRuntime) LookupSandbox(context.Context, string, string) (string, error) {
	return "", agentserver.ErrPodNotFound
}

func (fakeAgentRuntime) ContainerStatus(context.Context, string) (*runtime.ContainerStatus, error) {
	return &runtime.ContainerStatus{ID: "cid", State: runtime.ContainerRunning}, nil
}

func (fakeAgentRuntime) Exec(_ context.Context, _ string, cmd []string, s runtime.Streams) (int, error) {
	fmt.Fprintf(s.Stdout, "ran %s", strings.Join(cmd, " "))
	return 0, nil
}

func (fakeAgentRuntime) Attach(context.Context, string, runtime.Streams) error { return nil }

func (fakeAgentRuntime) PortForward(context.Context, string, int32, io.ReadWriteCloser) error {
	return nil
}

// kubectl exec's two protocols (WebSocket v5 first, SPDY as fallback) pass
// through the API server's upgrade-aware proxy to the agent API.
func TestExecThroughProxy(t *testing.T) {
	e := newTestEnv(t)
	agent := httptest.NewTLSServer(agentserver.New(agentserver.Config{
		Pods: fakeAgentRuntime{}, Runtime: fakeAgentRuntime{}, Authenticate: agentserver.StaticToken("node-secret")}))
	defer agent.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	addTestNode(ctx, t, e, agent.URL)
	pod := testPod("exec")
	pod.Spec.NodeName = "n1"
	if _, err := e.client.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	execURL, _ := url.Parse(e.srv.URL + "/api/v1/namespaces/default/pods/exec/exec?container=c&command=echo&command=hi&stdout=true")
	cfg := &rest.Config{Host: e.srv.URL}
	ws, err := remotecommand.NewWebSocketExecutor(cfg, "GET", execURL.String())
	if err != nil {
		t.Fatal(err)
	}
	spdy, err := remotecommand.NewSPDYExecutor(cfg, "POST", execURL)
	if err != nil {
		t.Fatal(err)
	}
	for name, ex := range map[string]remotecommand.Executor{"websocket": ws, "spdy": spdy} {
		var out bytes.Buffer
		if err := ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: &out}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if out.String() != "ran echo hi" {
			t.Fatalf("%s: stdout %q", name, out.String())
		}
	}
}

// addTestNode points the server's node proxy at agentURL (a TLS test
// server expecting "Bearer node-secret") through a node "n1".
func addTestNode(ctx context.Context, t *testing.T, e *testEnv, agentURL string) {
	t.Helper()
	e.api.cfg.NodeTransport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	e.api.cfg.NodeBearerToken = "node-secret"
	u, _ := url.Parse(agentURL)
	host, portStr, _ := net.SplitHostPort(u.Host)
	port, _ := strconv.Atoi(portStr)
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}}
	node.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: host}}
	node.Status.DaemonEndpoints.KubeletEndpoint.Port = int32(port)
	nodeRes := testNodeResource()
	if err := e.store.Create(ctx, objectKey(nodeRes, "", "n1"), node, &corev1.Node{}); err != nil {
		t.Fatal(err)
	}
	e.api.resources[schema.GroupVersion{Version: "v1"}]["nodes"] = nodeRes
}
