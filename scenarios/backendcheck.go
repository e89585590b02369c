package scenarios

import (
	"fmt"
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
	plan := &Plan{Scenario: *v.s}
	declared := v.d.has("variants")
	for k, b := range v.s.Backends {
		checks := checksFor(b)
		for i := range v.s.Variants {
			for _, check := range checks {
				for _, is := range check(plan.ForVariant(i), i) {
					path := is.Path
					switch {
					case path == "":
						path = fmt.Sprintf("backends[%d]", k)
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
