package scenarios

import (
	"fmt"
	"slices"
	"strings"
)

// Match returns m as a route match, for compiling and checking it as one.
func (m OperationMatch) Match() Match {
	return Match{Path: m.Path, PathPrefix: m.PathPrefix, PathRegex: m.PathRegex, Method: m.Method}
}

// Compile compiles m as Match.Compile does; the only error is an invalid
// pathRegex, which validation has already reported for a loaded scenario.
func (m OperationMatch) Compile() (*Matcher, error) { return m.Match().Compile() }

// Stages groups the operation's calls as Service.Stages does.
func (o *Operation) Stages() [][]Call { return stagesOf(o.Calls) }

// OperationFor returns the operation of s that serves r when r reaches s
// from the gateway: the first whose match holds, or nil when none does
// (r then gets the service's own work). It compiles the matches on every
// call; the simulator keeps compiled ones.
func (s *Service) OperationFor(r Request) *Operation {
	for i := range s.Operations {
		if mt, err := s.Operations[i].Match.Compile(); err == nil && mt.Matches(r) {
			return &s.Operations[i]
		}
	}
	return nil
}

// PaymentLookup is a payment lookup as the real backends send it to the
// fleet (GET /v1/payments/{id}, with an id in place of PaymentPlaceholder):
// the request an operation of payments must match for the real backends to
// give the lookups its service time.
func PaymentLookup() Request {
	return Request{Method: "GET", Path: "/v1/payments/" + examplePaymentID}
}

// paymentCreate is a payment as the fleet's clients send it.
func paymentCreate() Request { return Request{Method: "POST", Path: "/v1/payments"} }

// operations checks each service's operations: their matches and, when
// the scenario runs on a real backend, that the fleet can serve them.
// Names are checked by uniqueNames, calls by calls.
func (v *validator) operations() {
	var real []string
	for _, b := range v.s.Backends {
		if b == BackendLocal || b == BackendContainers {
			real = append(real, b)
		}
	}
	for i := range v.s.Services {
		svc := &v.s.Services[i]
		for j := range svc.Operations {
			path := fmt.Sprintf("topology.services[%d].operations[%d]", i, j)
			v.match(path+".match", svc.Operations[j].Match.Match())
			if len(real) > 0 {
				v.fleetOperation(path, svc, &svc.Operations[j], strings.Join(real, " and "))
			}
		}
	}
}

// fleetOperation reports an operation the real fleet cannot serve as
// written, at the key where the problem is.
func (v *validator) fleetOperation(path string, svc *Service, op *Operation, backends string) {
	if !v.ok(path + ".match") {
		return
	}
	callsWritten := v.d.has(path + ".calls")
	if rel, msg := fleetOperationIssue(svc, op, backends, callsWritten); msg != "" {
		v.errorf(relPath(path, rel), "%s", msg)
	}
}

// fleetOperationIssue checks an operation against what the real fleet
// does: its call graph is fixed in code, and the only operation it serves
// with work of its own is payments' lookup (GET /v1/payments/{id}: the
// ledger only), whose service time the real backends pass on. A payment
// (POST /v1/payments) gets payments' own serviceTime and calls risk ‖
// fraud, then ledger, whatever the scenario says. It returns the key of the
// operation at fault ("", "match" or "calls") and the message, or "".
func fleetOperationIssue(svc *Service, op *Operation, backends string, callsWritten bool) (rel, msg string) {
	if svc.Name != "payments" {
		return "", fmt.Sprintf("on %s, operations apply to payments only: the fleet's %s serves one kind of request (operations model anything on the simulator; list only sim in backends)", backends, svc.Name)
	}
	mt, err := op.Match.Compile()
	if err != nil {
		return "", "" // reported by match
	}
	if !mt.Matches(PaymentLookup()) || mt.Matches(paymentCreate()) {
		return "match", fmt.Sprintf("on %s, an operation of payments must match the lookups (GET /v1/payments/{id}, e.g. {method: GET, pathPrefix: /v1/payments/}) and not the payments (POST /v1/payments), whose work is payments' own serviceTime and calls", backends)
	}
	if slices.Equal(op.Calls, []Call{{Service: "ledger"}}) {
		return "", ""
	}
	got := "none"
	if len(op.Calls) > 0 {
		got = strings.Join(names(op.Calls, func(c Call) string { return c.Service }), ", ")
	}
	rel = "calls"
	if !callsWritten {
		rel = ""
		got += ", inherited from the service's calls"
	}
	return rel, fmt.Sprintf("on %s, payments' lookup calls the ledger only (the fleet's call graph is fixed): write calls: [{service: ledger}] (calls here: %s)", backends, got)
}

// CheckFleetOperations reports the operations of t that the real fleet
// cannot serve, as validation does for a scenario that lists a real
// backend; backend names the backend asked to run t, which checks it
// whatever the scenario's backends list (a run's --backend may add one).
func (t *Topology) CheckFleetOperations(backend string) error {
	var problems []string
	for i := range t.Services {
		svc := &t.Services[i]
		for j := range svc.Operations {
			op := &svc.Operations[j]
			if _, msg := fleetOperationIssue(svc, op, backend, true); msg != "" {
				problems = append(problems, fmt.Sprintf("service %s: operation %s: %s", svc.Name, op.Name, msg))
			}
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return nil
}
