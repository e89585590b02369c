package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/bench/containers"
	"github.com/meshbench/meshbench/bench/fleet"
	"github.com/meshbench/meshbench/bench/load"
	"github.com/meshbench/meshbench/scenarios"
)

// Options are the backend's settings, from the command line.
type Options struct {
	// Kubeconfig is the kubeconfig file; empty: KUBECONFIG, then
	// ~/.kube/config, then the in-cluster configuration.
	Kubeconfig string
	// Context is the kubeconfig context; empty: its current context.
	Context string
	// Images of the pods; empty fields: DefaultMeshbenchImage,
	// DefaultFleetImage.
	Images Images
	// Agents is the number of load agents; 0: DefaultAgents.
	Agents int
	// NamespacePrefix starts each run's namespace name, followed by the
	// run's id; empty: "meshbench".
	NamespacePrefix string
	// ReadyTimeout bounds the wait for every Deployment to roll out;
	// 0: DefaultReadyTimeout.
	ReadyTimeout time.Duration
	// CleanupTimeout bounds the deletion of the run's namespace; 0:
	// DefaultCleanupTimeout.
	CleanupTimeout time.Duration
	// ClusterDomain is the cluster's DNS domain; empty: cluster.local.
	ClusterDomain string
}

// Defaults of Options.
const (
	DefaultNamespacePrefix = "meshbench"
	DefaultReadyTimeout    = 3 * time.Minute
	DefaultCleanupTimeout  = 2 * time.Minute
	// startDelay is how far ahead of now the controller sets the load's
	// epoch: time for every agent to receive its start request.
	startDelay = 3 * time.Second
	// healTimeout bounds bringing the fleet back for the audit.
	healTimeout = 2 * time.Minute
)

// Agent is a load agent as this process reaches it.
type Agent struct {
	Name    string
	BaseURL string
	Client  *http.Client
}

// LoadRequest is the load a run asks its agents for.
type LoadRequest struct {
	// Plan is the variant's plan (bench.Job.Plan).
	Plan    *scenarios.Plan
	Variant int
	Seed    uint64
	// Target is the gateway's base URL as the agents reach it.
	Target string
	// Epoch is when the plan's timeline starts, on the controller's clock.
	Epoch time.Time
	// Timeout is each request's client timeout.
	Timeout time.Duration
	// Attack names the run in the agents' records.
	Attack string
}

// LoadResult is what a LoadDriver reports beside the results.
type LoadResult struct {
	// Acks are the payments acknowledged to the agents' clients, for the
	// audit.
	Acks []fleet.Ack
	// End is how far the load got: the plan's duration when complete.
	End time.Duration
}

// LoadDriver offers req's load from agents and records every request's
// Result into sink. It returns when the plan's load ends, or ctx does.
type LoadDriver func(ctx context.Context, agents []Agent, req LoadRequest, sink bench.Sink, progress func(time.Duration)) (LoadResult, error)

// DefaultLoad is the load of a Backend without one of its own: the
// distributed agents of bench/agent (agentload.go).
var DefaultLoad LoadDriver

// Backend is the kubernetes backend: it renders the scenario into a
// namespace of its own (Render), creates it through the API, waits for
// every Deployment with watches, offers the load from the agents' pods
// while the fault timeline runs through the API, heals the fleet, audits
// the ledgers, and deletes the namespace on success, on error and on
// Ctrl-C alike, waiting until it is gone. Runs share a cluster and are
// not Parallel. The CLI registers one *Backend and sets its Options from
// its flags.
type Backend struct {
	Options Options

	// Clientset and Config, when set, are used instead of the
	// kubeconfig's (tests).
	Clientset kubernetes.Interface
	Config    *rest.Config
	// Dialer reaches the pods; nil: the API server's pod proxy.
	Dialer PodDialer
	// Load drives the agents; nil: DefaultLoad.
	Load LoadDriver
	// Target overrides the gateway URL the agents are given (tests whose
	// agents are in-process); empty: the gateway Service's DNS name.
	Target string
	// RunID names the run's namespace (tests); empty: a fresh one.
	RunID string
}

// Name is "kubernetes", as --backend spells it.
func (*Backend) Name() string { return BackendName }

// ErrNoCluster is returned (wrapped) when no cluster configuration is
// found; the CLI turns it into exit status 2.
var ErrNoCluster = errors.New("no Kubernetes cluster configured")

// RESTConfig loads the cluster configuration the options name.
func (o Options) RESTConfig() (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = o.Kubeconfig
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: o.Context}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("%w: %v (pass --kubeconfig, or set KUBECONFIG)", ErrNoCluster, err)
	}
	cfg.UserAgent = "meshbench"
	return cfg, nil
}

func (b *Backend) clients() (kubernetes.Interface, *rest.Config, error) {
	cfg := b.Config
	if cfg == nil && b.Clientset == nil {
		var err error
		if cfg, err = b.Options.RESTConfig(); err != nil {
			return nil, nil, err
		}
	}
	cs := b.Clientset
	if cs == nil {
		var err error
		if cs, err = kubernetes.NewForConfig(cfg); err != nil {
			return nil, nil, fmt.Errorf("kubernetes client: %w", err)
		}
	}
	return cs, cfg, nil
}

// RenderOptions are the options Render gets for run runID.
func (b *Backend) RenderOptions(runID string) RenderOptions {
	prefix := b.Options.NamespacePrefix
	if prefix == "" {
		prefix = DefaultNamespacePrefix
	}
	return RenderOptions{
		Namespace:     prefix + "-" + runID,
		RunID:         runID,
		Images:        b.Options.Images,
		Agents:        b.Options.Agents,
		ClusterDomain: b.Options.ClusterDomain,
	}
}

// Run executes job in the cluster; see Backend.
func (b *Backend) Run(ctx context.Context, job bench.Job, sink bench.Sink) (out bench.Outcome, err error) {
	plan := job.Plan
	if plan == nil {
		return out, errors.New("kubernetes: job has no plan")
	}
	if job.Variant < 0 || job.Variant >= len(plan.Variants) {
		return out, fmt.Errorf("kubernetes: variant %d out of range", job.Variant)
	}
	drive := b.Load
	if drive == nil {
		drive = DefaultLoad
	}
	if drive == nil {
		return out, errors.New("kubernetes: no load driver (bench/agent's distributed agents, DefaultLoad)")
	}
	steps, err := Timeline(plan)
	if err != nil {
		return out, fmt.Errorf("kubernetes: %w", err)
	}
	runID := b.RunID
	if runID == "" {
		runID = containers.NewRunID()
	}
	ropts := b.RenderOptions(runID)
	m, err := Render(plan, job.Variant, job.Seed, ropts)
	if err != nil {
		return out, fmt.Errorf("kubernetes: %w", err)
	}
	cs, cfg, err := b.clients()
	if err != nil {
		return out, fmt.Errorf("kubernetes: %w", err)
	}
	dialer := b.Dialer
	if dialer == nil {
		p, err := NewAPIServerProxy(cfg)
		if err != nil {
			return out, fmt.Errorf("kubernetes: %w", err)
		}
		defer p.CloseIdleConnections()
		dialer = p
	}
	ns := ropts.Namespace
	// The namespace first, alone: one that exists already is not this
	// run's, and is left alone.
	if _, err := cs.CoreV1().Namespaces().Create(ctx, m.Namespace, metav1.CreateOptions{FieldManager: fieldManager}); err != nil {
		return out, fmt.Errorf("kubernetes: create namespace %s: %w", ns, err)
	}
	defer func() {
		// A fresh context: the run's may be cancelled (Ctrl-C).
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.cleanupTimeout())
		defer cancel()
		if cerr := DeleteNamespace(cctx, cs, ns, b.cleanupTimeout()); cerr != nil {
			err = errors.Join(err, fmt.Errorf("kubernetes: cleanup: %w", cerr))
		}
	}()
	objs := *m
	objs.Namespace = nil
	if err := Apply(ctx, cs, &objs); err != nil {
		return out, fmt.Errorf("kubernetes: %w", err)
	}
	names := make([]string, len(m.Deployments))
	var services []string
	for i, d := range m.Deployments {
		names[i] = d.Name
		if d.Name != GatewayName && d.Name != AgentName {
			services = append(services, d.Name)
		}
	}
	if err := WaitReady(ctx, cs, ns, names, b.readyTimeout()); err != nil {
		return out, fmt.Errorf("kubernetes: %w", err)
	}
	agents, err := b.agents(ctx, cs, ns, runID, dialer)
	if err != nil {
		return out, fmt.Errorf("kubernetes: %w", err)
	}
	target := b.Target
	if target == "" {
		target = m.Target
	}
	variant := plan.Variants[job.Variant]
	f := newFaulter(cs, ns, runID, dialer, services)
	epoch := time.Now().Add(startDelay)
	tctx, stopTimeline := context.WithCancel(ctx)
	var faultErr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		faultErr = f.Run(tctx, epoch, steps)
	}()
	res, loadErr := drive(ctx, agents, LoadRequest{
		Plan: plan, Variant: job.Variant, Seed: job.Seed, Target: target, Epoch: epoch,
		Timeout: load.ClientTimeout(m.Timeout),
		Attack:  fmt.Sprintf("%s/%s/%d", BackendName, variant.Name, job.Repeat),
	}, sink, job.Progress)
	stopTimeline()
	wg.Wait()
	out.End = min(max(res.End, 0), plan.Duration)
	hctx, stop := context.WithTimeout(context.WithoutCancel(ctx), healTimeout)
	defer stop()
	audit, auditErr := b.healAndAudit(hctx, f, m, res.Acks)
	out.Audit = audit
	if err := ctx.Err(); err != nil {
		return out, err
	}
	if err := errors.Join(loadErr, faultErr, auditErr); err != nil {
		return out, fmt.Errorf("kubernetes: %w", err)
	}
	return out, nil
}

func (b *Backend) readyTimeout() time.Duration {
	if b.Options.ReadyTimeout > 0 {
		return b.Options.ReadyTimeout
	}
	return DefaultReadyTimeout
}

func (b *Backend) cleanupTimeout() time.Duration {
	if b.Options.CleanupTimeout > 0 {
		return b.Options.CleanupTimeout
	}
	return DefaultCleanupTimeout
}

// agents lists the ready agent pods as the dialer reaches them.
func (b *Backend) agents(ctx context.Context, cs kubernetes.Interface, ns, runID string, dialer PodDialer) ([]Agent, error) {
	l, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: LabelRun + "=" + runID + "," + LabelService + "=" + AgentName})
	if err != nil {
		return nil, fmt.Errorf("list agent pods: %w", err)
	}
	var out []Agent
	for i := range l.Items {
		p := &l.Items[i]
		if p.DeletionTimestamp != nil || !podReady(p) {
			continue
		}
		base, client, err := dialer.Pod(p, AgentPort)
		if err != nil {
			return nil, fmt.Errorf("agent %s: %w", p.Name, err)
		}
		out = append(out, Agent{Name: p.Name, BaseURL: base, Client: client})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no agent pod is ready in %s", ns)
	}
	slices.SortFunc(out, func(a, b Agent) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// healAndAudit brings the fleet back and audits its ledgers; nil when the
// topology has no ledger.
func (b *Backend) healAndAudit(ctx context.Context, f *faulter, m *Manifest, acks []fleet.Ack) (*bench.Audit, error) {
	if err := f.Heal(ctx, m.Replicas, b.readyTimeout()); err != nil {
		return nil, fmt.Errorf("heal before the audit: %w", err)
	}
	if _, ok := m.Replicas[string(fleet.RoleLedger)]; !ok {
		return nil, nil
	}
	pods, err := f.pods(ctx, string(fleet.RoleLedger))
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	var all fleet.Listing
	for i := range pods {
		base, client, err := f.dialer.Pod(&pods[i], AppPort)
		if err != nil {
			return nil, fmt.Errorf("audit %s: %w", pods[i].Name, err)
		}
		l, err := fleet.FetchLedger(ctx, client, base)
		if err != nil {
			return nil, fmt.Errorf("audit %s: %w", pods[i].Name, err)
		}
		all.Entries = append(all.Entries, l.Entries...)
		all.DuplicatesRefused += l.DuplicatesRefused
	}
	all.Count = len(all.Entries)
	a := all.Audit(acks)
	return &a, nil
}
