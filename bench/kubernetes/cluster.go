package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
)

// Apply creates the manifest's objects in order (a nil Namespace is
// skipped: the run creates it first, alone). An object that exists
// already is an error: a run's namespace is its own (RunID).
func Apply(ctx context.Context, cs kubernetes.Interface, m *Manifest) error {
	return apply(ctx, cs, m, metav1.CreateOptions{FieldManager: fieldManager})
}

// fieldManager names meshbench in the objects' managed fields.
const fieldManager = "meshbench"

func apply(ctx context.Context, cs kubernetes.Interface, m *Manifest, opts metav1.CreateOptions) error {
	if m.Namespace != nil {
		if _, err := cs.CoreV1().Namespaces().Create(ctx, m.Namespace, opts); err != nil {
			return fmt.Errorf("create namespace %s: %w", m.Namespace.Name, err)
		}
	}
	for _, o := range m.ConfigMaps {
		if _, err := cs.CoreV1().ConfigMaps(o.Namespace).Create(ctx, o, opts); err != nil {
			return fmt.Errorf("create configmap %s/%s: %w", o.Namespace, o.Name, err)
		}
	}
	for _, o := range m.Secrets {
		if _, err := cs.CoreV1().Secrets(o.Namespace).Create(ctx, o, opts); err != nil {
			return fmt.Errorf("create secret %s/%s: %w", o.Namespace, o.Name, err)
		}
	}
	for _, o := range m.Services {
		if _, err := cs.CoreV1().Services(o.Namespace).Create(ctx, o, opts); err != nil {
			return fmt.Errorf("create service %s/%s: %w", o.Namespace, o.Name, err)
		}
	}
	for _, o := range m.Deployments {
		if _, err := cs.AppsV1().Deployments(o.Namespace).Create(ctx, o, opts); err != nil {
			return fmt.Errorf("create deployment %s/%s: %w", o.Namespace, o.Name, err)
		}
	}
	return nil
}

// DryRun sends every object of m to the API server with server-side dry
// run (dryRun=All): admitted, validated and defaulted, nothing stored.
// The namespace is dry-run as it is; the namespaced objects are dry-run
// in the existing namespace into instead of theirs, which a dry run does
// not create and the API server requires to exist.
func DryRun(ctx context.Context, cs kubernetes.Interface, m *Manifest, into string) error {
	opts := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}, FieldManager: fieldManager}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, m.Namespace, opts); err != nil {
		return fmt.Errorf("dry run: namespace %s: %w", m.Namespace.Name, err)
	}
	c := *m
	c.Namespace = nil
	c.ConfigMaps = retarget(m.ConfigMaps, into)
	c.Secrets = retarget(m.Secrets, into)
	c.Services = retarget(m.Services, into)
	c.Deployments = retarget(m.Deployments, into)
	if err := apply(ctx, cs, &c, opts); err != nil {
		return fmt.Errorf("dry run: %w", err)
	}
	return nil
}

// retarget copies objects into namespace ns.
func retarget[T interface {
	runtime.Object
	SetNamespace(string)
}](objs []T, ns string) []T {
	out := make([]T, len(objs))
	for i, o := range objs {
		c := o.DeepCopyObject().(T)
		c.SetNamespace(ns)
		out[i] = c
	}
	return out
}

// deploymentReady reports whether d has rolled out: the controller saw
// its spec, and every replica is updated and available.
func deploymentReady(d *appsv1.Deployment) bool {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	s := d.Status
	return s.ObservedGeneration >= d.Generation && s.UpdatedReplicas == want && s.Replicas == want && s.AvailableReplicas == want && s.ReadyReplicas == want
}

// WaitReady watches the Deployments of namespace ns until every one of
// names has rolled out, or timeout passes. On timeout the error says which
// are not ready and why: their conditions, their pods' states (a pod not
// scheduled with the scheduler's FailedScheduling message, a container
// waiting with its reason), and the namespace's warning events.
func WaitReady(ctx context.Context, cs kubernetes.Interface, ns string, names []string, timeout time.Duration) error {
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ready := map[string]bool{}
	list := func(ctx context.Context, o metav1.ListOptions) ([]runtime.Object, string, error) {
		l, err := cs.AppsV1().Deployments(ns).List(ctx, o)
		if err != nil {
			return nil, "", err
		}
		out := make([]runtime.Object, len(l.Items))
		for i := range l.Items {
			out[i] = &l.Items[i]
		}
		return out, l.ResourceVersion, nil
	}
	watchFrom := func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
		return cs.AppsV1().Deployments(ns).Watch(ctx, o)
	}
	done := func() bool {
		for _, n := range names {
			if !ready[n] {
				return false
			}
		}
		return true
	}
	err := until(wctx, list, watchFrom, func(ev watch.Event) (bool, error) {
		d, ok := ev.Object.(*appsv1.Deployment)
		if !ok {
			return false, nil
		}
		switch ev.Type {
		case watch.Deleted:
			if slices.Contains(names, d.Name) {
				return false, fmt.Errorf("deployment %s/%s was deleted while waiting for it", ns, d.Name)
			}
		case watch.Added, watch.Modified:
			ready[d.Name] = deploymentReady(d)
		}
		return done(), nil
	})
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if wctx.Err() == nil {
		return fmt.Errorf("watch deployments in %s: %w", ns, err)
	}
	var pending []string
	for _, n := range names {
		if !ready[n] {
			pending = append(pending, n)
		}
	}
	dctx, dcancel := context.WithTimeout(context.WithoutCancel(ctx), explainTimeout)
	defer dcancel()
	return fmt.Errorf("not ready after %s: %s", timeout, explainNotReady(dctx, cs, ns, pending))
}

// explainTimeout bounds the lookups that explain a failure.
const explainTimeout = 10 * time.Second

// explainNotReady says why the Deployments called names in ns are not
// ready, from their status, their pods and the namespace's events.
func explainNotReady(ctx context.Context, cs kubernetes.Interface, ns string, names []string) string {
	var b strings.Builder
	for i, n := range names {
		if i > 0 {
			b.WriteString("; ")
		}
		d, err := cs.AppsV1().Deployments(ns).Get(ctx, n, metav1.GetOptions{})
		if err != nil {
			fmt.Fprintf(&b, "deployment %s: %v", n, err)
			continue
		}
		want := int32(1)
		if d.Spec.Replicas != nil {
			want = *d.Spec.Replicas
		}
		fmt.Fprintf(&b, "deployment %s: %d/%d ready, %d available", n, d.Status.ReadyReplicas, want, d.Status.AvailableReplicas)
		for _, c := range d.Status.Conditions {
			if c.Status != corev1.ConditionTrue || c.Type == appsv1.DeploymentReplicaFailure {
				fmt.Fprintf(&b, ", %s=%s (%s: %s)", c.Type, c.Status, c.Reason, c.Message)
			}
		}
		sel := metav1.FormatLabelSelector(d.Spec.Selector)
		pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
		if err != nil {
			fmt.Fprintf(&b, ", pods: %v", err)
			continue
		}
		if len(pods.Items) == 0 {
			b.WriteString(", no pods")
		}
		for _, p := range pods.Items {
			if why := podNotReady(&p); why != "" {
				fmt.Fprintf(&b, ", pod %s: %s", p.Name, why)
			}
		}
	}
	if ev := warnings(ctx, cs, ns); ev != "" {
		b.WriteString("; events: ")
		b.WriteString(ev)
	}
	return b.String()
}

// podNotReady says why a pod is not ready, or "" when it is.
func podNotReady(p *corev1.Pod) string {
	var why []string
	ready := false
	for _, c := range p.Status.Conditions {
		switch {
		case c.Type == corev1.PodScheduled && c.Status != corev1.ConditionTrue:
			why = append(why, fmt.Sprintf("not scheduled (%s: %s)", c.Reason, c.Message))
		case c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue:
			ready = true
		}
	}
	if ready {
		return ""
	}
	for _, s := range append(slices.Clone(p.Status.InitContainerStatuses), p.Status.ContainerStatuses...) {
		switch {
		case s.State.Waiting != nil:
			why = append(why, fmt.Sprintf("container %s waiting (%s: %s)", s.Name, s.State.Waiting.Reason, s.State.Waiting.Message))
		case s.State.Terminated != nil:
			why = append(why, fmt.Sprintf("container %s terminated (%s, exit %d: %s)", s.Name, s.State.Terminated.Reason, s.State.Terminated.ExitCode, s.State.Terminated.Message))
		case !s.Ready:
			why = append(why, fmt.Sprintf("container %s not ready", s.Name))
		}
	}
	if len(why) == 0 {
		why = append(why, "phase "+string(p.Status.Phase))
	}
	return strings.Join(why, ", ")
}

// warnings lists the namespace's warning events, newest last, at most
// maxEvents of them.
func warnings(ctx context.Context, cs kubernetes.Interface, ns string) string {
	evs, err := cs.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("type", corev1.EventTypeWarning).String()})
	if err != nil {
		return "(" + err.Error() + ")"
	}
	items := evs.Items
	sort.SliceStable(items, func(i, j int) bool { return eventTime(&items[i]).Before(eventTime(&items[j])) })
	if len(items) > maxEvents {
		items = items[len(items)-maxEvents:]
	}
	var out []string
	for _, e := range items {
		out = append(out, fmt.Sprintf("%s %s/%s: %s", e.Reason, strings.ToLower(e.InvolvedObject.Kind), e.InvolvedObject.Name, e.Message))
	}
	return strings.Join(out, "; ")
}

const maxEvents = 8

func eventTime(e *corev1.Event) time.Time {
	switch {
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	}
	return e.CreationTimestamp.Time
}

// DeleteNamespace deletes namespace ns (and so everything in it) and
// watches until it is gone, or timeout passes; then the error names what
// remains: the namespace's conditions (content or finalizers remaining)
// and the objects still in it. A namespace that does not exist is gone.
func DeleteNamespace(ctx context.Context, cs kubernetes.Interface, ns string, timeout time.Duration) error {
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := cs.CoreV1().Namespaces().Delete(wctx, ns, metav1.DeleteOptions{PropagationPolicy: ptrTo(metav1.DeletePropagationForeground)})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("delete namespace %s: %w", ns, err)
	}
	sel := fields.OneTermEqualSelector("metadata.name", ns).String()
	list := func(ctx context.Context, o metav1.ListOptions) ([]runtime.Object, string, error) {
		o.FieldSelector = sel
		l, err := cs.CoreV1().Namespaces().List(ctx, o)
		if err != nil {
			return nil, "", err
		}
		for _, n := range l.Items {
			if n.Name == ns {
				return nil, l.ResourceVersion, nil
			}
		}
		// Gone already: the condition sees it as deleted.
		return []runtime.Object{&deletedMarker{}}, l.ResourceVersion, nil
	}
	watchFrom := func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
		o.FieldSelector = sel
		return cs.CoreV1().Namespaces().Watch(ctx, o)
	}
	err = until(wctx, list, watchFrom, func(ev watch.Event) (bool, error) {
		_, gone := ev.Object.(*deletedMarker)
		if n, ok := ev.Object.(*corev1.Namespace); ok && n.Name != ns {
			return false, nil // a fake clientset ignores field selectors
		}
		return gone || ev.Type == watch.Deleted, nil
	})
	if err == nil {
		return nil
	}
	if _, gerr := cs.CoreV1().Namespaces().Get(context.WithoutCancel(ctx), ns, metav1.GetOptions{}); apierrors.IsNotFound(gerr) {
		return nil
	}
	dctx, dcancel := context.WithTimeout(context.WithoutCancel(ctx), explainTimeout)
	defer dcancel()
	return fmt.Errorf("namespace %s still terminating after %s: %s", ns, timeout, explainRemaining(dctx, cs, ns))
}

// explainRemaining says what keeps namespace ns: its conditions and the
// objects left in it, with their finalizers.
func explainRemaining(ctx context.Context, cs kubernetes.Interface, ns string) string {
	var parts []string
	n, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if err != nil {
		return err.Error()
	}
	for _, c := range n.Status.Conditions {
		if c.Status == corev1.ConditionTrue {
			parts = append(parts, fmt.Sprintf("%s (%s)", c.Message, c.Reason))
		}
	}
	if len(n.Spec.Finalizers) > 0 {
		parts = append(parts, fmt.Sprintf("namespace finalizers %v", n.Spec.Finalizers))
	}
	left, err := Remaining(ctx, cs, ns)
	if err != nil {
		parts = append(parts, err.Error())
	}
	if len(left) > 0 {
		parts = append(parts, "left: "+strings.Join(left, ", "))
	}
	return strings.Join(parts, "; ")
}

// Remaining lists the objects of the kinds a run creates that are still
// in namespace ns, as kind/name, with their finalizers.
func Remaining(ctx context.Context, cs kubernetes.Interface, ns string) ([]string, error) {
	var out []string
	var errs []error
	note := func(kind string, m metav1.Object) {
		s := kind + "/" + m.GetName()
		if f := m.GetFinalizers(); len(f) > 0 {
			s += fmt.Sprintf(" (finalizers %v)", f)
		}
		out = append(out, s)
	}
	if l, err := cs.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{}); err == nil {
		for i := range l.Items {
			note("deployment", &l.Items[i])
		}
	} else {
		errs = append(errs, err)
	}
	if l, err := cs.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{}); err == nil {
		for i := range l.Items {
			note("replicaset", &l.Items[i])
		}
	} else {
		errs = append(errs, err)
	}
	if l, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{}); err == nil {
		for i := range l.Items {
			note("pod", &l.Items[i])
		}
	} else {
		errs = append(errs, err)
	}
	if l, err := cs.CoreV1().Services(ns).List(ctx, metav1.ListOptions{}); err == nil {
		for i := range l.Items {
			note("service", &l.Items[i])
		}
	} else {
		errs = append(errs, err)
	}
	if l, err := cs.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{}); err == nil {
		for i := range l.Items {
			if l.Items[i].Name == "kube-root-ca.crt" {
				continue // published into every namespace by the controller manager
			}
			note("configmap", &l.Items[i])
		}
	} else {
		errs = append(errs, err)
	}
	return out, errors.Join(errs...)
}

func ptrTo[T any](v T) *T { return &v }

// deletedMarker stands for an object a list no longer returns.
type deletedMarker struct{ corev1.Namespace }
