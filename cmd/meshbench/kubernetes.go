package main

import (
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/meshbench/meshbench/bench/containers"
	"github.com/meshbench/meshbench/bench/kubernetes"
	"github.com/meshbench/meshbench/scenarios"
)

// kubeBackend is the kubernetes backend this build registers; run's
// flags set its options before a run.
var kubeBackend = &kubernetes.Backend{}

// kubeFlags are run's flags for the kubernetes backend.
type kubeFlags struct {
	opts   kubernetes.Options
	dryRun bool
}

func addKubeFlags(fl *pflag.FlagSet) *kubeFlags {
	k := &kubeFlags{}
	fl.StringVar(&k.opts.Kubeconfig, "kubeconfig", "", "kubernetes backend: kubeconfig `FILE` (default: $KUBECONFIG, then ~/.kube/config)")
	fl.StringVar(&k.opts.Context, "kube-context", "", "kubernetes backend: kubeconfig `CONTEXT` (default: the current context)")
	fl.StringVar(&k.opts.Images.Meshbench, "image", kubernetes.DefaultMeshbenchImage, "kubernetes backend: the meshbench `IMAGE` of the gateway, the sidecars and the load agents (make image)")
	fl.StringVar(&k.opts.Images.Fleet, "fleet-image", kubernetes.DefaultFleetImage, "kubernetes backend: the payment fleet's `IMAGE` (make image)")
	fl.IntVar(&k.opts.Agents, "agents", kubernetes.DefaultAgents, "kubernetes backend: number of load agents (`N` pods, each a shard of the load)")
	fl.StringVar(&k.opts.NamespacePrefix, "namespace-prefix", kubernetes.DefaultNamespacePrefix, "kubernetes backend: each run's namespace is `PREFIX`-<run id>, created and deleted by the run")
	fl.DurationVar(&k.opts.ReadyTimeout, "ready-timeout", kubernetes.DefaultReadyTimeout, "kubernetes backend: how long the Deployments may take to become ready")
	fl.BoolVar(&k.dryRun, "dry-run", false, "kubernetes backend: print every object a run would create (-o yaml or json) and run nothing")
	return k
}

// check refuses option values that cannot work.
func (k *kubeFlags) check(cmd *cobra.Command, backends []string, results bool) error {
	if results && slices.Contains(backends, kubernetes.BackendName) {
		return usageErr(errors.New("--results: the kubernetes backend's agents stream aggregates, not per-request records, so results.bin would lack its requests; leave --results out"))
	}
	if k.opts.Agents < 1 {
		return usageErr(fmt.Errorf("--agents must be at least 1, got %d", k.opts.Agents))
	}
	if k.opts.ReadyTimeout <= 0 {
		return usageErr(fmt.Errorf("--ready-timeout must be positive, got %s", k.opts.ReadyTimeout))
	}
	if k.opts.Images.Meshbench == "" || k.opts.Images.Fleet == "" {
		return usageErr(errors.New("--image and --fleet-image must name an image"))
	}
	if k.dryRun && !slices.Equal(backends, []string{kubernetes.BackendName}) {
		return usageErr(fmt.Errorf("--dry-run renders the kubernetes backend's objects: use it with --backend %s alone", kubernetes.BackendName))
	}
	for _, name := range []string{"kubeconfig", "kube-context", "image", "fleet-image", "agents", "namespace-prefix", "ready-timeout"} {
		if cmd.Flags().Changed(name) && !slices.Contains(backends, kubernetes.BackendName) {
			return usageErr(fmt.Errorf("--%s is an option of the kubernetes backend, which this run does not use (--backend %s)", name, kubernetes.BackendName))
		}
	}
	kubeBackend.Options = k.opts
	if slices.Contains(backends, kubernetes.BackendName) && !k.dryRun {
		// Fail now, before the run folder, when no cluster is configured.
		if _, err := k.opts.RESTConfig(); err != nil {
			return usageErr(err)
		}
	}
	return nil
}

// print prints the objects of every selected variant's run, each in a
// namespace of its own, as YAML documents or a JSON List (-o), or their
// kinds and names (table).
func (k *kubeFlags) print(w io.Writer, plan *scenarios.Plan, variants []string, format string) error {
	var all []*kubernetes.Manifest // -o json: one List
	for i, v := range plan.Variants {
		if len(variants) > 0 && !slices.Contains(variants, v.Name) {
			continue
		}
		m, err := kubernetes.Render(plan.ForVariant(i), i, plan.Seed, kubeBackend.RenderOptions(containers.NewRunID()))
		if err != nil {
			return usageErr(err)
		}
		switch format {
		case outputYAML:
			if _, err := fmt.Fprintf(w, "---\n# variant %s\n", v.Name); err != nil {
				return err
			}
			err = m.WriteYAML(w)
		case outputJSON:
			all = append(all, m)
		default:
			fmt.Fprintf(w, "variant %s: namespace %s\n", v.Name, m.Namespace.Name)
			for _, o := range m.Objects() {
				meta := o.(interface {
					GetName() string
				})
				fmt.Fprintf(w, "  %-11s %s\n", kindOf(o), meta.GetName())
			}
			_, err = fmt.Fprintln(w, "(-o yaml prints the objects)")
		}
		if err != nil {
			return err
		}
	}
	if format == outputJSON {
		return kubernetes.WriteJSON(w, all...)
	}
	return nil
}

func kindOf(o any) string {
	if r, ok := o.(runtime.Object); ok {
		return r.GetObjectKind().GroupVersionKind().Kind
	}
	return fmt.Sprintf("%T", o)
}
