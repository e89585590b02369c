package istio

import (
	"fmt"
	"io/fs"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/protobuf/types/known/durationpb"
	apinet "istio.io/api/networking/v1alpha3"
	apisec "istio.io/api/security/v1beta1"
	networking "istio.io/client-go/pkg/apis/networking/v1"
	security "istio.io/client-go/pkg/apis/security/v1"

	"github.com/meshbench/meshbench/importer"
)

// Options tune an import.
type Options struct {
	// Services are the scenario's services, by name, with the labels of
	// each replica: subsets select replicas by these labels, and the
	// weights of a route's subsets become replica weights. When nil, the
	// import invents replicas: two per subset, labelled as the subset.
	Services map[string][]map[string]string
	// FS is where the files are read (nil: the machine's file system).
	FS fs.FS
}

// ReplicasPerSubset is how many replicas an import without a scenario gives
// each subset.
const ReplicasPerSubset = 2

// Import reads the Istio resources in the files and directories named.
// Malformed input comes back as Invalid findings in the result; the error
// is for files that cannot be read.
func Import(paths []string, opt Options) (*importer.Result, error) {
	files, srcs, err := importer.ReadFiles(opt.FS, paths)
	if err != nil {
		return nil, err
	}
	res := importer.NewResult("istio")
	var rs []*resource
	for i, f := range files {
		docs, fs := importer.ParseFile(f, srcs[i])
		res.Findings = append(res.Findings, fs...)
		for _, d := range docs {
			r, fs := decodeDoc(d)
			res.Findings = append(res.Findings, fs...)
			if r != nil {
				rs = append(rs, r)
			}
		}
	}
	im := &imp{res: res, opt: opt, rs: rs, subsets: map[string]map[string]map[string]string{}}
	im.run()
	res.Findings = res.Findings.Sorted()
	return res, nil
}

type imp struct {
	res     *importer.Result
	opt     Options
	rs      []*resource
	subsets map[string]map[string]map[string]string // service → subset → labels
	edge    map[string]bool                         // gateway names
}

func (im *imp) note(r *resource, path string, sev importer.Severity, format string, args ...any) {
	im.res.Findings = append(im.res.Findings, r.doc.At(path, r.label(), sev, format, args...))
}

func (im *imp) policy(r *resource, key string, v *importer.Node, path string) {
	if msg := im.res.SetPolicy(key, v, r.doc.Where(path)); msg != "" {
		im.note(r, path, importer.Approximated, "%s", msg)
	}
}

// ServiceName turns an Istio host ("payments", "payments.prod.svc.cluster.local") into a service name.
func ServiceName(host string) string {
	name, _, _ := strings.Cut(host, ".")
	return strings.Trim(serviceNameRE.ReplaceAllString(strings.ToLower(name), "-"), "-")
}

// serviceNameRE is what a scenario's service name may not hold.
var serviceNameRE = regexp.MustCompile(`[^a-z0-9-]+`)

func (im *imp) byKind(kind string) []*resource {
	var out []*resource
	for _, r := range im.rs {
		if r.kind == kind {
			out = append(out, r)
		}
	}
	return out
}

func (im *imp) run() {
	im.edge = map[string]bool{}
	for _, r := range im.byKind(KindGateway) {
		im.gateway(r)
	}
	for _, r := range im.byKind(KindServiceEntry) {
		im.serviceEntry(r)
	}
	for _, r := range im.byKind(KindDestinationRule) {
		im.destinationRule(r)
	}
	anyGateways := false
	for _, r := range im.byKind(KindVirtualService) {
		vs := r.obj.(*networking.VirtualService)
		for _, g := range vs.Spec.Gateways {
			if g != "mesh" {
				anyGateways = true
			}
		}
	}
	for _, r := range im.byKind(KindVirtualService) {
		im.virtualService(r, anyGateways)
	}
	for _, r := range im.byKind(KindPeerAuthentication) {
		im.peerAuthentication(r)
	}
	for _, r := range im.byKind(KindRequestAuthentication) {
		im.requestAuthentication(r)
	}
	for _, r := range im.byKind(KindAuthorizationPolicy) {
		im.authorizationPolicy(r)
	}
	im.replicas()
	im.weightedBalancer()
}

// weightedBalancer: Istio splits a route's traffic between subsets before
// balancing within one; meshbench carries the split as replica weights,
// which round_robin ignores, so a round-robin mesh with weights balances
// with weighted_round_robin.
func (im *imp) weightedBalancer() {
	if len(im.res.Weights) == 0 {
		return
	}
	b := im.res.Policy.Get("balancer")
	if b != nil && b.Get("type") != nil && b.Get("type").Text() != `"round_robin"` {
		return
	}
	im.res.Policy.Child("balancer").Set("type", importer.Str("weighted_round_robin").With("round robin within subsets, weighted between them (the route weights)"))
}

// replicas gives every service its replicas: the scenario's when given,
// else two per subset (one set when it has none).
func (im *imp) replicas() {
	for i := range im.res.Services {
		s := &im.res.Services[i]
		if labels, ok := im.opt.Services[s.Name]; ok {
			s.Labels = labels
			continue
		}
		if len(s.Labels) > 0 {
			continue
		}
		subs := im.subsets[s.Name]
		if len(subs) == 0 {
			s.Labels = make([]map[string]string, ReplicasPerSubset)
			continue
		}
		for _, name := range slices.Sorted(maps.Keys(subs)) {
			for range ReplicasPerSubset {
				s.Labels = append(s.Labels, maps.Clone(subs[name]))
			}
		}
	}
}

var gatewayFields = []string{"spec.selector.*", "spec.servers[].hosts", "spec.servers[].port.number", "spec.servers[].port.protocol", "spec.servers[].port.name"}

func (im *imp) gateway(r *resource) {
	g := r.obj.(*networking.Gateway)
	im.res.Findings = append(im.res.Findings, checkFields(r, gatewayFields)...)
	im.edge[r.name] = true
	for i, s := range g.Spec.Servers {
		if p := s.GetPort(); p != nil && p.Protocol != "" && !strings.EqualFold(p.Protocol, "HTTP") && !strings.EqualFold(p.Protocol, "HTTP2") && !strings.EqualFold(p.Protocol, "GRPC") {
			im.note(r, fmt.Sprintf("spec.servers[%d].port.protocol", i), importer.Approximated, "protocol %s: meshbench's gateway serves HTTP; the port's protocol is not modelled", p.Protocol)
		}
	}
}

var serviceEntryFields = []string{"spec.hosts", "spec.ports[].number", "spec.ports[].protocol", "spec.ports[].name", "spec.ports[].targetPort", "spec.location", "spec.resolution",
	"spec.endpoints[].address", "spec.endpoints[].labels.*", "spec.endpoints[].weight", "spec.endpoints[].ports.*", "spec.endpoints[].locality"}

func (im *imp) serviceEntry(r *resource) {
	se := r.obj.(*networking.ServiceEntry)
	im.res.Findings = append(im.res.Findings, checkFields(r, serviceEntryFields)...)
	for i, h := range se.Spec.Hosts {
		if strings.HasPrefix(h, "*") {
			im.note(r, fmt.Sprintf("spec.hosts[%d]", i), importer.Unsupported, "wildcard host %q: meshbench services have one name", h)
			continue
		}
		name := ServiceName(h)
		if name == "" {
			im.note(r, fmt.Sprintf("spec.hosts[%d]", i), importer.Invalid, "host %q names no service", h)
			continue
		}
		s := im.res.Service(name)
		s.External = se.Spec.Location == apinet.ServiceEntry_MESH_EXTERNAL
		s.Comment = fmt.Sprintf("ServiceEntry %s (%s): its work is a PLACEHOLDER", r.name, r.doc.Where(fmt.Sprintf("spec.hosts[%d]", i)))
		if len(se.Spec.Endpoints) == 0 {
			continue
		}
		var ws []int
		weighted := false
		s.Labels = nil
		for j, ep := range se.Spec.Endpoints {
			s.Labels = append(s.Labels, maps.Clone(ep.Labels))
			w := int(ep.Weight)
			if w > 0 {
				weighted = true
			} else {
				w = 1
			}
			ws = append(ws, w)
			if ep.Locality != "" {
				im.note(r, fmt.Sprintf("spec.endpoints[%d].locality", j), importer.Approximated, "locality %q: set the replica's zone with the service's zone or zones", ep.Locality)
			}
		}
		if weighted && im.opt.Services == nil {
			im.res.Weights[name] = ws
			im.res.WeightComments[name] = r.doc.Where("spec.endpoints")
		}
	}
}

var destinationRuleFields = []string{
	"spec.host", "spec.subsets[].name", "spec.subsets[].labels.*",
	"spec.trafficPolicy.loadBalancer.simple",
	"spec.trafficPolicy.loadBalancer.consistentHash.httpHeaderName",
	"spec.trafficPolicy.loadBalancer.consistentHash.httpCookie.name",
	"spec.trafficPolicy.loadBalancer.consistentHash.useSourceIp",
	"spec.trafficPolicy.loadBalancer.consistentHash.ringHash.minimumRingSize",
	"spec.trafficPolicy.loadBalancer.consistentHash.maglev.tableSize",
	"spec.trafficPolicy.loadBalancer.consistentHash.minimumRingSize",
	"spec.trafficPolicy.loadBalancer.localityLbSetting.enabled",
	"spec.trafficPolicy.loadBalancer.warmupDurationSecs",
	"spec.trafficPolicy.loadBalancer.warmup.duration",
	"spec.trafficPolicy.loadBalancer.warmup.minimumPercent",
	"spec.trafficPolicy.loadBalancer.warmup.aggression",
	"spec.trafficPolicy.connectionPool.tcp.maxConnections",
	"spec.trafficPolicy.connectionPool.tcp.connectTimeout",
	"spec.trafficPolicy.connectionPool.http.http1MaxPendingRequests",
	"spec.trafficPolicy.connectionPool.http.http2MaxRequests",
	"spec.trafficPolicy.connectionPool.http.maxRetries",
	"spec.trafficPolicy.outlierDetection.consecutive5xxErrors",
	"spec.trafficPolicy.outlierDetection.consecutiveErrors",
	"spec.trafficPolicy.outlierDetection.consecutiveGatewayErrors",
	"spec.trafficPolicy.outlierDetection.interval",
	"spec.trafficPolicy.outlierDetection.baseEjectionTime",
	"spec.trafficPolicy.outlierDetection.maxEjectionPercent",
	"spec.trafficPolicy.outlierDetection.failurePercentageThreshold",
}

func dur(d *durationpb.Duration) *importer.Node { return importer.Dur(d.AsDuration()) }

func (im *imp) destinationRule(r *resource) {
	dr := r.obj.(*networking.DestinationRule)
	im.res.Findings = append(im.res.Findings, checkFields(r, destinationRuleFields)...)
	spec := &dr.Spec
	if strings.HasPrefix(spec.Host, "*") || spec.Host == "" {
		im.note(r, "spec.host", importer.Unsupported, "host %q: meshbench applies a DestinationRule to one named service", spec.Host)
		return
	}
	svc := ServiceName(spec.Host)
	if svc == "" {
		im.note(r, "spec.host", importer.Invalid, "host %q names no service", spec.Host)
		return
	}
	im.res.Service(svc)
	subs := map[string]map[string]string{}
	for _, s := range spec.Subsets {
		subs[s.Name] = s.Labels
	}
	im.subsets[svc] = subs
	tp := spec.TrafficPolicy
	if tp == nil {
		return
	}
	p := "spec.trafficPolicy"
	if lb := tp.LoadBalancer; lb != nil {
		lp := p + ".loadBalancer"
		switch lb.GetSimple() {
		case apinet.LoadBalancerSettings_ROUND_ROBIN:
			im.policy(r, "balancer.type", importer.Str("round_robin"), lp+".simple")
		case apinet.LoadBalancerSettings_LEAST_REQUEST, apinet.LoadBalancerSettings_LEAST_CONN:
			im.policy(r, "balancer.type", importer.Str("least_request"), lp+".simple")
		case apinet.LoadBalancerSettings_RANDOM:
			im.policy(r, "balancer.type", importer.Str("random"), lp+".simple")
		case apinet.LoadBalancerSettings_PASSTHROUGH:
			im.note(r, lp+".simple", importer.Unsupported, "PASSTHROUGH: meshbench always balances over the service's replicas")
		}
		if ch := lb.GetConsistentHash(); ch != nil {
			cp := lp + ".consistentHash"
			typ, where := "ring_hash", cp
			if mg := ch.GetMaglev(); mg != nil {
				typ = "maglev"
				if mg.TableSize > 0 {
					im.policy(r, "balancer.tableSize", importer.Int(int64(mg.TableSize)), cp+".maglev.tableSize")
				}
			} else if rh := ch.GetRingHash(); rh != nil && rh.MinimumRingSize > 0 {
				im.policy(r, "balancer.minRingSize", importer.Int(int64(rh.MinimumRingSize)), cp+".ringHash.minimumRingSize")
			} else if ch.MinimumRingSize > 0 {
				im.policy(r, "balancer.minRingSize", importer.Int(int64(ch.MinimumRingSize)), cp+".minimumRingSize")
			}
			im.policy(r, "balancer.type", importer.Str(typ), where)
			switch {
			case ch.GetHttpHeaderName() != "":
				im.policy(r, "balancer.hashKey.header", importer.Str(ch.GetHttpHeaderName()), cp+".httpHeaderName")
			case ch.GetHttpCookie() != nil:
				im.policy(r, "balancer.hashKey.cookie", importer.Str(ch.GetHttpCookie().Name), cp+".httpCookie.name")
			case ch.GetUseSourceIp():
				im.policy(r, "balancer.hashKey.sourceIP", importer.Bool(true), cp+".useSourceIp")
			}
		}
		if l := lb.LocalityLbSetting; l != nil && l.Enabled != nil {
			im.policy(r, "balancer.locality.enabled", importer.Bool(l.Enabled.Value), lp+".localityLbSetting.enabled")
		}
		if w := lb.Warmup; w != nil {
			if w.Duration != nil {
				im.policy(r, "balancer.slowStart.window", dur(w.Duration), lp+".warmup.duration")
			}
			if w.MinimumPercent != nil {
				im.policy(r, "balancer.slowStart.minWeightPercent", importer.Float(w.MinimumPercent.Value), lp+".warmup.minimumPercent")
			}
			if w.Aggression != nil {
				im.policy(r, "balancer.slowStart.aggression", importer.Float(w.Aggression.Value), lp+".warmup.aggression")
			}
		} else if lb.WarmupDurationSecs != nil {
			im.policy(r, "balancer.slowStart.window", dur(lb.WarmupDurationSecs), lp+".warmupDurationSecs")
		}
	}
	if cp := tp.ConnectionPool; cp != nil {
		pp := p + ".connectionPool"
		breaker := false
		if t := cp.Tcp; t != nil {
			if t.MaxConnections > 0 {
				im.policy(r, "circuitBreaker.maxConnections", importer.Int(int64(t.MaxConnections)), pp+".tcp.maxConnections")
				breaker = true
			}
			if t.ConnectTimeout != nil {
				im.policy(r, "timeouts.connect", dur(t.ConnectTimeout), pp+".tcp.connectTimeout")
			}
		}
		if h := cp.Http; h != nil {
			for _, f := range []struct {
				key, field string
				v          int32
			}{{"maxPending", "http1MaxPendingRequests", h.Http1MaxPendingRequests}, {"maxRequests", "http2MaxRequests", h.Http2MaxRequests}, {"maxRetries", "maxRetries", h.MaxRetries}} {
				if f.v > 0 {
					im.policy(r, "circuitBreaker."+f.key, importer.Int(int64(f.v)), pp+".http."+f.field)
					breaker = true
				}
			}
		}
		if breaker {
			// Istio's connection pool has thresholds only; meshbench's
			// breaker also trips on failure ratio, which this turns off
			// as far as it can (it opens only when every request fails).
			im.policy(r, "circuitBreaker.failureRatio", importer.Float(1), pp)
			im.policy(r, "circuitBreaker.consecutiveFailures", importer.Int(0), pp)
			im.note(r, pp, importer.Approximated, "connectionPool limits become circuitBreaker thresholds; meshbench's breaker also opens on failure ratio, set to 1 (only when every request of a window fails)")
		}
	}
	if od := tp.OutlierDetection; od != nil {
		op := p + ".outlierDetection"
		switch {
		case od.Consecutive_5XxErrors != nil:
			im.policy(r, "outlierDetection.consecutive5xx", importer.Int(int64(od.Consecutive_5XxErrors.Value)), op+".consecutive5xxErrors")
		case od.ConsecutiveErrors > 0:
			im.policy(r, "outlierDetection.consecutive5xx", importer.Int(int64(od.ConsecutiveErrors)), op+".consecutiveErrors")
		default:
			im.policy(r, "outlierDetection.consecutive5xx", importer.Int(5), op)
		}
		if od.ConsecutiveGatewayErrors != nil {
			im.policy(r, "outlierDetection.consecutiveGatewayFailure", importer.Int(int64(od.ConsecutiveGatewayErrors.Value)), op+".consecutiveGatewayErrors")
		}
		if od.Interval != nil {
			im.policy(r, "outlierDetection.interval", dur(od.Interval), op+".interval")
		}
		if od.BaseEjectionTime != nil {
			im.policy(r, "outlierDetection.baseEjectionTime", dur(od.BaseEjectionTime), op+".baseEjectionTime")
		}
		if r.doc.Has(op+".maxEjectionPercent") || r.doc.Has(op+".max_ejection_percent") {
			im.policy(r, "outlierDetection.maxEjectionPercent", importer.Int(int64(od.MaxEjectionPercent)), op+".maxEjectionPercent")
		}
		if od.FailurePercentageThreshold != nil {
			im.policy(r, "outlierDetection.failurePercentage.threshold", importer.Int(int64(od.FailurePercentageThreshold.Value)), op+".failurePercentageThreshold")
		}
	}
}

var virtualServiceFields = []string{
	"spec.hosts", "spec.gateways",
	"spec.http[].name",
	"spec.http[].match[].name", "spec.http[].match[].uri.exact", "spec.http[].match[].uri.prefix", "spec.http[].match[].uri.regex",
	"spec.http[].match[].method.exact", "spec.http[].match[].authority.exact", "spec.http[].match[].headers.*.exact",
	"spec.http[].route[].destination.host", "spec.http[].route[].destination.subset", "spec.http[].route[].destination.port.number", "spec.http[].route[].weight",
	"spec.http[].timeout",
	"spec.http[].retries.attempts", "spec.http[].retries.perTryTimeout", "spec.http[].retries.retryOn", "spec.http[].retries.backoff",
	"spec.http[].fault.delay.fixedDelay", "spec.http[].fault.delay.percentage.value", "spec.http[].fault.delay.percent",
	"spec.http[].fault.abort.httpStatus", "spec.http[].fault.abort.percentage.value",
	"spec.http[].rewrite.uri",
}

var routeNameRE = regexp.MustCompile(`[^a-zA-Z0-9_.-]+`)

func routeName(s string) string { return strings.Trim(routeNameRE.ReplaceAllString(s, "-"), "-") }

func (im *imp) virtualService(r *resource, anyGateways bool) {
	vs := r.obj.(*networking.VirtualService)
	im.res.Findings = append(im.res.Findings, checkFields(r, virtualServiceFields)...)
	edge := !anyGateways
	for _, g := range vs.Spec.Gateways {
		if g != "mesh" {
			edge = true
		}
	}
	for i, h := range vs.Spec.Http {
		hp := fmt.Sprintf("spec.http[%d]", i)
		name := h.Name
		if name == "" {
			name = fmt.Sprintf("%s-%d", r.name, i)
		}
		name = routeName(name)
		if len(h.Route) == 0 {
			im.note(r, hp, importer.Unsupported, "an http route without route destinations (redirect, direct response, delegate) has no meshbench equivalent")
			continue
		}
		svc := ServiceName(h.Route[0].GetDestination().GetHost())
		if svc == "" {
			im.note(r, hp+".route[0].destination.host", importer.Invalid, "destination host %q names no service", h.Route[0].GetDestination().GetHost())
			continue
		}
		im.res.Service(svc)
		var subs []importer.SubsetWeight
		for j, d := range h.Route {
			dp := fmt.Sprintf("%s.route[%d]", hp, j)
			if s := ServiceName(d.GetDestination().GetHost()); s != svc {
				im.note(r, dp+".destination.host", importer.Unsupported, "a meshbench route sends to one service: destination %q is left out (the route goes to %q)", d.GetDestination().GetHost(), svc)
				continue
			}
			w := int(d.Weight)
			if len(h.Route) == 1 && w == 0 {
				w = 100
			}
			if sub := d.GetDestination().GetSubset(); sub != "" {
				labels, ok := im.subsets[svc][sub]
				if !ok {
					im.note(r, dp+".destination.subset", importer.Invalid, "subset %q of host %q is defined by no DestinationRule", sub, d.GetDestination().GetHost())
					continue
				}
				subs = append(subs, importer.SubsetWeight{Name: sub, Labels: labels, Weight: w})
			} else if len(h.Route) > 1 {
				subs = append(subs, importer.SubsetWeight{Name: "(all)", Labels: map[string]string{}, Weight: w})
			}
		}
		if len(subs) > 0 {
			im.weights(r, svc, subs, hp+".route")
		}
		var names []string
		if edge {
			names = im.routes(r, h, hp, name, svc)
		} else if len(h.Match) > 0 {
			im.note(r, hp+".match", importer.Unsupported, "matches of a mesh-internal VirtualService: meshbench's calls between services carry no path or headers to match")
		}
		if h.Timeout != nil {
			im.policy(r, "timeouts.request", dur(h.Timeout), hp+".timeout")
		} else {
			// Istio's default: no route timeout (meshbench's default is 15s).
			im.policy(r, "timeouts.request", importer.Str("0s"), hp)
		}
		if rt := h.Retries; rt != nil {
			im.retries(r, rt, hp+".retries")
		} else {
			// Istio's default retry policy: 2 retries.
			im.retries(r, &apinet.HTTPRetry{Attempts: 2}, hp+".retries")
		}
		if f := h.Fault; f != nil {
			im.fault(r, f, hp+".fault", names, svc)
		}
		if h.Rewrite != nil && h.Rewrite.Uri != "" {
			im.note(r, hp+".rewrite.uri", importer.Approximated, "rewrite to %q: meshbench routes forward the request's path unchanged; a service's operations match the client's path", h.Rewrite.Uri)
		}
	}
}

func (im *imp) weights(r *resource, svc string, subs []importer.SubsetWeight, path string) {
	if _, done := im.res.Weights[svc]; done {
		im.note(r, path, importer.Approximated, "meshbench has one set of replica weights per service: the weights of %s set earlier (%s) are kept", svc, im.res.WeightComments[svc])
		return
	}
	labels, ok := im.opt.Services[svc]
	if !ok {
		if im.opt.Services != nil {
			im.note(r, path, importer.Invalid, "service %q is not in the scenario's topology", svc)
			return
		}
		// Replicas as replicas() will invent them.
		for _, name := range slices.Sorted(maps.Keys(im.subsets[svc])) {
			for range ReplicasPerSubset {
				labels = append(labels, im.subsets[svc][name])
			}
		}
		if len(labels) == 0 {
			return
		}
	}
	ws, notes := importer.SubsetWeights(labels, subs)
	for _, n := range notes {
		im.note(r, path, importer.Approximated, "%s", n)
	}
	im.res.Weights[svc] = ws
	im.res.WeightComments[svc] = r.doc.Where(path)
}

func (im *imp) routes(r *resource, h *apinet.HTTPRoute, hp, name, svc string) (names []string) {
	matches := h.Match
	if len(matches) == 0 {
		matches = []*apinet.HTTPMatchRequest{nil}
	}
	for j, m := range matches {
		rt := importer.Map()
		rn := name
		if len(matches) > 1 {
			rn = fmt.Sprintf("%s-%d", name, j)
		}
		if u, renamed := im.res.UniqueRouteName(rn); renamed {
			im.note(r, hp+".name", importer.Approximated, "route name %q is empty or another route's: this route is %q", rn, u)
			rn = u
		}
		rt.Set("name", importer.Str(rn).With(r.doc.Where(hp)))
		mp := fmt.Sprintf("%s.match[%d]", hp, j)
		match := importer.Map()
		if m != nil {
			if u := m.Uri; u != nil {
				switch {
				case u.GetExact() != "":
					match.Set("path", importer.Str(u.GetExact()).With(r.doc.Where(mp+".uri.exact")))
				case u.GetPrefix() != "":
					match.Set("pathPrefix", importer.Str(u.GetPrefix()).With(r.doc.Where(mp+".uri.prefix")))
				case u.GetRegex() != "":
					match.Set("pathRegex", importer.Str(u.GetRegex()).With(r.doc.Where(mp+".uri.regex")))
				}
			}
			if m.Method.GetExact() != "" {
				match.Set("method", importer.Str(strings.ToUpper(m.Method.GetExact())).With(r.doc.Where(mp+".method.exact")))
			}
			if m.Authority.GetExact() != "" {
				match.Set("host", importer.Str(m.Authority.GetExact()).With(r.doc.Where(mp+".authority.exact")))
			}
			if len(m.Headers) > 0 {
				hs := importer.Map()
				for _, k := range slices.Sorted(maps.Keys(m.Headers)) {
					if v := m.Headers[k].GetExact(); v != "" {
						hs.Set(k, importer.Str(v).With(r.doc.Where(mp+".headers."+k)))
					}
				}
				if hs.Len() > 0 {
					match.Set("headers", hs)
				}
			}
		}
		if match.Len() > 0 {
			rt.Set("match", match)
		}
		rt.Set("service", importer.Str(svc).With(r.doc.Where(hp+".route[0].destination.host")))
		im.res.Routes = append(im.res.Routes, rt)
		names = append(names, rn)
	}
	return names
}

// retryOn maps Istio's retryOn conditions (Envoy's x-envoy-retry-on) onto meshbench's.
var retryOnMap = map[string]string{
	"5xx": "5xx", "gateway-error": "gateway-error", "reset": "reset", "connect-failure": "connect-failure",
	"retriable-status-codes": "retriable-status-codes", "refused-stream": "reset",
}

func (im *imp) retries(r *resource, rt *apinet.HTTPRetry, p string) {
	if rt.Attempts == 0 {
		im.policy(r, "retries", importer.Raw("null"), p+".attempts")
		return
	}
	im.policy(r, "retries.attempts", importer.Int(int64(rt.Attempts)+1), p+".attempts")
	if rt.PerTryTimeout != nil {
		im.policy(r, "retries.perTryTimeout", dur(rt.PerTryTimeout), p+".perTryTimeout")
	}
	if rt.Backoff != nil {
		im.policy(r, "retries.backoff.base", dur(rt.Backoff), p+".backoff")
	}
	on := rt.RetryOn
	if on == "" {
		on = "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes"
		what := "no retryOn: Istio's default conditions ("
		if !r.doc.Has(p) {
			what = "no retries: Istio's default policy (2 retries on "
		}
		im.note(r, p, importer.Approximated, "%sconnect-failure, refused-stream, unavailable, cancelled and 503) is imported as retryOn connect-failure, reset and retriable status code 503", what)
	}
	var conds []string
	var codes []int64
	for _, c := range strings.Split(on, ",") {
		c = strings.TrimSpace(c)
		var code int
		if _, err := fmt.Sscanf(c, "%d", &code); err == nil && code >= 100 && code <= 599 {
			codes = append(codes, int64(code))
			continue
		}
		m, ok := retryOnMap[c]
		switch {
		case c == "unavailable" || c == "cancelled" || c == "deadline-exceeded" || c == "resource-exhausted" || c == "internal":
			if rt.RetryOn != "" {
				im.note(r, p+".retryOn", importer.Unsupported, "retryOn %q is a gRPC status condition: meshbench retries on HTTP outcomes only", c)
			}
			continue
		case !ok:
			im.note(r, p+".retryOn", importer.Unsupported, "retryOn %q has no meshbench equivalent", c)
			continue
		}
		if !slices.Contains(conds, m) {
			conds = append(conds, m)
		}
	}
	if rt.RetryOn == "" {
		codes = []int64{503}
	}
	if len(codes) > 0 && !slices.Contains(conds, "retriable-status-codes") {
		conds = append(conds, "retriable-status-codes")
	}
	if len(codes) == 0 && slices.Contains(conds, "retriable-status-codes") {
		codes = []int64{503}
	}
	if len(conds) > 0 {
		im.policy(r, "retries.retryOn", importer.Strs(conds...), p+".retryOn")
	}
	if len(codes) > 0 {
		l := importer.List()
		for _, c := range codes {
			l.Append(importer.Int(c))
		}
		l.Flow = true
		im.policy(r, "retries.retriableStatusCodes", l, p+".retryOn")
	}
}

// fault turns a route's fault injection into scenario faults: on the
// gateway routes it produced (abort and delay), or, for a mesh-internal
// route, on the replicas of its service.
func (im *imp) fault(r *resource, f *apinet.HTTPFaultInjection, p string, routes []string, svc string) {
	if len(routes) == 0 {
		im.faultOn(r, f, p, "", svc)
	}
	for _, rt := range routes {
		im.faultOn(r, f, p, rt, svc)
	}
}

func (im *imp) faultOn(r *resource, f *apinet.HTTPFaultInjection, p, route, svc string) {
	edge := route != ""
	pct := func(pc *apinet.Percent, legacy int32) float64 {
		if pc != nil {
			return pc.Value
		}
		if legacy > 0 {
			return float64(legacy)
		}
		return 100
	}
	if d := f.Delay; d != nil && d.GetFixedDelay() != nil {
		fn := importer.Map()
		fn.Set("at", importer.Str("0s"))
		if edge {
			fn.Set("action", importer.Str("delay"))
			fn.Set("target", importer.Str("route:"+route))
			fn.Set("delay", dur(d.GetFixedDelay()))
			fn.Set("percentage", importer.Float(pct(d.Percentage, d.Percent)))
		} else {
			fn.Set("action", importer.Str("latency"))
			fn.Set("target", importer.Str(svc))
			fn.Set("add", dur(d.GetFixedDelay()))
			im.note(r, p+".delay", importer.Approximated, "a mesh-internal delay becomes a latency fault on every hop into %s (all requests, not a percentage)", svc)
		}
		im.res.Faults = append(im.res.Faults, fn.With(r.doc.Where(p+".delay")))
	} else if d != nil {
		im.note(r, p+".delay", importer.Unsupported, "only fixedDelay is represented")
	}
	if a := f.Abort; a != nil {
		if a.GetHttpStatus() == 0 {
			im.note(r, p+".abort", importer.Unsupported, "only httpStatus aborts are represented")
			return
		}
		fn := importer.Map()
		fn.Set("at", importer.Str("0s"))
		if edge {
			fn.Set("action", importer.Str("abort"))
			fn.Set("target", importer.Str("route:"+route))
			fn.Set("status", importer.Int(int64(a.GetHttpStatus())))
			fn.Set("percentage", importer.Float(pct(a.Percentage, 0)))
		} else {
			fn.Set("action", importer.Str("errors"))
			fn.Set("target", importer.Str(svc))
			fn.Set("rate", importer.Float(pct(a.Percentage, 0)/100))
			fn.Set("status", importer.Int(int64(a.GetHttpStatus())))
			im.note(r, p+".abort", importer.Approximated, "a mesh-internal abort becomes an errors fault answered by %s's replicas", svc)
		}
		im.res.Faults = append(im.res.Faults, fn.With(r.doc.Where(p+".abort")))
	}
}

var peerAuthenticationFields = []string{"spec.mtls.mode"}

func (im *imp) peerAuthentication(r *resource) {
	pa := r.obj.(*security.PeerAuthentication)
	im.res.Findings = append(im.res.Findings, checkFields(r, peerAuthenticationFields)...)
	if m := pa.Spec.Mtls; m != nil {
		switch m.Mode {
		case apisec.PeerAuthentication_MutualTLS_STRICT, apisec.PeerAuthentication_MutualTLS_PERMISSIVE, apisec.PeerAuthentication_MutualTLS_DISABLE:
			im.policy(r, "security.mtls.mode", importer.Str(m.Mode.String()), "spec.mtls.mode")
		default:
			im.note(r, "spec.mtls.mode", importer.Approximated, "mode UNSET inherits: meshbench's default is no mutual TLS")
		}
	}
}

var requestAuthenticationFields = []string{"spec.selector.matchLabels.*", "spec.jwtRules[].issuer", "spec.jwtRules[].audiences", "spec.jwtRules[].jwksUri", "spec.jwtRules[].jwks"}

func (im *imp) selectedRoutes(r *resource, sel map[string]string) []*importer.Node {
	var out []*importer.Node
	for _, rt := range im.res.Routes {
		svc := strings.Trim(rt.Get("service").Text(), `"`)
		if len(sel) == 0 || sel["app"] == svc {
			out = append(out, rt)
		}
	}
	if len(sel) > 0 && sel["app"] == "" {
		im.note(r, "spec.selector", importer.Approximated, "meshbench selects workloads by the label app (the service's name); this selector names none, so it applies to every route")
		return im.res.Routes
	}
	return out
}

func (im *imp) requestAuthentication(r *resource) {
	ra := r.obj.(*security.RequestAuthentication)
	im.res.Findings = append(im.res.Findings, checkFields(r, requestAuthenticationFields)...)
	if len(ra.Spec.JwtRules) == 0 {
		return
	}
	rule := ra.Spec.JwtRules[0]
	if len(ra.Spec.JwtRules) > 1 {
		im.note(r, "spec.jwtRules[1]", importer.Unsupported, "a meshbench route checks one issuer: only the first jwtRule is imported")
	}
	auth := importer.Map()
	auth.Set("type", importer.Str("jwt"))
	if rule.Issuer != "" {
		auth.Set("issuer", importer.Str(rule.Issuer).With(r.doc.Where("spec.jwtRules[0].issuer")))
	}
	if len(rule.Audiences) > 0 {
		auth.Set("audience", importer.Str(rule.Audiences[0]).With(r.doc.Where("spec.jwtRules[0].audiences[0]")))
		if len(rule.Audiences) > 1 {
			im.note(r, "spec.jwtRules[0].audiences[1]", importer.Unsupported, "a meshbench route accepts one audience: only the first is imported")
		}
	}
	if rule.JwksUri != "" || rule.Jwks != "" {
		im.note(r, "spec.jwtRules[0]", importer.Approximated, "the keys: meshbench's runs sign tokens with a test issuer whose JWKS the gateway loads; jwksUri/jwks are not used")
	}
	im.note(r, "spec.jwtRules", importer.Approximated, "RequestAuthentication alone lets requests without a token through; meshbench's jwt auth requires one (as with an AuthorizationPolicy requiring requestPrincipals)")
	var sel map[string]string
	if ra.Spec.Selector != nil {
		sel = ra.Spec.Selector.MatchLabels
	}
	for _, rt := range im.selectedRoutes(r, sel) {
		rt.Set("auth", auth)
	}
}

var authorizationPolicyFields = []string{"spec.selector.matchLabels.*", "spec.action",
	"spec.rules[].from[].source.ipBlocks", "spec.rules[].from[].source.remoteIpBlocks",
	"spec.rules[].from[].source.notIpBlocks", "spec.rules[].from[].source.notRemoteIpBlocks",
	"spec.rules[].from[].source.requestPrincipals",
	"spec.rules[].when[].key", "spec.rules[].when[].values", "spec.rules[].when[].notValues"}

// authorizationPolicy maps an ALLOW or DENY policy's source addresses onto
// the selected routes' ipRestriction and its groups claims onto their acl:
// in an ALLOW policy ipBlocks (and the groups of values) are the allow
// list and notIpBlocks (notValues) the deny list; a DENY policy swaps them.
func (im *imp) authorizationPolicy(r *resource) {
	ap := r.obj.(*security.AuthorizationPolicy)
	im.res.Findings = append(im.res.Findings, checkFields(r, authorizationPolicyFields)...)
	action := ap.Spec.Action
	if action != apisec.AuthorizationPolicy_ALLOW && action != apisec.AuthorizationPolicy_DENY {
		im.note(r, "spec.action", importer.Unsupported, "action %s has no meshbench equivalent", action)
		return
	}
	list, other := "allow", "deny"
	if action == apisec.AuthorizationPolicy_DENY {
		list, other = "deny", "allow"
	}
	// lists[block][allow|deny]
	lists := map[string]map[string][]string{"ipRestriction": {}, "acl": {}}
	put := func(block, key string, vs ...string) {
		lists[block][key] = append(lists[block][key], vs...)
	}
	putIPs := func(where, key string, vs []string) {
		for k, v := range vs {
			if err := importer.CheckCIDR(v); err != nil {
				im.note(r, fmt.Sprintf("%s[%d]", where, k), importer.Invalid, "%v", err)
				continue
			}
			put("ipRestriction", key, v)
		}
	}
	ruleKinds := 0
	for i, rule := range ap.Spec.Rules {
		hasIP, hasGroup := false, false
		for j, f := range rule.From {
			if s := f.Source; s != nil {
				src := fmt.Sprintf("spec.rules[%d].from[%d].source", i, j)
				putIPs(src+".ipBlocks", list, s.IpBlocks)
				putIPs(src+".remoteIpBlocks", list, s.RemoteIpBlocks)
				putIPs(src+".notIpBlocks", other, s.NotIpBlocks)
				putIPs(src+".notRemoteIpBlocks", other, s.NotRemoteIpBlocks)
				hasIP = hasIP || len(s.IpBlocks)+len(s.RemoteIpBlocks)+len(s.NotIpBlocks)+len(s.NotRemoteIpBlocks) > 0
				for _, p := range s.RequestPrincipals {
					if p != "*" {
						im.note(r, fmt.Sprintf("spec.rules[%d].from[%d].source.requestPrincipals", i, j), importer.Unsupported, "requestPrincipals %q: meshbench checks that a valid token is present (\"*\"), not whose", p)
					}
				}
			}
		}
		for j, w := range rule.When {
			if w.Key == "request.auth.claims[groups]" {
				put("acl", list, w.Values...)
				put("acl", other, w.NotValues...)
				hasGroup = true
			} else {
				im.note(r, fmt.Sprintf("spec.rules[%d].when[%d].key", i, j), importer.Unsupported, "condition %q: meshbench represents request.auth.claims[groups] (consumer groups) only", w.Key)
			}
		}
		if hasIP && hasGroup && action == apisec.AuthorizationPolicy_DENY {
			im.note(r, fmt.Sprintf("spec.rules[%d]", i), importer.Approximated, "Istio denies a request that matches both the addresses and the groups of one rule; meshbench's ipRestriction and acl each refuse on their own")
		}
		if hasIP || hasGroup {
			ruleKinds++
		}
	}
	if ruleKinds > 1 && action == apisec.AuthorizationPolicy_ALLOW {
		im.note(r, "spec.rules", importer.Approximated, "Istio admits a request that matches any one rule; meshbench's ipRestriction and acl join the rules' addresses and groups and must both admit it")
	}
	var sel map[string]string
	if ap.Spec.Selector != nil {
		sel = ap.Spec.Selector.MatchLabels
	}
	if len(ap.Spec.Rules) == 0 {
		if action == apisec.AuthorizationPolicy_ALLOW {
			im.note(r, "spec", importer.Unsupported, "an ALLOW policy without rules denies every request: meshbench has no route that refuses everything")
		}
		return
	}
	var unverified []string
	for _, rt := range im.selectedRoutes(r, sel) {
		// Policies add up (Istio ORs the rules of one action).
		add := func(block, key string, values []string) {
			if len(values) == 0 {
				return
			}
			b := rt.Child(block)
			var all []string
			if old := b.Get(key); old != nil {
				for _, it := range old.Items() {
					v, _ := strconv.Unquote(it.Text())
					all = append(all, v)
				}
			}
			for _, v := range values {
				if !slices.Contains(all, v) {
					all = append(all, v)
				}
			}
			b.Set(key, importer.Strs(all...).With(r.doc.Where("spec.rules")))
		}
		for _, key := range []string{"allow", "deny"} {
			add("ipRestriction", key, lists["ipRestriction"][key])
		}
		if len(lists["acl"]["allow"])+len(lists["acl"]["deny"]) == 0 {
			continue
		}
		if !rt.Has("auth") {
			// Without a RequestAuthentication Istio sees no claims.
			unverified = append(unverified, strings.Trim(rt.Get("name").Text(), `"`))
			continue
		}
		for _, key := range []string{"allow", "deny"} {
			add("acl", key, lists["acl"][key])
		}
	}
	if len(unverified) > 0 {
		im.note(r, "spec.rules", importer.Unsupported, "request.auth.claims[groups] on routes no RequestAuthentication covers (%s): Istio sees no claims there, and meshbench's acl judges the consumer a route's authentication verifies; the groups are left out there", strings.Join(unverified, ", "))
	}
}
