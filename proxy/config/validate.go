package config

import (
	"fmt"
	"math/rand/v2"
)

// Validate checks cfg, with the defaults of Defaults applied, as the
// proxy's New does before it starts anything, and reports every problem it
// finds as *ConfigErrors joined, each naming its key path: modes and server
// limits, names and duplicates, destinations (unknown clusters, splits),
// matches and rewrites, the policies of the top level, of each route and
// of each cluster (by building them, as the Policies methods do), and each
// cluster's protocol, static endpoints and discovery fields. It does no I/O: an endpoints file (discovery type
// file) is read, and DNS names and registries are looked up, by the proxy
// when it applies the configuration; middleware names are checked by the
// proxy too, which knows the registered factories.
func Validate(cfg Config) error {
	cfg = Defaults(cfg)
	var errs fieldErrors
	switch cfg.Mode {
	case ModeGateway, ModeSidecar:
	default:
		errs.add("mode", fmt.Errorf("unknown mode %q: want gateway or sidecar", cfg.Mode))
	}
	if cfg.Server.MaxBodyBytes < -1 {
		errs.add("server.maxBodyBytes", fmt.Errorf("must be positive, or -1 for unlimited"))
	}
	if cfg.Server.MaxHeaderBytes < 0 {
		errs.add("server.maxHeaderBytes", fmt.Errorf("must be positive"))
	}
	if *cfg.Server.BodyTimeout < 0 {
		errs.add("server.bodyTimeout", fmt.Errorf("must not be negative (0 means none)"))
	}
	if *cfg.Server.SendTimeout < 0 {
		errs.add("server.sendTimeout", fmt.Errorf("must not be negative (0 means none)"))
	}
	if *cfg.Server.MaxSlowConnections < 0 {
		errs.add("server.maxSlowConnections", fmt.Errorf("must not be negative (0 means no limit)"))
	}
	if cfg.TLS != nil {
		cfg.TLS.check(&errs, "tls")
	}
	checkShared(cfg, &errs)
	checkAdmin(cfg, &errs)
	// clusters maps each cluster's name to whether it is valid: routes to
	// an invalid cluster are not reported again as unknown.
	clusters := map[string]bool{}
	for i, cc := range cfg.Clusters {
		p := fmt.Sprintf("clusters[%d]", i)
		if cc.Name == "" {
			errs.add(p+".name", fmt.Errorf("cluster name is required"))
			continue
		}
		if _, dup := clusters[cc.Name]; dup {
			errs.add(p+".name", fmt.Errorf("duplicate cluster %q", cc.Name))
			continue
		}
		err := cc.check()
		errs.addUnder(p, err)
		clusters[cc.Name] = err == nil
	}
	names := map[string]bool{}
	for i, rc := range cfg.Routes {
		p := fmt.Sprintf("routes[%d]", i)
		if names[rc.Name] {
			errs.add(p+".name", fmt.Errorf("duplicate route %q", rc.Name))
		}
		names[rc.Name] = true
		_, err := rc.Match.Compile()
		errs.addUnder(p+".match", err)
		_, err = rc.Rewrite.Compile(rc.Match)
		errs.addUnder(p+".rewrite", err)
		_, err = rc.PathNormalization.Compile()
		errs.addUnder(p+".pathNormalization", err)
		checkDestination(&errs, clusters, rc.Cluster, rc.Split, p)
		_, err = rc.Policies()
		errs.addUnder(p, err)
		if own, shared := rc.ConsumerRateLimit, cfg.ConsumerRateLimit; own != nil && shared != nil && own.Key != shared.Key {
			errs.add(p+".consumerRateLimit.key", fmt.Errorf("%q differs from the shared consumerRateLimit's %q: a request has one consumer", own.Key, shared.Key))
		}
	}
	if cfg.Mode == ModeGateway && len(cfg.Routes) == 0 {
		errs.add("routes", fmt.Errorf("gateway mode needs at least one route"))
	}
	sc := cfg.Sidecar
	for i, o := range sc.Outbound {
		p := fmt.Sprintf("sidecar.outbound[%d]", i)
		if o.Service == "" {
			errs.add(p+".service", fmt.Errorf("service name is required"))
			continue
		}
		checkDestination(&errs, clusters, o.Cluster, nil, p)
		_, err := o.Policies()
		errs.addUnder(p, err)
	}
	if sc.Inbound.Cluster != "" {
		checkDestination(&errs, clusters, sc.Inbound.Cluster, nil, "sidecar.inbound")
		_, err := sc.Inbound.Policies()
		errs.addUnder("sidecar.inbound", err)
	} else if sc.Inbound.Listen != "" {
		errs.add("sidecar.inbound.cluster", fmt.Errorf("an inbound listener needs the local cluster"))
	}
	return errs.err()
}

// checkDestination checks a route's cluster or weighted split against the
// clusters (by name: whether each is valid).
func checkDestination(errs *fieldErrors, clusters map[string]bool, name string, split []SplitConfig, p string) {
	switch {
	case name != "" && len(split) > 0:
		errs.add(p, fmt.Errorf("set cluster or split, not both"))
	case name != "":
		if _, ok := clusters[name]; !ok {
			errs.add(p+".cluster", fmt.Errorf("unknown cluster %q", name))
		}
	case len(split) > 0:
		for i, sp := range split {
			valid, ok := clusters[sp.Cluster]
			switch {
			case !ok:
				errs.add(fmt.Sprintf("%s.split[%d].cluster", p, i), fmt.Errorf("unknown cluster %q", sp.Cluster))
			case valid && sp.Weight <= 0:
				errs.add(fmt.Sprintf("%s.split[%d].weight", p, i), fmt.Errorf("weight must be positive"))
			}
		}
	default:
		errs.add(p, fmt.Errorf("a route needs a cluster or a split"))
	}
}

// check checks one cluster, defaults applied: its policies, where its
// endpoints come from, and its protocol. Errors are relative to the
// cluster.
func (cc ClusterConfig) check() error {
	var errs fieldErrors
	_, err := cc.Policies(validationStreams)
	errs.addUnder("", err)
	d := cc.Discovery
	static := d == nil || d.Type == "static"
	if static {
		if d != nil && len(cc.Endpoints) == 0 {
			errs.add("endpoints", fmt.Errorf("static discovery needs endpoints"))
		}
	} else {
		if len(cc.Endpoints) > 0 {
			errs.add("endpoints", fmt.Errorf("endpoints are only for static discovery, not %q", d.Type))
		}
		d.check(&errs)
	}
	switch cc.Protocol {
	case ProtocolHTTP1, ProtocolH2C, ProtocolHTTPS:
	default:
		errs.add("protocol", fmt.Errorf("unknown protocol %q: want http1, h2c or https", cc.Protocol))
	}
	if hc := cc.HealthCheck; hc != nil {
		hc.check(cc.Protocol, &errs)
	}
	if static {
		for _, e := range cc.Endpoints {
			if err := e.Validate(); err != nil {
				// Worded as discovery's static provider words it.
				errs.add("discovery", fmt.Errorf("invalid discovery input: %w", err))
				break
			}
		}
	}
	return errs.err()
}

// check checks a health check's type and the keys that belong to it;
// errors are relative to the cluster.
func (hc *HealthCheckConfig) check(protocol string, errs *fieldErrors) {
	switch hc.Type {
	case HealthCheckHTTP:
		if hc.Service != "" {
			errs.add("healthCheck.service", fmt.Errorf("only for type grpc, not http"))
		}
	case HealthCheckGRPC:
		if protocol != ProtocolH2C && protocol != ProtocolHTTPS {
			errs.add("healthCheck.type", fmt.Errorf("grpc checks need HTTP/2: protocol h2c or https, not %q", protocol))
		}
		if hc.Path != "" {
			errs.add("healthCheck.path", fmt.Errorf("only for type http, not grpc (the path is /grpc.health.v1.Health/Check)"))
		}
		if len(hc.ExpectedStatuses) > 0 {
			errs.add("healthCheck.expectedStatuses", fmt.Errorf("only for type http, not grpc (a grpc check wants SERVING)"))
		}
	default:
		errs.add("healthCheck.type", fmt.Errorf("unknown health check type %q: want http or grpc", hc.Type))
	}
}

// check checks the fields of a dynamic discovery type; errors are relative
// to the cluster.
func (d *DiscoveryConfig) check(errs *fieldErrors) {
	switch d.Type {
	case "file":
		if d.Path == "" {
			errs.add("discovery.path", fmt.Errorf("file discovery needs a path"))
		}
	case "dns":
		if d.Host == "" {
			errs.add("discovery.host", fmt.Errorf("dns discovery needs a host"))
		}
		if !d.SRV && (d.Port <= 0 || d.Port > 65535) {
			errs.add("discovery.port", fmt.Errorf("dns discovery needs a port in 1..65535"))
		}
	case "registry":
		if d.URL == "" {
			errs.add("discovery.url", fmt.Errorf("registry discovery needs a url"))
		}
	default:
		errs.add("discovery.type", fmt.Errorf("unknown discovery type %q: want static, file, dns or registry", d.Type))
	}
}

// validationStreams are the random streams of policies that are built only
// to be checked.
func validationStreams(string) *rand.Rand { return rand.New(rand.NewPCG(0, 0)) }
