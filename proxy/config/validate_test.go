package config

import (
	"testing"

	"github.com/meshbench/meshbench/proxy/upstream"
)

func TestValidate(t *testing.T) {
	ep := []ClusterConfig{{Name: "a"}}
	route := func(rc RouteConfig) Config { return Config{Clusters: ep, Routes: []RouteConfig{rc}} }
	tests := []struct {
		name string
		cfg  Config
		want []string // every error, in order
	}{
		{name: "valid", cfg: route(RouteConfig{Cluster: "a"})},
		{name: "mode and server", cfg: Config{Mode: "mesh", Server: ServerConfig{MaxBodyBytes: -2, MaxHeaderBytes: -1}},
			want: []string{`mode: unknown mode "mesh"`, "server.maxBodyBytes: ", "server.maxHeaderBytes: "}},
		{name: "gateway without routes", cfg: Config{}, want: []string{"routes: gateway mode needs at least one route"}},
		{name: "cluster names", cfg: Config{Mode: ModeSidecar, Clusters: []ClusterConfig{{}, {Name: "a"}, {Name: "a"}}},
			want: []string{"clusters[0].name: cluster name is required", `clusters[2].name: duplicate cluster "a"`}},
		{name: "duplicate route", cfg: Config{Clusters: ep, Routes: []RouteConfig{{Name: "r", Cluster: "a"}, {Name: "r", Cluster: "a"}}},
			want: []string{`routes[1].name: duplicate route "r"`}},
		{name: "unknown cluster", cfg: route(RouteConfig{Cluster: "b"}), want: []string{`routes[0].cluster: unknown cluster "b"`}},
		{name: "no destination", cfg: route(RouteConfig{}), want: []string{"routes[0]: a route needs a cluster or a split"}},
		{name: "cluster and split", cfg: route(RouteConfig{Cluster: "a", Split: []SplitConfig{{Cluster: "a", Weight: 1}}}),
			want: []string{"routes[0]: set cluster or split, not both"}},
		{name: "split", cfg: route(RouteConfig{Split: []SplitConfig{{Cluster: "a"}, {Cluster: "b", Weight: 1}}}),
			want: []string{"routes[0].split[0].weight: weight must be positive", `routes[0].split[1].cluster: unknown cluster "b"`}},
		{name: "a broken cluster is not also unknown",
			cfg:  Config{Clusters: []ClusterConfig{{Name: "a", Balancer: BalancerConfig{Type: "fastest"}}}, Routes: []RouteConfig{{Cluster: "a"}, {Split: []SplitConfig{{Cluster: "a"}}}}},
			want: []string{"clusters[0].balancer: "}},
		{name: "match, rewrite and policy", cfg: route(RouteConfig{Cluster: "a", Match: MatchConfig{Regex: "("}, Rewrite: RewriteConfig{StripPrefix: true},
			Policy: Policy{Retry: RetryConfig{Attempts: -1}, ConsumerRateLimit: &ConsumerRateLimitConfig{Key: "x", RateLimitConfig: RateLimitConfig{Rate: 1, Burst: 1}}}}),
			want: []string{"routes[0].match.regex: ", "routes[0].rewrite: prefix and stripPrefix need match.prefix",
				"routes[0].retry.attempts: ", "routes[0].consumerRateLimit.key: "}},
		{name: "path normalization", cfg: route(RouteConfig{Cluster: "a", PathNormalization: PathNormalizationConfig{EscapedSlashes: "decode"}}),
			want: []string{`routes[0].pathNormalization.escapedSlashes: "decode" is not one of keep, reject and unescape`}},
		{name: "cluster policies, protocol and endpoints", cfg: Config{Mode: ModeSidecar, Clusters: []ClusterConfig{{Name: "a", Protocol: "spdy",
			Endpoints: []upstream.Endpoint{{Address: "nowhere"}}, HealthCheck: &HealthCheckConfig{ExpectedStatuses: []string{"ok"}}}}},
			want: []string{"clusters[0].healthCheck.expectedStatuses[0]: ", `clusters[0].protocol: unknown protocol "spdy"`,
				`clusters[0].discovery: invalid discovery input: endpoint "nowhere": address: `}},
		{name: "grpc health checks and retry conditions", cfg: Config{Mode: ModeSidecar, Clusters: []ClusterConfig{
			{Name: "ok", Protocol: ProtocolH2C, HealthCheck: &HealthCheckConfig{Type: HealthCheckGRPC, Service: "payments.v1.Payments"}},
			{Name: "http1", HealthCheck: &HealthCheckConfig{Type: HealthCheckGRPC}},
			{Name: "grpc keys", Protocol: ProtocolHTTPS, HealthCheck: &HealthCheckConfig{Type: HealthCheckGRPC, Path: "/x", ExpectedStatuses: []string{"200"}}},
			{Name: "http service", HealthCheck: &HealthCheckConfig{Service: "s"}},
			{Name: "unknown", HealthCheck: &HealthCheckConfig{Type: "tcp"}},
		}, Sidecar: SidecarConfig{Outbound: []OutboundConfig{
			{Service: "ok", Policy: Policy{Retry: RetryConfig{Attempts: 2, RetryOn: []string{"unavailable", "cancelled", "deadline-exceeded", "internal", "resource-exhausted", "5xx"}}}},
			{Service: "http1", Policy: Policy{Retry: RetryConfig{Attempts: 2, RetryOn: []string{"unavailable", "not-found"}}}},
		}}}, want: []string{
			`clusters[1].healthCheck.type: grpc checks need HTTP/2: protocol h2c or https, not "http1"`,
			"clusters[2].healthCheck.path: only for type http, not grpc", "clusters[2].healthCheck.expectedStatuses: only for type http, not grpc",
			"clusters[3].healthCheck.service: only for type grpc, not http",
			`clusters[4].healthCheck.type: unknown health check type "tcp": want http or grpc`,
			`sidecar.outbound[1].retry: retry policy: retry_on[1]: unknown retry_on condition "not-found"`}},
		{name: "discovery fields", cfg: Config{Mode: ModeSidecar, Clusters: []ClusterConfig{
			{Name: "static", Discovery: &DiscoveryConfig{Type: "static"}},
			{Name: "file", Discovery: &DiscoveryConfig{Type: "file"}, Endpoints: []upstream.Endpoint{{Address: "a:1"}}},
			{Name: "dns", Discovery: &DiscoveryConfig{Type: "dns"}},
			{Name: "srv", Discovery: &DiscoveryConfig{Type: "dns", Host: "h", SRV: true}},
			{Name: "registry", Discovery: &DiscoveryConfig{Type: "registry"}},
			{Name: "consul", Discovery: &DiscoveryConfig{Type: "consul"}},
		}}, want: []string{
			"clusters[0].endpoints: static discovery needs endpoints",
			`clusters[1].endpoints: endpoints are only for static discovery, not "file"`, "clusters[1].discovery.path: ",
			"clusters[2].discovery.host: ", "clusters[2].discovery.port: ",
			"clusters[4].discovery.url: ",
			`clusters[5].discovery.type: unknown discovery type "consul"`}},
		{name: "sidecar", cfg: Config{Mode: ModeSidecar, Clusters: ep, Sidecar: SidecarConfig{
			Outbound: []OutboundConfig{{}, {Service: "b"}, {Service: "c", Cluster: "a", Policy: Policy{Hedge: HedgeConfig{MaxHedges: 1}}}},
			Inbound:  InboundConfig{Listen: "127.0.0.1:0"}}},
			want: []string{"sidecar.outbound[0].service: service name is required", `sidecar.outbound[1].cluster: unknown cluster "b"`,
				"sidecar.outbound[2].hedge.delay: ", "sidecar.inbound.cluster: an inbound listener needs the local cluster"}},
		{name: "tls values", cfg: Config{Clusters: ep, Routes: []RouteConfig{{Cluster: "a"}}, TLS: &TLSConfig{
			Certificates: []CertificateConfig{{CertFile: "a.crt"}, {KeyFile: "b.key", ServerNames: []string{"a b", "*.x.*"}}},
			MinVersion:   "1.3", CipherSuites: []string{"TLS_AES_128_GCM_SHA256"}, ALPN: []string{"h2", "h2"},
			ClientAuth: ClientAuthRequest, ClientCAFile: "ca.pem", ReloadInterval: -1}},
			want: []string{"tls.certificates[0].keyFile: is required", "tls.certificates[1].certFile: is required",
				`tls.certificates[1].serverNames[0]: "a b" is not a server name`, `tls.certificates[1].serverNames[1]: "*.x.*" is not a server name`,
				"tls.cipherSuites[0]: TLS_AES_128_GCM_SHA256 is a TLS 1.3 suite", "tls.cipherSuites: only apply to TLS 1.2",
				`tls.alpn[1]: "h2" listed twice`, "tls.clientCAFile: is only used by clientAuth verify-if-given or require",
				"tls.reloadInterval: must be positive"}},
		{name: "inbound", cfg: Config{Mode: ModeSidecar, Clusters: ep, Sidecar: SidecarConfig{Inbound: InboundConfig{Cluster: "x", Policy: Policy{Retry: RetryConfig{Attempts: -1}}}}},
			want: []string{`sidecar.inbound.cluster: unknown cluster "x"`, "sidecar.inbound.retry.attempts: "}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkErrors(t, Validate(tc.cfg), tc.want)
		})
	}
}
