package kubernetes

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"github.com/meshbench/meshbench/bench/containers"
	"github.com/meshbench/meshbench/scenarios"
)

// Op is what a Step does through the API.
type Op string

// The operations of a fault timeline on kubernetes.
const (
	// OpDelete deletes the target pods (kill: grace period 0; restart:
	// the pod's own grace period); their Deployment replaces them.
	OpDelete Op = "delete"
	// OpScaleDown marks the target pods as the cheapest to remove
	// (controller.kubernetes.io/pod-deletion-cost), scales their
	// Deployment down by as many and, for a kill, deletes them at once:
	// they stay away until OpScaleUp.
	OpScaleDown Op = "scale-down"
	// OpScaleUp scales the Deployment back up by what OpScaleDown took.
	OpScaleUp Op = "scale-up"
	// OpSetFault posts Patch to the target pods' /admin/fault through
	// the PodDialer (slow, errors, latency; pause as the fleet's hang).
	OpSetFault Op = "set-fault"
)

// Step is one operation of the fault timeline.
type Step struct {
	At     time.Duration
	Fault  int
	Op     Op
	Target scenarios.Target
	// Kill says whether OpDelete and OpScaleDown kill (grace period 0).
	Kill  bool
	Patch []byte

	end bool
}

// Hang patches: a paused process answers nothing; the fleet's hang fault
// holds every request, probes included, until cleared, which is what a
// frozen container looks like from the network (a cluster has no pause).
var (
	hangOn  = []byte(`{"hang":true}`)
	hangOff = []byte(`{"hang":null}`)
	healAll = []byte(`{"latency":null,"slow":null,"errorRate":null,"errorStatus":null,"hang":null}`)
)

// Timeline turns a plan's faults into API operations, sorted by time; at
// equal times an end comes before a start. It is pure. The mapping:
//
//	kill      delete the pods at at (grace 0), replaced by their
//	          Deployment at once; with for, scale down at at and up at
//	          at+for instead, so that they stay away for that long
//	restart   delete the pods gracefully (downtime 0), or scale down at
//	          at and up at at+downtime
//	pause     /admin/fault {"hang": true}, cleared at at+for
//	slow, errors, latency
//	          /admin/fault as on the containers backend, cleared at at+for
//
// partition and the gateway's route faults are refused (checkPlan).
func Timeline(plan *scenarios.Plan) ([]Step, error) {
	var steps []Step
	var errs []error
	add := func(s Step) {
		if s.At < plan.Duration {
			steps = append(steps, s)
		}
	}
	for fi, ft := range plan.Faults {
		ends := ft.For > 0
		end := ft.At + ft.For
		t := ft.Target
		switch ft.Action {
		case scenarios.ActionKill:
			if !ends {
				add(Step{At: ft.At, Fault: fi, Op: OpDelete, Target: t, Kill: true})
				continue
			}
			add(Step{At: ft.At, Fault: fi, Op: OpScaleDown, Target: t, Kill: true})
			add(Step{At: end, Fault: fi, Op: OpScaleUp, Target: t, end: true})
		case scenarios.ActionRestart:
			if ft.Downtime <= 0 {
				add(Step{At: ft.At, Fault: fi, Op: OpDelete, Target: t})
				continue
			}
			add(Step{At: ft.At, Fault: fi, Op: OpScaleDown, Target: t})
			add(Step{At: ft.At + ft.Downtime, Fault: fi, Op: OpScaleUp, Target: t, end: true})
		case scenarios.ActionPause:
			add(Step{At: ft.At, Fault: fi, Op: OpSetFault, Target: t, Patch: hangOn})
			if ends {
				add(Step{At: end, Fault: fi, Op: OpSetFault, Target: t, Patch: hangOff, end: true})
			}
		case scenarios.ActionSlow, scenarios.ActionErrors, scenarios.ActionLatency:
			set, clear, err := containers.FaultPatches(ft)
			if err != nil {
				errs = append(errs, fmt.Errorf("fault %d (%s %s): %w", fi, ft.Action, t, err))
				continue
			}
			add(Step{At: ft.At, Fault: fi, Op: OpSetFault, Target: t, Patch: set})
			if ends {
				add(Step{At: end, Fault: fi, Op: OpSetFault, Target: t, Patch: clear, end: true})
			}
		default:
			errs = append(errs, fmt.Errorf("fault %d: %s is not available on kubernetes", fi, ft.Action))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	slices.SortStableFunc(steps, func(a, b Step) int { return containers.CompareSteps(a.At, b.At, a.end, b.end) })
	return steps, nil
}

// faulter applies steps to a run's namespace.
type faulter struct {
	cs     kubernetes.Interface
	ns     string
	runID  string
	dialer PodDialer
	// services are the scenario's services (the Deployments faults may
	// target; never the gateway or the agents).
	services []string

	mu     sync.Mutex
	scaled map[int]map[string]int32 // fault -> deployment -> replicas taken away
}

func newFaulter(cs kubernetes.Interface, ns, runID string, dialer PodDialer, services []string) *faulter {
	return &faulter{cs: cs, ns: ns, runID: runID, dialer: dialer, services: services, scaled: map[int]map[string]int32{}}
}

// pods lists the running pods of service, not being deleted, by name.
func (f *faulter) pods(ctx context.Context, service string) ([]corev1.Pod, error) {
	l, err := f.cs.CoreV1().Pods(f.ns).List(ctx, metav1.ListOptions{LabelSelector: LabelRun + "=" + f.runID + "," + LabelService + "=" + service})
	if err != nil {
		return nil, fmt.Errorf("list pods of %s: %w", service, err)
	}
	var out []corev1.Pod
	for _, p := range l.Items {
		if p.DeletionTimestamp == nil {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b corev1.Pod) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Targets resolves a fault target to pods at the time of the fault: a
// service's replica i is its i-th pod by name; a zone is every pod of a
// scenario service on a node labelled with that zone.
func (f *faulter) Targets(ctx context.Context, t scenarios.Target) ([]corev1.Pod, error) {
	if t.Service != "" {
		pods, err := f.pods(ctx, t.Service)
		if err != nil {
			return nil, err
		}
		if t.Replica == scenarios.AllReplicas {
			return pods, nil
		}
		if t.Replica >= len(pods) {
			return nil, fmt.Errorf("target %s: the service has %d pods", t, len(pods))
		}
		return pods[t.Replica : t.Replica+1], nil
	}
	zones := map[string]string{}
	var out []corev1.Pod
	for _, s := range f.services {
		pods, err := f.pods(ctx, s)
		if err != nil {
			return nil, err
		}
		for _, p := range pods {
			z, ok := zones[p.Spec.NodeName]
			if !ok && p.Spec.NodeName != "" {
				n, err := f.cs.CoreV1().Nodes().Get(ctx, p.Spec.NodeName, metav1.GetOptions{})
				if err != nil {
					return nil, fmt.Errorf("target %s: node of pod %s: %w", t, p.Name, err)
				}
				z = n.Labels[ZoneLabel]
				zones[p.Spec.NodeName] = z
			}
			if z == t.Zone {
				out = append(out, p)
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("target %s: no pod runs on a node of that zone", t)
	}
	return out, nil
}

// Apply runs one step.
func (f *faulter) Apply(ctx context.Context, s Step) error {
	if s.Op == OpScaleUp {
		return f.scaleUp(ctx, s.Fault)
	}
	pods, err := f.Targets(ctx, s.Target)
	if err != nil {
		return err
	}
	switch s.Op {
	case OpDelete:
		return f.deletePods(ctx, pods, s.Kill)
	case OpScaleDown:
		return f.scaleDown(ctx, s.Fault, pods, s.Kill)
	case OpSetFault:
		var errs []error
		for i := range pods {
			errs = append(errs, f.setFault(ctx, &pods[i], s.Patch))
		}
		return errors.Join(errs...)
	}
	return fmt.Errorf("unknown step %q", s.Op)
}

func (f *faulter) deletePods(ctx context.Context, pods []corev1.Pod, kill bool) error {
	opts := metav1.DeleteOptions{}
	if kill {
		opts.GracePeriodSeconds = ptrTo[int64](0)
	}
	var errs []error
	for _, p := range pods {
		// A pod already gone (the ReplicaSet removed it after a
		// scale-down) is what was asked.
		if err := f.cs.CoreV1().Pods(f.ns).Delete(ctx, p.Name, opts); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("delete pod %s: %w", p.Name, err))
		}
	}
	return errors.Join(errs...)
}

// deletionCost is the annotation the ReplicaSet controller reads to pick
// the pods it removes when scaling down: lowest cost first.
const deletionCost = "controller.kubernetes.io/pod-deletion-cost"

func (f *faulter) scaleDown(ctx context.Context, fault int, pods []corev1.Pod, kill bool) error {
	by := map[string]int32{}
	var errs []error
	for _, p := range pods {
		patch := []byte(`{"metadata":{"annotations":{"` + deletionCost + `":"-1000"}}}`)
		if _, err := f.cs.CoreV1().Pods(f.ns).Patch(ctx, p.Name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: fieldManager}); err != nil {
			if !apierrors.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("mark pod %s for removal: %w", p.Name, err))
			}
			continue // gone already: nothing to take away
		}
		by[p.Labels[LabelService]]++
	}
	for _, d := range sortedKeys(by) {
		if err := f.scale(ctx, d, -by[d]); err != nil {
			errs = append(errs, err)
			delete(by, d)
		}
	}
	f.mu.Lock()
	f.scaled[fault] = by
	f.mu.Unlock()
	if kill {
		errs = append(errs, f.deletePods(ctx, pods, true))
	}
	return errors.Join(errs...)
}

func (f *faulter) scaleUp(ctx context.Context, fault int) error {
	f.mu.Lock()
	by := f.scaled[fault]
	delete(f.scaled, fault)
	f.mu.Unlock()
	var errs []error
	for _, d := range sortedKeys(by) {
		errs = append(errs, f.scale(ctx, d, by[d]))
	}
	return errors.Join(errs...)
}

// scale changes deployment's replicas by delta through its scale
// subresource, retrying on a conflict.
func (f *faulter) scale(ctx context.Context, deployment string, delta int32) error {
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		sc, err := f.cs.AppsV1().Deployments(f.ns).GetScale(ctx, deployment, metav1.GetOptions{})
		if err != nil {
			return err
		}
		sc.Spec.Replicas = max(0, sc.Spec.Replicas+delta)
		_, err = f.cs.AppsV1().Deployments(f.ns).UpdateScale(ctx, deployment, sc, metav1.UpdateOptions{FieldManager: fieldManager})
		return err
	})
	if err != nil {
		return fmt.Errorf("scale deployment %s by %+d: %w", deployment, delta, err)
	}
	return nil
}

// setFault posts patch to pod's /admin/fault.
func (f *faulter) setFault(ctx context.Context, pod *corev1.Pod, patch []byte) error {
	base, client, err := f.dialer.Pod(pod, AppPort)
	if err != nil {
		return fmt.Errorf("set fault on %s: %w", pod.Name, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/admin/fault", bytes.NewReader(patch))
	if err != nil {
		return fmt.Errorf("set fault on %s: %w", pod.Name, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("set fault %s on %s: %w", patch, pod.Name, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("set fault %s on %s: %d %s", patch, pod.Name, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	return nil
}

// Run runs steps, each at epoch+At on the wall clock, until they are done
// or ctx ends; steps due together run together. A failed step does not
// stop the others; the errors are returned together.
func (f *faulter) Run(ctx context.Context, epoch time.Time, steps []Step) error {
	return containers.RunSteps(ctx, epoch, steps, func(s Step) time.Duration { return s.At },
		func(ctx context.Context, s Step) error {
			if err := f.Apply(ctx, s); err != nil {
				return fmt.Errorf("%s %s: %w", s.Op, s.Target, err)
			}
			return nil
		})
}

// Heal undoes what the timeline left: every scenario Deployment back to
// its scenario replicas, ready, and every pod's behaviour faults cleared.
func (f *faulter) Heal(ctx context.Context, replicas map[string]int, timeout time.Duration) error {
	var errs []error
	for _, s := range f.services {
		want := int32(replicas[s])
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			sc, err := f.cs.AppsV1().Deployments(f.ns).GetScale(ctx, s, metav1.GetOptions{})
			if err != nil || sc.Spec.Replicas == want {
				return err
			}
			sc.Spec.Replicas = want
			_, err = f.cs.AppsV1().Deployments(f.ns).UpdateScale(ctx, s, sc, metav1.UpdateOptions{FieldManager: fieldManager})
			return err
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("scale %s back to %d: %w", s, want, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if err := WaitReady(ctx, f.cs, f.ns, f.services, timeout); err != nil {
		return err
	}
	for _, s := range f.services {
		pods, err := f.pods(ctx, s)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for i := range pods {
			errs = append(errs, f.setFault(ctx, &pods[i], healAll))
		}
	}
	return errors.Join(errs...)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
