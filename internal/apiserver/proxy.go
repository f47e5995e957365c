package apiserver

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/proxy"
)

// serveNodeProxy forwards pods/<name>/{log,exec,attach,portforward} to the
// node agent of the pod's node, at the kubelet's paths:
// /containerLogs/<ns>/<pod>/<container>, /exec|/attach/<ns>/<pod>/<container>
// and /portForward/<ns>/<pod>. Upgrades (WebSocket, SPDY) pass through.
func (s *Server) serveNodeProxy(rq *request) {
	ctx := rq.r.Context()
	pod := &corev1.Pod{}
	if err := s.cfg.Storage.Get(ctx, objectKey(rq.res, rq.info.Namespace, rq.info.Name), "", pod, false); err != nil {
		rq.fail(err)
		return
	}
	q := rq.r.URL.Query()
	container := q.Get("container")
	if container == "" && rq.info.Subresource != "portforward" {
		switch {
		case len(pod.Spec.Containers) == 1:
			container = pod.Spec.Containers[0].Name
		case pod.Annotations["kubectl.kubernetes.io/default-container"] != "":
			container = pod.Annotations["kubectl.kubernetes.io/default-container"]
		default:
			rq.fail(badRequest("a container name must be specified for pod %s, choose one of: %v", pod.Name, containerNames(pod)))
			return
		}
	}
	if container != "" && !hasContainer(pod, container) {
		rq.fail(badRequest("container %s is not valid for pod %s", container, pod.Name))
		return
	}
	if pod.Spec.NodeName == "" {
		rq.fail(badRequest("pod %s does not have a host assigned", pod.Name))
		return
	}
	loc, err := s.nodeLocation(rq, pod.Spec.NodeName)
	if err != nil {
		rq.fail(err)
		return
	}
	switch rq.info.Subresource {
	case "log":
		loc.Path = fmt.Sprintf("/containerLogs/%s/%s/%s", pod.Namespace, pod.Name, container)
	case "exec", "attach":
		loc.Path = fmt.Sprintf("/%s/%s/%s/%s", rq.info.Subresource, pod.Namespace, pod.Name, container)
	case "portforward":
		loc.Path = fmt.Sprintf("/portForward/%s/%s", pod.Namespace, pod.Name)
	}
	loc.RawQuery = rq.r.URL.RawQuery
	if s.cfg.NodeTransport == nil {
		rq.fail(apierrors.NewServiceUnavailable("no transport to node agents is configured"))
		return
	}
	h := proxy.NewUpgradeAwareHandler(loc, s.cfg.NodeTransport, false, rq.info.Subresource != "log", &proxyErrors{s: s, rq: rq})
	h.UseLocationHost = true
	h.FlushInterval = -1
	// The client's credentials stay here; the agent sees the server's.
	out := rq.r.Clone(rq.r.Context())
	out.Header.Del("Authorization")
	out.Header.Del("Cookie")
	if s.cfg.NodeBearerToken != "" {
		out.Header.Set("Authorization", "Bearer "+s.cfg.NodeBearerToken)
	}
	h.ServeHTTP(rq.w, out)
}

// nodeLocation is https://<InternalIP>:<kubelet port> of a node.
func (s *Server) nodeLocation(rq *request, nodeName string) (*url.URL, error) {
	nodeRes := s.lookup(schema.GroupVersion{Version: "v1"}, "nodes")
	if nodeRes == nil {
		return nil, apierrors.NewServiceUnavailable("nodes are not served")
	}
	node := &corev1.Node{}
	if err := s.cfg.Storage.Get(rq.r.Context(), objectKey(nodeRes, "", nodeName), "", node, false); err != nil {
		return nil, toAPIError(err, schema.GroupResource{Resource: "nodes"}, nodeName)
	}
	var ip string
	for _, a := range node.Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			ip = a.Address
			break
		}
	}
	port := node.Status.DaemonEndpoints.KubeletEndpoint.Port
	if ip == "" || port == 0 {
		return nil, apierrors.NewServiceUnavailable(fmt.Sprintf("node %q has no agent endpoint yet (status.addresses InternalIP and status.daemonEndpoints.kubeletEndpoint.port)", nodeName))
	}
	return &url.URL{Scheme: "https", Host: net.JoinHostPort(ip, strconv.Itoa(int(port)))}, nil
}

type proxyErrors struct {
	s  *Server
	rq *request
}

func (p *proxyErrors) Error(w http.ResponseWriter, r *http.Request, err error) {
	p.s.writeError(w, r, apierrors.NewServiceUnavailable(fmt.Sprintf("error reaching the node agent: %v", err)), p.rq.gr, p.rq.info.Name)
}

func containerNames(pod *corev1.Pod) []string {
	var names []string
	for _, c := range pod.Spec.Containers {
		names = append(names, c.Name)
	}
	return names
}

func hasContainer(pod *corev1.Pod, name string) bool {
	for _, cs := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for _, c := range cs {
			if c.Name == name {
				return true
			}
		}
	}
	for _, c := range pod.Spec.EphemeralContainers {
		if c.Name == name {
			return true
		}
	}
	return false
}
