package config

// RouteConfig is one gateway route: a match, a destination and a policy.
type RouteConfig struct {
	// Name identifies the route in metrics and logs; default "route<i>".
	Name string `yaml:"name,omitempty" json:"name,omitempty"`
	// Match selects the requests the route takes.
	Match MatchConfig `yaml:"match,omitempty" json:"match"`
	// Cluster is the destination, unless Split is set.
	Cluster string `yaml:"cluster,omitempty" json:"cluster,omitempty"`
	// Split spreads requests over clusters by weight (canaries), as
	// Envoy's weighted_clusters.
	Split []SplitConfig `yaml:"split,omitempty" json:"split,omitempty"`
	// Rewrite changes the path and Host before forwarding.
	Rewrite RewriteConfig `yaml:"rewrite,omitempty" json:"rewrite"`
	// PathNormalization is how the path is normalised before the route
	// matches it (and then forwarded so); by default it is matched and
	// forwarded byte for byte as sent. See PathNormalizationConfig.
	PathNormalization PathNormalizationConfig `yaml:"pathNormalization,omitempty" json:"pathNormalization"`
	// Policy is inlined: timeout, retry, hedge, limits, middlewares.
	Policy `yaml:",inline" json:",inline"`
}

// MatchConfig is a route's match. All given conditions must hold. At most
// one of Path, Prefix and Regex may be set; none means every path.
type MatchConfig struct {
	// Host matches the Host header without its port, case-insensitively:
	// "api.example.com", "*.example.com" (any subdomain) or empty/"*"
	// (any host).
	Host string `yaml:"host,omitempty" json:"host,omitempty"`
	// Path matches the whole path exactly. Paths are matched as the
	// client sent them, percent-escapes included, after the route's
	// PathNormalization.
	Path string `yaml:"path,omitempty" json:"path,omitempty"`
	// Prefix matches a path prefix (a plain string prefix, as Envoy's
	// prefix match).
	Prefix string `yaml:"prefix,omitempty" json:"prefix,omitempty"`
	// Regex must match the whole path (RE2 syntax, as Envoy's safe_regex).
	Regex string `yaml:"regex,omitempty" json:"regex,omitempty"`
	// Methods lists the accepted methods; empty means any.
	Methods []string `yaml:"methods,omitempty" json:"methods,omitempty"`
	// Headers must all match.
	Headers []HeaderMatchConfig `yaml:"headers,omitempty" json:"headers,omitempty"`
}

// HeaderMatchConfig matches one request header, as Envoy's HeaderMatcher.
// With none of Exact, Prefix and Regex set it matches when the header is
// present.
type HeaderMatchConfig struct {
	Name   string `yaml:"name" json:"name"`
	Exact  string `yaml:"exact,omitempty" json:"exact,omitempty"`
	Prefix string `yaml:"prefix,omitempty" json:"prefix,omitempty"`
	Regex  string `yaml:"regex,omitempty" json:"regex,omitempty"`
	// Invert negates the match (absent header, or a value that differs).
	Invert bool `yaml:"invert,omitempty" json:"invert,omitempty"`
}

// SplitConfig is one weighted destination of a route.
type SplitConfig struct {
	Cluster string `yaml:"cluster" json:"cluster"`
	Weight  int    `yaml:"weight" json:"weight"`
}

// RewriteConfig changes the forwarded request. At most one of Path, Prefix,
// StripPrefix and Regex may be set; Host and HostFromEndpoint exclude each
// other. By default the path and the Host header are forwarded unchanged
// (Envoy's default of preserving Host).
type RewriteConfig struct {
	// Path replaces the whole path.
	Path string `yaml:"path,omitempty" json:"path,omitempty"`
	// Prefix replaces the part of the path matched by match.prefix, as
	// Envoy's prefix_rewrite.
	Prefix string `yaml:"prefix,omitempty" json:"prefix,omitempty"`
	// StripPrefix removes the part matched by match.prefix, keeping the
	// path rooted ("/api/users" with prefix "/api" becomes "/users").
	StripPrefix bool `yaml:"stripPrefix,omitempty" json:"stripPrefix,omitempty"`
	// Regex rewrites the path with a pattern and a substitution ($1 etc.),
	// as Envoy's regex_rewrite.
	Regex *RegexRewriteConfig `yaml:"regex,omitempty" json:"regex,omitempty"`
	// Host replaces the Host header.
	Host string `yaml:"host,omitempty" json:"host,omitempty"`
	// HostFromEndpoint sets Host to the chosen endpoint's address, as
	// Envoy's auto_host_rewrite.
	HostFromEndpoint bool `yaml:"hostFromEndpoint,omitempty" json:"hostFromEndpoint,omitempty"`
}

// RegexRewriteConfig is a regex path rewrite.
type RegexRewriteConfig struct {
	Pattern      string `yaml:"pattern" json:"pattern"`
	Substitution string `yaml:"substitution" json:"substitution"`
}
