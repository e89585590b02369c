// Package k8senv starts a real Kubernetes control plane on loopback for
// tests: etcd, kube-apiserver, kube-controller-manager and kube-scheduler
// built from their Go modules (tools/k8senv, `make k8s-env`), and kwok
// standing in for nodes and their kubelets. Deployments, ReplicaSets,
// scheduling, garbage collection and namespace deletion are the real
// controllers'; kwok marks scheduled pods Running and Ready and completes
// their deletion with the stages it ships (its built-in defaults:
// node-initialize, node-heartbeat-with-lease, pod-ready, pod-complete,
// pod-delete). Pods run no containers.
//
// Every process listens on 127.0.0.1 only, on free ports, with its data and
// logs in a temporary folder that Stop removes. Pod IPs are made up by kwok
// and nothing routes to them: the API server's connections into the
// cluster (pod and service proxy, kubelet logs and exec) are sent to a
// socket that does not exist, so they fail at once instead of leaving the
// machine. See docs/kubernetes-testenv.md.
package k8senv

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// EnvRequire names the environment variable that, set to 1, makes
// StartForTest fail rather than skip when the binaries are missing (CI
// sets it).
const EnvRequire = "MESHBENCH_REQUIRE_K8S"

// ZoneLabel is the well-known label each node carries with its zone.
const ZoneLabel = "topology.kubernetes.io/zone"

// DefaultZones are the zones of Options' zero value.
var DefaultZones = []string{"zone-a", "zone-b", "zone-c"}

// Node capacity: large, so that scheduling is never what a test runs into.
var nodeCapacity = corev1.ResourceList{
	corev1.ResourceCPU:    resource.MustParse("64"),
	corev1.ResourceMemory: resource.MustParse("256Gi"),
	corev1.ResourcePods:   resource.MustParse("250"),
}

// Options configures Start. The zero value is valid.
type Options struct {
	// Zones: one kwok node per zone, named kwok-ZONE and labelled
	// topology.kubernetes.io/zone=ZONE; empty means DefaultZones.
	Zones []string
}

// Env is a running control plane. Config and Kubeconfig authenticate as a
// cluster administrator (group system:masters).
type Env struct {
	// Config reaches the API server, with a high client-side rate limit.
	Config *rest.Config
	// Kubeconfig is the path of a kubeconfig file equivalent to Config,
	// for programs under test that take one.
	Kubeconfig string
	// Dir is the temporary folder holding the processes' data and logs
	// (NAME.log); Stop removes it.
	Dir string
	// Nodes are the kwok nodes' names, in the order of Options.Zones.
	Nodes []string

	procs    []*proc // in start order; stopped in reverse
	stopOnce sync.Once
	stopErr  error
}

// ports the control plane listens on, all on 127.0.0.1.
type ports struct {
	etcdClient, etcdPeer, apiserver, controllerManager, scheduler int
}

// Start builds a control plane in a new temporary folder and returns once
// the API server is ready (/readyz), every node is Ready, the scheduler and
// controller manager answer /healthz, and the default namespace has its
// service account (so pods can be created). On error everything started is
// stopped and the folder removed. ctx bounds the start; cancelling it
// later does not stop the environment: Stop does.
func Start(ctx context.Context, opts Options) (*Env, error) {
	zones := opts.Zones
	if len(zones) == 0 {
		zones = DefaultZones
	}
	if err := checkZones(zones); err != nil {
		return nil, err
	}
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "meshbench-k8senv-")
	if err != nil {
		return nil, err
	}
	e := &Env{Dir: dir}
	if err := e.start(ctx, bin, zones); err != nil {
		if serr := e.Stop(); serr != nil {
			err = errors.Join(err, serr)
		}
		return nil, err
	}
	return e, nil
}

func checkZones(zones []string) error {
	seen := map[string]bool{}
	for i, z := range zones {
		if errs := validation.IsValidLabelValue(z); len(errs) > 0 || z == "" {
			return fmt.Errorf("k8senv: Options.Zones[%d] %q is not a valid label value: %s", i, z, strings.Join(errs, "; "))
		}
		if errs := validation.IsDNS1123Subdomain(nodeName(z)); len(errs) > 0 {
			return fmt.Errorf("k8senv: Options.Zones[%d] %q: node name %q: %s", i, z, nodeName(z), strings.Join(errs, "; "))
		}
		if seen[z] {
			return fmt.Errorf("k8senv: Options.Zones[%d] %q given twice", i, z)
		}
		seen[z] = true
	}
	return nil
}

func nodeName(zone string) string { return "kwok-" + strings.ToLower(zone) }

func (e *Env) start(ctx context.Context, bin string, zones []string) error {
	creds, err := writeCredentials(e.Dir)
	if err != nil {
		return fmt.Errorf("k8senv: credentials: %w", err)
	}
	p, err := freePorts()
	if err != nil {
		return fmt.Errorf("k8senv: free ports: %w", err)
	}
	token, err := randomToken()
	if err != nil {
		return err
	}
	tokenFile := filepath.Join(e.Dir, "tokens.csv")
	if err := os.WriteFile(tokenFile, []byte(token+",meshbench-admin,meshbench-admin,system:masters\n"), 0o600); err != nil {
		return err
	}
	egressFile := filepath.Join(e.Dir, "egress-selector.yaml")
	if err := os.WriteFile(egressFile, []byte(egressSelector(filepath.Join(e.Dir, "no-cluster-egress.sock"))), 0o600); err != nil {
		return err
	}
	host := "https://127.0.0.1:" + strconv.Itoa(p.apiserver)
	e.Config = &rest.Config{
		Host:            host,
		BearerToken:     token,
		TLSClientConfig: rest.TLSClientConfig{CAData: creds.caPEM},
		QPS:             200,
		Burst:           400,
	}
	e.Kubeconfig = filepath.Join(e.Dir, "kubeconfig")
	if err := writeKubeconfig(e.Kubeconfig, host, creds.caPEM, token); err != nil {
		return err
	}

	// etcd, alone: the API server needs it first.
	etcdURL := "http://127.0.0.1:" + strconv.Itoa(p.etcdClient)
	peerURL := "http://127.0.0.1:" + strconv.Itoa(p.etcdPeer)
	etcd, err := e.run(bin, "etcd", []string{
		"--name=k8senv",
		"--data-dir=" + filepath.Join(e.Dir, "etcd"),
		"--listen-client-urls=" + etcdURL,
		"--advertise-client-urls=" + etcdURL,
		"--listen-peer-urls=" + peerURL,
		"--initial-advertise-peer-urls=" + peerURL,
		"--initial-cluster=k8senv=" + peerURL,
		// A test's data needs no durability: no fsync, a small WAL.
		"--unsafe-no-fsync=true",
		"--snapshot-count=10000",
		"--log-level=warn",
	}, nil)
	if err != nil {
		return err
	}
	plain := &http.Client{Timeout: 2 * time.Second}
	if err := waitFor(ctx, "etcd /health", []*proc{etcd}, func(ctx context.Context) (bool, string) {
		return httpOK(ctx, plain, etcdURL+"/health", "")
	}); err != nil {
		return err
	}

	apiserver, err := e.run(bin, "kube-apiserver", []string{
		"--etcd-servers=" + etcdURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(p.apiserver),
		"--cert-dir=" + filepath.Join(e.Dir, "apiserver-certs"),
		"--tls-cert-file=" + creds.serverCert,
		"--tls-private-key-file=" + creds.serverKey,
		"--client-ca-file=" + creds.caFile,
		"--token-auth-file=" + tokenFile,
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + creds.saPublicKey,
		"--service-account-signing-key-file=" + creds.saPrivateKey,
		// Cluster IPs are bookkeeping here: no proxy programs them.
		"--service-cluster-ip-range=10.96.0.0/16",
		"--allow-privileged=true",
		// The built-in kubernetes Service would list 127.0.0.1 as its
		// endpoint, which endpoint validation refuses.
		"--endpoint-reconciler-type=none",
		"--egress-selector-config-file=" + egressFile,
		"--profiling=false",
		"--v=0",
	}, nil)
	if err != nil {
		return err
	}
	tlsClient, err := httpsClient(creds.caPEM)
	if err != nil {
		return err
	}
	defer tlsClient.CloseIdleConnections()
	if err := waitFor(ctx, "kube-apiserver /readyz", []*proc{etcd, apiserver}, func(ctx context.Context) (bool, string) {
		return httpOK(ctx, tlsClient, host+"/readyz", token)
	}); err != nil {
		return err
	}

	kcm, err := e.run(bin, "kube-controller-manager", []string{
		"--kubeconfig=" + e.Kubeconfig,
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(p.controllerManager),
		"--cert-dir=" + filepath.Join(e.Dir, "kcm-certs"),
		"--leader-elect=false",
		"--root-ca-file=" + creds.caFile,
		"--service-account-private-key-file=" + creds.saPrivateKey,
		"--use-service-account-credentials=false",
		"--cluster-name=k8senv",
		"--profiling=false",
		"--v=0",
	}, nil)
	if err != nil {
		return err
	}
	scheduler, err := e.run(bin, "kube-scheduler", []string{
		"--kubeconfig=" + e.Kubeconfig,
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(p.scheduler),
		"--cert-dir=" + filepath.Join(e.Dir, "scheduler-certs"),
		"--leader-elect=false",
		"--profiling=false",
		"--v=0",
	}, nil)
	if err != nil {
		return err
	}
	kwokConfig := filepath.Join(e.Dir, "kwok.yaml")
	// No Stage objects in the configuration: kwok then runs the stages it
	// ships (see the package comment).
	if err := os.WriteFile(kwokConfig, []byte("apiVersion: config.kwok.x-k8s.io/v1alpha1\nkind: KwokConfiguration\noptions: {}\n"), 0o600); err != nil {
		return err
	}
	kwok, err := e.run(bin, "kwok", []string{
		"--config=" + kwokConfig,
		"--kubeconfig=" + e.Kubeconfig,
		"--manage-all-nodes=true",
		"--node-ip=127.0.0.1",
		// Pod IPs, made up: nothing listens on them (see the package
		// comment); a /16 so that many pods fit.
		"--cidr=10.0.0.1/16",
	}, []string{"KWOK_WORKDIR=" + filepath.Join(e.Dir, "kwok-workdir")})
	if err != nil {
		return err
	}
	all := []*proc{etcd, apiserver, kcm, scheduler, kwok}

	cs, err := kubernetes.NewForConfig(e.Config)
	if err != nil {
		return err
	}
	for _, z := range zones {
		name, err := createNode(ctx, cs, z)
		if err != nil {
			return err
		}
		e.Nodes = append(e.Nodes, name)
	}
	if err := waitFor(ctx, "kwok nodes Ready", all, func(ctx context.Context) (bool, string) {
		return nodesReady(ctx, cs, e.Nodes)
	}); err != nil {
		return err
	}
	for _, c := range []struct {
		p    *proc
		port int
	}{{kcm, p.controllerManager}, {scheduler, p.scheduler}} {
		// Their serving certificates are self-signed on the fly; /healthz
		// is open to anyone by default.
		insecure := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // loopback health probe of a process we started
		}}
		url := "https://127.0.0.1:" + strconv.Itoa(c.port) + "/healthz"
		err := waitFor(ctx, c.p.name+" /healthz", all, func(ctx context.Context) (bool, string) {
			return httpOK(ctx, insecure, url, "")
		})
		insecure.CloseIdleConnections()
		if err != nil {
			return err
		}
	}
	return waitFor(ctx, "service account default/default", all, func(ctx context.Context) (bool, string) {
		_, err := cs.CoreV1().ServiceAccounts(metav1.NamespaceDefault).Get(ctx, "default", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return true, ""
	})
}

func (e *Env) run(bin, name string, args, env []string) (*proc, error) {
	p, err := startProc(e.Dir, filepath.Join(bin, name), name, args, env)
	if err != nil {
		return nil, fmt.Errorf("k8senv: %w", err)
	}
	e.procs = append(e.procs, p)
	return p, nil
}

// Stop stops every process by its PID (SIGTERM, then SIGKILL after a few
// seconds), newest first, waits for each to exit, and removes Dir. It may be
// called more than once; later calls return the first one's result.
func (e *Env) Stop() error {
	e.stopOnce.Do(func() {
		var errs []error
		for i := len(e.procs) - 1; i >= 0; i-- {
			if err := e.procs[i].stop(5 * time.Second); err != nil {
				errs = append(errs, err)
			}
		}
		if e.Dir != "" {
			if err := os.RemoveAll(e.Dir); err != nil {
				errs = append(errs, fmt.Errorf("k8senv: remove %s: %w", e.Dir, err))
			}
		}
		e.stopErr = errors.Join(errs...)
	})
	return e.stopErr
}

// PIDs returns the processes' IDs by program name, for tests that check
// they are gone after Stop.
func (e *Env) PIDs() map[string]int {
	m := make(map[string]int, len(e.procs))
	for _, p := range e.procs {
		m[p.name] = p.cmd.Process.Pid
	}
	return m
}

// StartForTest starts a control plane for t and stops it in t.Cleanup. When
// the binaries are missing it skips t, or fails it when
// MESHBENCH_REQUIRE_K8S=1; a start that fails fails t. The start is bounded
// by three minutes (the machine may be busy).
func StartForTest(t testing.TB, opts Options) *Env {
	t.Helper()
	if _, err := BinDir(); err != nil {
		if os.Getenv(EnvRequire) == "1" {
			t.Fatalf("%v (%s=1)", err, EnvRequire)
		}
		t.Skipf("kubernetes test control plane not available: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := time.Now()
	e, err := Start(ctx, opts)
	if err != nil {
		t.Fatalf("start kubernetes test control plane: %v", err)
	}
	t.Logf("kubernetes test control plane up in %v at %s (logs in %s)", time.Since(start).Round(time.Millisecond), e.Config.Host, e.Dir)
	t.Cleanup(func() {
		if err := e.Stop(); err != nil {
			t.Errorf("stop kubernetes test control plane: %v", err)
		}
	})
	return e
}

// waitFor polls check every 100ms until it reports done, ctx ends, or one
// of procs exits (then the error carries the end of its log).
func waitFor(ctx context.Context, what string, procs []*proc, check func(context.Context) (bool, string)) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	last := ""
	for {
		for _, p := range procs {
			if p.exited() {
				return fmt.Errorf("k8senv: waiting for %s: %w", what, p.exitError())
			}
		}
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		ok, why := check(cctx)
		cancel()
		if ok {
			return nil
		}
		if why != "" {
			last = why
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("k8senv: waiting for %s: %w (last: %s)", what, ctx.Err(), last)
		case <-tick.C:
		}
	}
}

func httpOK(ctx context.Context, c *http.Client, url, token string) (bool, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false, err.Error()
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		return false, err.Error()
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Sprintf("%s: %s: %s", url, resp.Status, strings.TrimSpace(string(body)))
	}
	return true, ""
}

func httpsClient(caPEM []byte) (*http.Client, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("k8senv: CA certificate does not parse")
	}
	return &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
	}}, nil
}

func createNode(ctx context.Context, cs kubernetes.Interface, zone string) (string, error) {
	name := nodeName(zone)
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name: name,
			Labels: map[string]string{
				ZoneLabel:                       zone,
				"topology.kubernetes.io/region": "k8senv",
				"kubernetes.io/hostname":        name,
				"kubernetes.io/os":              "linux",
				"kubernetes.io/arch":            "amd64",
				"type":                          "kwok",
			},
			// kwok's convention for the nodes it fakes.
			Annotations: map[string]string{"kwok.x-k8s.io/node": "fake"},
		},
		// kwok's node-initialize stage keeps a capacity given at creation.
		Status: corev1.NodeStatus{Capacity: nodeCapacity, Allocatable: nodeCapacity},
	}
	if _, err := cs.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return "", fmt.Errorf("k8senv: create node %s: %w", name, err)
	}
	return name, nil
}

func nodesReady(ctx context.Context, cs kubernetes.Interface, names []string) (bool, string) {
	for _, name := range names {
		n, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		ready := false
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				ready = true
			}
		}
		if !ready {
			return false, "node " + name + " not Ready"
		}
		if cpu := n.Status.Allocatable.Cpu(); cpu.Cmp(nodeCapacity[corev1.ResourceCPU]) != 0 {
			return false, fmt.Sprintf("node %s allocatable cpu %s", name, cpu)
		}
	}
	return true, ""
}

func writeKubeconfig(path, host string, caPEM []byte, token string) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["k8senv"] = &clientcmdapi.Cluster{Server: host, CertificateAuthorityData: caPEM}
	cfg.AuthInfos["admin"] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts["k8senv"] = &clientcmdapi.Context{Cluster: "k8senv", AuthInfo: "admin"}
	cfg.CurrentContext = "k8senv"
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return fmt.Errorf("k8senv: write kubeconfig: %w", err)
	}
	return nil
}

// egressSelector routes the API server's connections into the cluster (pod
// and service proxy, kubelets, webhooks) through an HTTP CONNECT proxy on a
// Unix socket that nobody serves: kwok's pods and nodes have made-up
// addresses, and no test traffic may leave loopback.
func egressSelector(sock string) string {
	return `apiVersion: apiserver.k8s.io/v1beta1
kind: EgressSelectorConfiguration
egressSelections:
- name: cluster
  connection:
    proxyProtocol: HTTPConnect
    transport:
      uds:
        udsName: ` + sock + "\n"
}

func randomToken() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// freePorts asks the kernel for five distinct free ports on 127.0.0.1,
// holding them all open until each is known so none is handed out twice.
// Another process may still take one before its server binds; the server
// then fails to start and Start says so.
func freePorts() (ports, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var n [5]int
	for i := range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return ports{}, err
		}
		ls = append(ls, l)
		n[i] = l.Addr().(*net.TCPAddr).Port
	}
	return ports{etcdClient: n[0], etcdPeer: n[1], apiserver: n[2], controllerManager: n[3], scheduler: n[4]}, nil
}
