package scenarios

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
)

// A real backend checks a plan again when it starts a run: its fleet has
// four fixed roles, its data plane is the proxy's configuration, its
// faults go through toxiproxy or Docker. Those checks live with the
// backends (bench/local, bench/containers), which register them here, so
// that Load runs them for every backend a scenario lists and a scenario
// that validates does not fail at run with a backend's error. A program
// that does not import a backend does not run its checks.

// BackendIssue is one problem a backend's check finds with a plan: the
// key path of the value at fault ("" for the backend as a whole, reported
// at its entry in backends) and the message. A path under "policy" is the
// variant's policy: validation reports it where the value was written, in
// the variant or in the scenario's policy.
type BackendIssue struct {
	Path string
	Msg  string
}

// BackendCheck checks variant of plan (plan is Plan.ForVariant(variant))
// as the backend would when it starts the run, without starting anything.
type BackendCheck func(plan *Plan, variant int) []BackendIssue

var (
	backendChecksMu sync.Mutex
	backendChecks   = map[string][]BackendCheck{}
)

// RegisterBackendCheck adds check to the checks Load runs for scenarios
// that list backend. Backends register theirs from init.
func RegisterBackendCheck(backend string, check BackendCheck) {
	backendChecksMu.Lock()
	defer backendChecksMu.Unlock()
	backendChecks[backend] = append(backendChecks[backend], check)
}

// checksFor returns the checks registered for backend.
func checksFor(backend string) []BackendCheck {
	backendChecksMu.Lock()
	defer backendChecksMu.Unlock()
	return slices.Clone(backendChecks[backend])
}

// backends runs the registered checks of every backend the scenario lists
// on every variant, and reports their issues as "on BACKEND: ..." at the
// key each names. It runs only on a scenario that is otherwise valid: the
// backends' checks assume a plan that Load accepted.
func (v *validator) backends() {
	if len(v.d.issues) > 0 {
		return
	}
	v.checkBackends(v.s.Backends)
}

// checkBackends runs the registered checks of each of backends on every
// variant. An issue of a backend as a whole is reported at its entry in
// the scenario's backends, or at backends when the scenario does not
// list it (a backend chosen on the command line).
func (v *validator) checkBackends(backends []string, variants ...string) {
	plan := &Plan{Scenario: *v.s}
	declared := v.d.has("variants")
	for _, b := range backends {
		checks := checksFor(b)
		for i := range v.s.Variants {
			if len(variants) > 0 && !slices.Contains(variants, v.s.Variants[i].Name) {
				continue
			}
			for _, check := range checks {
				for _, is := range check(plan.ForVariant(i), i) {
					path := is.Path
					switch {
					case path == "":
						path = "backends"
						if k := slices.Index(v.s.Backends, b); k >= 0 {
							path = fmt.Sprintf("backends[%d]", k)
						}
					case path == "policy" || strings.HasPrefix(path, "policy."):
						if vp := fmt.Sprintf("variants[%d].", i) + path; declared && v.d.has(vp) {
							path = vp
						}
					}
					v.errorf(path, "on %s: %s", b, is.Msg)
				}
			}
		}
	}
}

// CheckBackends runs the start-up checks registered for each of backends
// on the variants of p named in variants (none: every variant; a run
// with --variant checks only what it runs): the checks Load runs for the backends a scenario
// lists, here for backends chosen elsewhere (meshbench run --backend) and
// for a plan changed since it was loaded (WithDuration, WithSeed). Issues
// are located where p.Source wrote the key at fault. It returns nil when
// every check passes, else a *ValidationError.
func (p *Plan) CheckBackends(backends []string, variants ...string) error {
	d := newDecoder(p.Path)
	// Decode the source again only to learn where each key was written.
	if root, ok := d.parse(p.Source); ok && scalarOf(d.peek(root)).kind == kindMapping {
		s := new(Scenario)
		s.setDefaults()
		d.collectAnchors(root)
		d.record("", nodePos(root), root)
		d.value(root, "", reflect.ValueOf(s).Elem())
		resolveVariants(d, s)
	}
	d.issues, d.bad, d.frozen = nil, map[string]bool{}, true
	v := &validator{d: d, s: &p.Scenario}
	v.checkBackends(backends, variants...)
	if err := newValidationError(d.issues); err != nil {
		return err
	}
	return nil
}
