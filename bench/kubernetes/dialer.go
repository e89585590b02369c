package kubernetes

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"
)

// PodDialer says how this process reaches a port of a pod in the cluster:
// the load agents' API, a replica's /admin/fault, a ledger's audit.
type PodDialer interface {
	// Pod returns the base URL (no trailing slash) at which port of pod
	// answers HTTP, and the client to use for it.
	Pod(pod *corev1.Pod, port int) (baseURL string, client *http.Client, err error)
}

// APIServerProxy reaches pods through the API server's pod proxy
// (/api/v1/namespaces/NS/pods/NAME:PORT/proxy/), with the credentials
// of the kubeconfig: nothing but the API server need be reachable from
// where meshbench runs, as `kubectl port-forward` needs, and the RBAC
// rule is one verb (create on pods/proxy; see docs/kubernetes.md).
type APIServerProxy struct {
	Config *rest.Config

	client *http.Client
}

// NewAPIServerProxy builds the dialer for cfg.
func NewAPIServerProxy(cfg *rest.Config) (*APIServerProxy, error) {
	c, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("pod proxy client: %w", err)
	}
	return &APIServerProxy{Config: cfg, client: c}, nil
}

// Pod is the pod proxy URL of pod's port.
func (p *APIServerProxy) Pod(pod *corev1.Pod, port int) (string, *http.Client, error) {
	host := strings.TrimSuffix(p.Config.Host, "/")
	if !strings.Contains(host, "://") {
		host = "https://" + host
	}
	if ap := strings.Trim(p.Config.APIPath, "/"); ap != "" && ap != "api" {
		host += "/" + ap
	}
	return host + "/api/v1/namespaces/" + pod.Namespace + "/pods/" + pod.Name + ":" + strconv.Itoa(port) + "/proxy", p.client, nil
}

// CloseIdleConnections closes the dialer's idle connections.
func (p *APIServerProxy) CloseIdleConnections() {
	if p.client != nil {
		p.client.CloseIdleConnections()
	}
}
