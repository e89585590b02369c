package export

import (
	"fmt"

	"github.com/goccy/go-yaml"

	"github.com/meshbench/meshbench/bench/dataplane"
	"github.com/meshbench/meshbench/proxy/config"
	"github.com/meshbench/meshbench/proxy/upstream"
	"github.com/meshbench/meshbench/scenarios"
)

// ProxyBasePort numbers the placeholder endpoints of a proxy config: the
// replica r of the service s (in topology order) is 127.0.0.1:ProxyBasePort+100·s+r.
const ProxyBasePort = 20000

// Proxy writes the variant named as a configuration for `meshbench proxy`
// (a gateway): the translation the local backend runs the variant with
// (bench/dataplane), listening on 127.0.0.1:10000, with one placeholder
// endpoint on loopback per replica, weighted as the variant weighs it.
// The result is checked by the proxy's own loader.
func Proxy(p *scenarios.Plan, variant string) (*Output, error) {
	vp, v, err := variantOf(p, variant)
	if err != nil {
		return nil, err
	}
	cfg, err := dataplane.Gateway(&v.Policy, &vp.Topology)
	if err != nil {
		return nil, err
	}
	cfg.Listen = "127.0.0.1:10000"
	var ns notes
	for i := range cfg.Clusters {
		cc := &cfg.Clusters[i]
		si := -1
		for j := range vp.Topology.Services {
			if vp.Topology.Services[j].Name == cc.Name {
				si = j
			}
		}
		if si < 0 {
			return nil, fmt.Errorf("route to unknown service %q", cc.Name)
		}
		svc := &vp.Topology.Services[si]
		for r := range svc.Replicas {
			cc.Endpoints = append(cc.Endpoints, upstream.Endpoint{
				ID:      fmt.Sprintf("%s-%d", svc.Name, r),
				Address: fmt.Sprintf("127.0.0.1:%d", ProxyBasePort+100*si+r),
				Zone:    svc.ReplicaZone(r),
				Weight:  svc.ReplicaWeight(r),
			})
		}
		ns.add("cluster %s: endpoints are placeholders on 127.0.0.1:%d..%d: put your replicas' addresses there", cc.Name, ProxyBasePort+100*si, ProxyBasePort+100*si+svc.Replicas-1)
	}
	for _, rt := range vp.Topology.Gateway.Routes {
		if rt.Auth != nil && rt.Auth.Type != scenarios.AuthNone {
			ns.add("route %s: auth %s is the local backend's middleware, configured in code: the proxy config leaves it out", rt.Name, rt.Auth.Type)
		}
		if rt.ACL != nil || rt.IPRestriction != nil {
			ns.add("route %s: acl and ipRestriction are the local backend's middleware (proxy/access), configured in code: the proxy config leaves them out", rt.Name)
		}
	}
	if q := v.Policy.Quota; q != nil {
		ns.add("quota (%d per %s): the local backend's middleware (proxy/quota), configured in code: the proxy config leaves it out", q.Limit, q.Period)
	}
	text, err := yaml.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	if _, err := config.Parse("proxy.yaml", text); err != nil {
		return nil, fmt.Errorf("the proxy config written does not load: %w", err)
	}
	return &Output{Text: string(text), Notes: ns}, nil
}
