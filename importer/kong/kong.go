package kong

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/meshbench/meshbench/importer"
)

// Import reads a decK file from fsys (nil: the machine's file system).
// Malformed input comes back as Invalid findings in the result; the error
// is for a file that cannot be read.
func Import(fsys fs.FS, path string) (*importer.Result, error) {
	files, srcs, err := importer.ReadFiles(fsys, []string{path})
	if err != nil {
		return nil, err
	}
	if len(files) != 1 {
		return nil, fmt.Errorf("%s: a Kong import reads one decK file, found %d", path, len(files))
	}
	return ImportBytes(files[0], srcs[0]), nil
}

// ImportBytes imports a decK file's text; name is used in findings.
func ImportBytes(name string, src []byte) *importer.Result {
	res := importer.NewResult("kong")
	docs, fs := importer.ParseFile(name, src)
	res.Findings = append(res.Findings, fs...)
	if len(fs) > 0 {
		return res
	}
	if len(docs) != 1 {
		res.Findings = append(res.Findings, importer.Finding{File: name, Line: 1, Col: 1, Severity: importer.Invalid, Msg: fmt.Sprintf("a decK file holds one YAML document, found %d", len(docs))})
		return res
	}
	doc := docs[0]
	var cfg Config
	if err := decode(doc.Text, &cfg); err != nil {
		res.Findings = append(res.Findings, typeError(doc, err))
		return res
	}
	v, _ := importer.Scalar(doc.Node("_format_version"))
	if !doc.Has("_format_version") {
		res.Findings = append(res.Findings, doc.At("", "", importer.Invalid, "missing _format_version: a decK file of format 3.x starts with _format_version: \"3.0\""))
		return res
	} else if !strings.HasPrefix(v, "3.") {
		res.Findings = append(res.Findings, doc.At("_format_version", "", importer.Invalid, "_format_version %q: the importer reads format 3.x", v))
		return res
	}
	im := &imp{res: res, doc: doc, cfg: &cfg, routesOf: map[string][]string{}, authOf: map[string]string{}}
	im.run()
	res.Findings = res.Findings.Sorted()
	return res
}

// decode decodes a decK file; a panic of the YAML decoder (a bug of the
// library on some malformed input) becomes an error, so that the import
// reports it instead of taking the CLI down.
func decode(text []byte, cfg *Config) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the YAML decoder failed on this input: %v", r)
		}
	}()
	return yaml.UnmarshalWithOptions(text, cfg)
}

var goccyPos = regexp.MustCompile(`^\[(\d+):(\d+)\]\s*`)

func typeError(doc *importer.Document, err error) importer.Finding {
	line, col := doc.Start.Line, 1
	msg := err.Error()
	var ye yaml.Error
	if errors.As(err, &ye) {
		msg = ye.GetMessage()
		if tk := ye.GetToken(); tk != nil && tk.Position != nil {
			line, col = tk.Position.Line+doc.Start.Line-1, tk.Position.Column
		}
	} else if m := goccyPos.FindStringSubmatch(msg); m != nil {
		fmt.Sscan(m[1], &line)
		fmt.Sscan(m[2], &col)
		msg = msg[len(m[0]):]
	}
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	return importer.Finding{File: doc.File, Line: line, Col: col, Severity: importer.Invalid, Msg: "wrong type: " + msg}
}

type imp struct {
	res      *importer.Result
	doc      *importer.Document
	cfg      *Config
	routes   []*gwRoute
	routesOf map[string][]string // Kong service → meshbench route names
	authOf   map[string]string   // meshbench route → auth type
}

// gwRoute is a Kong route with where it was written and the meshbench
// routes it became (one per path × method × host).
type gwRoute struct {
	kong    *Route
	path    string // document path of the route
	service string // meshbench service
	kongSvc string
	nodes   []*importer.Node
	names   []string
}

func (im *imp) note(path, resource string, sev importer.Severity, format string, args ...any) {
	im.res.Findings = append(im.res.Findings, im.doc.At(path, resource, sev, format, args...))
}

func (im *imp) policy(key string, v *importer.Node, path, resource string) {
	if msg := im.res.SetPolicy(key, v, im.doc.Where(path)); msg != "" {
		im.note(path, resource, importer.Approximated, "%s", msg)
	}
}

var supported = []string{
	"_format_version", "_transform",
	"services[].name", "services[].host", "services[].port", "services[].protocol", "services[].path", "services[].url",
	"services[].retries", "services[].connect_timeout", "services[].read_timeout", "services[].write_timeout", "services[].tags",
	"services[].routes[].name", "services[].routes[].paths", "services[].routes[].methods", "services[].routes[].hosts",
	"services[].routes[].headers.*", "services[].routes[].strip_path", "services[].routes[].preserve_host", "services[].routes[].protocols", "services[].routes[].tags",
	"routes[].name", "routes[].paths", "routes[].methods", "routes[].hosts", "routes[].headers.*", "routes[].strip_path", "routes[].preserve_host",
	"routes[].protocols", "routes[].service.name", "routes[].service", "routes[].tags",
	"upstreams[].name", "upstreams[].algorithm", "upstreams[].hash_on", "upstreams[].hash_on_header", "upstreams[].hash_on_cookie", "upstreams[].slots", "upstreams[].tags",
	"upstreams[].targets[].target", "upstreams[].targets[].weight", "upstreams[].targets[].tags",
	"upstreams[].healthchecks.active.type", "upstreams[].healthchecks.active.http_path", "upstreams[].healthchecks.active.timeout",
	"upstreams[].healthchecks.active.healthy.interval", "upstreams[].healthchecks.active.healthy.successes",
	"upstreams[].healthchecks.active.unhealthy.interval", "upstreams[].healthchecks.active.unhealthy.http_failures",
	"upstreams[].healthchecks.passive.type", "upstreams[].healthchecks.passive.unhealthy.http_failures",
	"upstreams[].healthchecks.passive.unhealthy.tcp_failures", "upstreams[].healthchecks.passive.unhealthy.timeouts",
	"consumers[].username", "consumers[].custom_id", "consumers[].tags", "consumers[].keyauth_credentials[].key",
	"consumers[].jwt_secrets[].key", "consumers[].jwt_secrets[].algorithm", "consumers[].jwt_secrets[].secret", "consumers[].jwt_secrets[].rsa_public_key",
	"consumers[].acls[].group",
}

// plugin fields (under any plugins[] list); config keys are checked per plugin.
var pluginFields = []string{"name", "enabled", "service", "route", "config", "tags", "consumer"}

func (im *imp) label(path string) string {
	segs := strings.SplitN(path, ".", 2)
	head := segs[0]
	i := strings.IndexByte(head, '[')
	if i < 0 {
		return ""
	}
	n, _ := importer.Scalar(im.doc.Node(head + ".name"))
	if n == "" {
		n, _ = importer.Scalar(im.doc.Node(head + ".username"))
	}
	kind := strings.TrimSuffix(head[:i], "s")
	if strings.Contains(path, "plugins[") {
		pp := path[:strings.Index(path, "plugins[")]
		rest := path[len(pp):]
		if j := strings.IndexByte(rest, ']'); j >= 0 {
			pn, _ := importer.Scalar(im.doc.Node(pp + rest[:j+1] + ".name"))
			return fmt.Sprintf("plugin %s", pn)
		}
	}
	return strings.TrimSpace(kind + " " + n)
}

func (im *imp) run() {
	im.res.Findings = append(im.res.Findings, importer.Unrepresented(im.doc, im.label, supported, func(pat string) bool {
		if strings.HasSuffix(pat, "plugins") {
			return true
		}
		i := strings.LastIndex(pat, "plugins[]")
		if i < 0 {
			return false
		}
		rest := strings.TrimPrefix(pat[i+len("plugins[]"):], ".")
		if rest == "" {
			return true
		}
		field, _, _ := strings.Cut(rest, ".")
		if field == "consumer" && strings.HasPrefix(pat, "plugins[]") {
			return false
		}
		return slices.Contains(pluginFields, field) && !strings.HasPrefix(pat, "consumers[]")
	}, func(s string) string { return s })...)
	upstreams := map[string]int{}
	for i, u := range im.cfg.Upstreams {
		upstreams[u.Name] = i
	}
	used := map[string]bool{}
	for i := range im.cfg.Services {
		im.service(i, upstreams)
		used[im.cfg.Services[i].Host] = true
	}
	for i, u := range im.cfg.Upstreams {
		p := fmt.Sprintf("upstreams[%d]", i)
		if !used[u.Name] {
			switch u.Algorithm {
			case "", "round-robin", "consistent-hashing", "least-connections", "latency":
				im.note(p, "upstream "+u.Name, importer.Unsupported, "no service's host names this upstream: it is left out")
			default:
				im.note(p+".algorithm", "upstream "+u.Name, importer.Invalid, "unknown algorithm %q (round-robin, consistent-hashing, least-connections, latency)", u.Algorithm)
			}
		}
	}
	for i := range im.cfg.Routes {
		r := &im.cfg.Routes[i]
		p := fmt.Sprintf("routes[%d]", i)
		if r.Service == nil || r.Service.Name == "" {
			im.note(p, "route "+r.Name, importer.Invalid, "a top-level route names its service (service: {name: ...})")
			continue
		}
		si := slices.IndexFunc(im.cfg.Services, func(s Service) bool { return s.Name == r.Service.Name })
		if si < 0 {
			im.note(p+".service.name", "route "+r.Name, importer.Invalid, "service %q is not declared", r.Service.Name)
			continue
		}
		im.route(r, p, &im.cfg.Services[si])
	}
	im.consumers()
	// Plugins: route-scoped, then service-scoped, then global, so that
	// auth is known before rate limits pick their key.
	type scoped struct {
		pl     *Plugin
		path   string
		routes []*gwRoute
		scope  string // "route", "service", "global"
	}
	var all []scoped
	for _, gr := range im.routes {
		for j := range gr.kong.Plugins {
			all = append(all, scoped{&gr.kong.Plugins[j], fmt.Sprintf("%s.plugins[%d]", gr.path, j), []*gwRoute{gr}, "route"})
		}
	}
	for i := range im.cfg.Services {
		s := &im.cfg.Services[i]
		for j := range s.Plugins {
			all = append(all, scoped{&s.Plugins[j], fmt.Sprintf("services[%d].plugins[%d]", i, j), im.routesOfService(s.Name), "service"})
		}
	}
	for i := range im.cfg.Plugins {
		pl := &im.cfg.Plugins[i]
		p := fmt.Sprintf("plugins[%d]", i)
		switch {
		case pl.Consumer != nil:
			im.note(p+".consumer", "plugin "+pl.Name, importer.Unsupported, "consumer-scoped plugins: meshbench's gateway policies apply per route")
			continue
		case pl.Route != nil:
			gr := im.routeNamed(pl.Route.Name)
			if gr == nil {
				im.note(p+".route", "plugin "+pl.Name, importer.Invalid, "route %q is not declared", pl.Route.Name)
				continue
			}
			all = append(all, scoped{pl, p, []*gwRoute{gr}, "route"})
		case pl.Service != nil:
			if !slices.ContainsFunc(im.cfg.Services, func(s Service) bool { return s.Name == pl.Service.Name }) {
				im.note(p+".service", "plugin "+pl.Name, importer.Invalid, "service %q is not declared", pl.Service.Name)
				continue
			}
			all = append(all, scoped{pl, p, im.routesOfService(pl.Service.Name), "service"})
		default:
			all = append(all, scoped{pl, p, im.routes, "global"})
		}
	}
	order := func(name string) int {
		switch name {
		case "key-auth", "jwt":
			return 0
		}
		return 1
	}
	slices.SortStableFunc(all, func(a, b scoped) int { return order(a.pl.Name) - order(b.pl.Name) })
	for _, s := range all {
		if s.pl.Enabled != nil && !*s.pl.Enabled {
			continue
		}
		im.plugin(s.pl, s.path, s.routes, s.scope)
	}
}

func (im *imp) routesOfService(name string) []*gwRoute {
	var out []*gwRoute
	for _, gr := range im.routes {
		if gr.kongSvc == name {
			out = append(out, gr)
		}
	}
	return out
}

func (im *imp) routeNamed(name string) *gwRoute {
	for _, gr := range im.routes {
		if gr.kong.Name == name {
			return gr
		}
	}
	return nil
}

var nameRE = regexp.MustCompile(`[^a-z0-9-]+`)

// ServiceName turns a Kong service name into a meshbench service name.
func ServiceName(s string) string {
	return strings.Trim(nameRE.ReplaceAllString(strings.ToLower(s), "-"), "-")
}

func ms(v int) *importer.Node { return importer.Dur(time.Duration(v) * time.Millisecond) }

func secs(v float64) time.Duration { return time.Duration(v * float64(time.Second)) }

func (im *imp) service(i int, upstreams map[string]int) {
	s := &im.cfg.Services[i]
	p := fmt.Sprintf("services[%d]", i)
	label := "service " + s.Name
	if s.Name == "" {
		im.note(p, label, importer.Invalid, "a service needs a name")
		return
	}
	name := ServiceName(s.Name)
	if name == "" {
		im.note(p+".name", label, importer.Invalid, "service name %q has no letter or digit (a scenario's service names are lower-case letters, digits and '-')", s.Name)
		return
	}
	svc := im.res.Service(name)
	svc.Comment = fmt.Sprintf("Kong service %s (%s): its work is a PLACEHOLDER", s.Name, im.doc.Where(p+".name"))
	if ui, ok := upstreams[s.Host]; ok {
		im.upstream(ui, name)
	} else if s.Host != "" || s.URL != "" {
		svc.Labels = make([]map[string]string, 1)
		svc.External = true
	}
	if s.Retries != nil {
		if *s.Retries == 0 {
			im.policy("retries", importer.Raw("null"), p+".retries", label)
		} else {
			im.policy("retries.attempts", importer.Int(int64(*s.Retries)+1), p+".retries", label)
			im.policy("retries.retryOn", importer.Strs("connect-failure", "reset"), p+".retries", label)
			im.note(p+".retries", label, importer.Approximated, "Kong retries connection errors and timeouts, never an HTTP answer: imported as retryOn [connect-failure, reset], with no back-off (meshbench's default back-off applies)")
		}
	}
	if s.ConnectTimeout != nil {
		im.policy("timeouts.connect", ms(*s.ConnectTimeout), p+".connect_timeout", label)
	}
	if s.ReadTimeout != nil {
		im.policy("timeouts.perTry", ms(*s.ReadTimeout), p+".read_timeout", label)
		im.policy("timeouts.request", importer.Str("0s"), p+".read_timeout", label)
		im.note(p+".read_timeout", label, importer.Approximated, "Kong's timeouts are per try (between two reads) with no bound on the whole request: imported as timeouts.perTry, with timeouts.request 0 (no limit)")
	}
	if s.WriteTimeout != nil {
		im.note(p+".write_timeout", label, importer.Unsupported, "meshbench does not bound sending the request apart from the try")
	}
	for j := range s.Routes {
		im.route(&s.Routes[j], fmt.Sprintf("%s.routes[%d]", p, j), s)
	}
}

func (im *imp) upstream(i int, svc string) {
	u := &im.cfg.Upstreams[i]
	p := fmt.Sprintf("upstreams[%d]", i)
	label := "upstream " + u.Name
	s := im.res.Service(svc)
	s.External = false
	s.Labels = nil
	var ws []int
	differ := false
	for j, t := range u.Targets {
		s.Labels = append(s.Labels, map[string]string{"target": t.Target})
		w := 100
		if t.Weight != nil {
			w = *t.Weight
		}
		if w == 0 {
			im.note(fmt.Sprintf("%s.targets[%d].weight", p, j), label, importer.Approximated, "weight 0 disables a Kong target: a meshbench replica weighs at least 1, so it keeps a small share")
			w = 1
		}
		if len(ws) > 0 && ws[0] != w {
			differ = true
		}
		ws = append(ws, w)
	}
	if len(u.Targets) == 0 {
		s.Labels = make([]map[string]string, 1)
	}
	if differ {
		im.res.Weights[svc] = ws
		im.res.WeightComments[svc] = im.doc.Where(p + ".targets")
	}
	switch u.Algorithm {
	case "", "round-robin":
		typ := "round_robin"
		if differ {
			typ = "weighted_round_robin"
		}
		im.policy("balancer.type", importer.Str(typ), p+".algorithm", label)
	case "least-connections":
		im.policy("balancer.type", importer.Str("least_request"), p+".algorithm", label)
		im.note(p+".algorithm", label, importer.Approximated, "least-connections picks the least loaded of all targets; meshbench's least_request compares 2 random choices (Envoy's)")
	case "latency":
		im.policy("balancer.type", importer.Str("peak_ewma"), p+".algorithm", label)
		im.note(p+".algorithm", label, importer.Approximated, "Kong's latency algorithm is approximated by peak_ewma (both favour the lowest recent latency)")
	case "consistent-hashing":
		im.policy("balancer.type", importer.Str("ring_hash"), p+".algorithm", label)
		switch u.HashOn {
		case "header":
			im.policy("balancer.hashKey.header", importer.Str(u.HashOnHeader), p+".hash_on_header", label)
		case "cookie":
			im.policy("balancer.hashKey.cookie", importer.Str(u.HashOnCookie), p+".hash_on_cookie", label)
		case "ip":
			im.policy("balancer.hashKey.sourceIP", importer.Bool(true), p+".hash_on", label)
		case "", "none":
		default:
			im.note(p+".hash_on", label, importer.Unsupported, "hash_on %q: meshbench hashes a header, a cookie or the client address", u.HashOn)
		}
		if u.Slots > 0 {
			im.policy("balancer.minRingSize", importer.Int(int64(u.Slots)), p+".slots", label)
		}
	default:
		im.note(p+".algorithm", label, importer.Invalid, "unknown algorithm %q (round-robin, consistent-hashing, least-connections, latency)", u.Algorithm)
	}
	if hc := u.Healthchecks; hc != nil {
		if a := hc.Active; a != nil && a.Healthy != nil && a.Healthy.Interval > 0 {
			ap := p + ".healthchecks.active"
			im.policy("healthCheck.interval", importer.Dur(secs(a.Healthy.Interval)), ap+".healthy.interval", label)
			if a.HTTPPath != "" {
				im.policy("healthCheck.path", importer.Str(a.HTTPPath), ap+".http_path", label)
			}
			if a.Timeout > 0 {
				im.policy("healthCheck.timeout", importer.Dur(secs(a.Timeout)), ap+".timeout", label)
			}
			if a.Healthy.Successes > 0 {
				im.policy("healthCheck.healthyThreshold", importer.Int(int64(a.Healthy.Successes)), ap+".healthy.successes", label)
			}
			if un := a.Unhealthy; un != nil {
				if un.HTTPFailures > 0 {
					im.policy("healthCheck.unhealthyThreshold", importer.Int(int64(un.HTTPFailures)), ap+".unhealthy.http_failures", label)
				}
				if un.Interval > 0 && un.Interval != a.Healthy.Interval {
					im.note(ap+".unhealthy.interval", label, importer.Approximated, "meshbench probes healthy and unhealthy targets at one interval (healthy.interval)")
				}
			}
			if a.Type != "" && a.Type != "http" {
				im.note(ap+".type", label, importer.Approximated, "active check type %q: meshbench's checks are HTTP GETs", a.Type)
			}
		}
		if ps := hc.Passive; ps != nil && ps.Unhealthy != nil {
			pp := p + ".healthchecks.passive.unhealthy"
			if ps.Unhealthy.HTTPFailures > 0 {
				im.policy("outlierDetection.consecutive5xx", importer.Int(int64(ps.Unhealthy.HTTPFailures)), pp+".http_failures", label)
			}
			if n := max(ps.Unhealthy.TCPFailures, ps.Unhealthy.Timeouts); n > 0 {
				im.policy("outlierDetection.consecutiveGatewayFailure", importer.Int(int64(n)), pp, label)
			}
			if ps.Unhealthy.HTTPFailures > 0 || ps.Unhealthy.TCPFailures > 0 || ps.Unhealthy.Timeouts > 0 {
				im.note(pp, label, importer.Approximated, "Kong's passive check marks a target unhealthy until an active check (or an operator) restores it; meshbench's outlier detection ejects it for baseEjectionTime (30s, growing with each ejection)")
			}
		}
	}
}

var methods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

func (im *imp) route(r *Route, p string, s *Service) {
	label := "route " + r.Name
	if r.Name == "" {
		im.note(p, label, importer.Invalid, "a route needs a name (meshbench reports per route)")
		return
	}
	if routeName(r.Name) == "" {
		im.note(p+".name", label, importer.Invalid, "route name %q has no letter, digit, '_', '.' or '-'", r.Name)
		return
	}
	if im.routeNamed(r.Name) != nil {
		im.note(p+".name", label, importer.Invalid, "route name %q is declared twice", r.Name)
		return
	}
	gr := &gwRoute{kong: r, path: p, service: ServiceName(s.Name), kongSvc: s.Name}
	paths := r.Paths
	if len(paths) == 0 {
		paths = []string{""}
	}
	ms := r.Methods
	if len(ms) == 0 {
		ms = []string{""}
	}
	hosts := r.Hosts
	if len(hosts) == 0 {
		hosts = []string{""}
	}
	n := 0
	for pi, path := range paths {
		pp := fmt.Sprintf("%s.paths[%d]", p, pi)
		switch {
		case path != "" && !strings.HasPrefix(path, "/") && !strings.HasPrefix(path, "~/"):
			im.note(pp, label, importer.Invalid, "path %q: a Kong path starts with / (a prefix) or ~/ (a regex)", path)
			continue
		case strings.HasPrefix(path, "~"):
			if _, err := regexp.Compile(strings.TrimPrefix(path, "~")); err != nil {
				im.note(pp, label, importer.Unsupported, "regex path %q: meshbench's pathRegex is RE2 (Go's regexp), which refuses it: %v", path, err)
				continue
			}
		}
		for mi, m := range ms {
			for hi, h := range hosts {
				rn := routeName(r.Name)
				if n > 0 {
					rn = fmt.Sprintf("%s-%d", rn, n)
				}
				if u, renamed := im.res.UniqueRouteName(rn); renamed {
					im.note(p+".name", label, importer.Approximated, "route name %q is another route's: this one is %q", rn, u)
					rn = u
				}
				n++
				node := importer.Map().Set("name", importer.Str(rn).With(im.doc.Where(p+".name")))
				match := importer.Map()
				switch {
				case strings.HasPrefix(path, "~"):
					match.Set("pathRegex", importer.Str(strings.TrimPrefix(path, "~")+".*").With(im.doc.Where(fmt.Sprintf("%s.paths[%d]", p, pi))))
				case path != "":
					match.Set("pathPrefix", importer.Str(path).With(im.doc.Where(fmt.Sprintf("%s.paths[%d]", p, pi))))
				}
				if m != "" {
					m = strings.ToUpper(m)
					if !slices.Contains(methods, m) {
						im.note(fmt.Sprintf("%s.methods[%d]", p, mi), label, importer.Unsupported, "method %s: meshbench routes match %s", m, strings.Join(methods, ", "))
					} else {
						match.Set("method", importer.Str(m).With(im.doc.Where(fmt.Sprintf("%s.methods[%d]", p, mi))))
					}
				}
				if h != "" {
					if strings.Contains(h, "*") {
						im.note(fmt.Sprintf("%s.hosts[%d]", p, hi), label, importer.Unsupported, "wildcard host %q: meshbench matches a host exactly", h)
					} else {
						match.Set("host", importer.Str(h).With(im.doc.Where(fmt.Sprintf("%s.hosts[%d]", p, hi))))
					}
				}
				if len(r.Headers) > 0 {
					hs := importer.Map()
					for _, k := range slices.Sorted(maps.Keys(r.Headers)) {
						vs := r.Headers[k]
						if len(vs) == 0 {
							continue
						}
						hs.Set(k, importer.Str(vs[0]).With(im.doc.Where(p+".headers."+k)))
						if len(vs) > 1 && pi == 0 && mi == 0 && hi == 0 {
							im.note(fmt.Sprintf("%s.headers.%s[1]", p, k), label, importer.Unsupported, "a meshbench route matches one value of a header: only %q is imported", vs[0])
						}
					}
					match.Set("headers", hs)
				}
				if match.Len() > 0 {
					node.Set("match", match)
				}
				node.Set("service", importer.Str(gr.service).With(im.doc.Where(strings.TrimSuffix(p, fmt.Sprintf(".routes[%d]", routeIndex(p)))+".name")))
				gr.nodes = append(gr.nodes, node)
				gr.names = append(gr.names, rn)
				im.res.Routes = append(im.res.Routes, node)
			}
		}
	}
	if n > 1 {
		im.note(p, label, importer.Approximated, "a Kong route with %d paths × methods × hosts becomes %d meshbench routes (%s), each matching one of each", n, n, strings.Join(gr.names, ", "))
	}
	if r.StripPath == nil || *r.StripPath {
		if len(r.Paths) > 0 && (r.StripPath != nil || im.doc.Has(p+".strip_path")) {
			im.note(p+".strip_path", label, importer.Approximated, "strip_path: Kong removes the matched prefix before forwarding; meshbench forwards the path unchanged (a service's operations match the client's path)")
		}
	}
	if r.PreserveHost != nil && *r.PreserveHost {
		im.note(p+".preserve_host", label, importer.Approximated, "preserve_host: meshbench's services do not look at the Host header, so this changes nothing they do")
	}
	for i, proto := range r.Protocols {
		if proto != "http" && proto != "https" && proto != "grpc" {
			im.note(fmt.Sprintf("%s.protocols[%d]", p, i), label, importer.Unsupported, "protocol %q: meshbench's gateway routes HTTP", proto)
		}
	}
	im.routes = append(im.routes, gr)
	im.routesOf[s.Name] = append(im.routesOf[s.Name], gr.names...)
}

func routeIndex(p string) int {
	i := strings.LastIndex(p, "[")
	var n int
	fmt.Sscan(strings.TrimSuffix(p[i+1:], "]"), &n)
	return n
}

var routeNameRE = regexp.MustCompile(`[^a-zA-Z0-9_.-]+`)

func routeName(s string) string { return strings.Trim(routeNameRE.ReplaceAllString(s, "-"), "-") }

// consumers writes the consumer groups of the acl plugin: one group per
// ACL group name, listing the indexes of the consumers in it, in the order
// the file declares consumers (the workload's consumer i is Kong's
// consumer i).
func (im *imp) consumers() {
	groups := map[string][]int{}
	var order []string
	for i, c := range im.cfg.Consumers {
		for _, a := range c.ACLs {
			if _, ok := groups[a.Group]; !ok {
				order = append(order, a.Group)
			}
			groups[a.Group] = append(groups[a.Group], i)
		}
	}
	if len(order) == 0 {
		return
	}
	l := importer.List()
	for _, g := range order {
		ids := importer.List()
		for _, i := range groups[g] {
			ids.Append(importer.Int(int64(i)))
		}
		ids.Flow = true
		l.Append(importer.Map().Set("name", importer.Str(g)).Set("consumers", ids).With("Kong consumers' acls (consumer i is the workload's consumer i)"))
	}
	im.res.ConsumerGroups = l
	im.res.ConsumerCount = len(im.cfg.Consumers)
}
