// Package kong imports Kong's declarative configuration (the decK file
// format, _format_version "3.0") into meshbench scenario keys: gateway
// routes, policies and middlewares (see docs/import.md for the mapping).
//
// Kong publishes no small Go type for decK files (go-kong's types are the
// Admin API's, with pointers everywhere and a large dependency tree), so
// this package declares its own: only the fields it maps, decoded with
// goccy/go-yaml, which keeps positions; every other key written in the
// file is reported as unsupported with its line and column.
package kong

// Config is a decK file.
type Config struct {
	FormatVersion string     `yaml:"_format_version"`
	Services      []Service  `yaml:"services"`
	Routes        []Route    `yaml:"routes"`
	Upstreams     []Upstream `yaml:"upstreams"`
	Consumers     []Consumer `yaml:"consumers"`
	Plugins       []Plugin   `yaml:"plugins"`
}

// Service is a Kong service: where matched requests go.
type Service struct {
	Name           string   `yaml:"name"`
	Host           string   `yaml:"host"`
	Port           int      `yaml:"port"`
	Protocol       string   `yaml:"protocol"`
	Path           string   `yaml:"path"`
	URL            string   `yaml:"url"`
	Retries        *int     `yaml:"retries"`
	ConnectTimeout *int     `yaml:"connect_timeout"` // milliseconds
	ReadTimeout    *int     `yaml:"read_timeout"`    // milliseconds
	WriteTimeout   *int     `yaml:"write_timeout"`   // milliseconds
	Routes         []Route  `yaml:"routes"`
	Plugins        []Plugin `yaml:"plugins"`
	Tags           []string `yaml:"tags"`
}

// Route is a Kong route.
type Route struct {
	Name         string              `yaml:"name"`
	Paths        []string            `yaml:"paths"`
	Methods      []string            `yaml:"methods"`
	Hosts        []string            `yaml:"hosts"`
	Headers      map[string][]string `yaml:"headers"`
	StripPath    *bool               `yaml:"strip_path"`
	PreserveHost *bool               `yaml:"preserve_host"`
	Protocols    []string            `yaml:"protocols"`
	Service      *Ref                `yaml:"service"`
	Plugins      []Plugin            `yaml:"plugins"`
	Tags         []string            `yaml:"tags"`
}

// Ref names another entity.
type Ref struct {
	Name string `yaml:"name"`
	ID   string `yaml:"id"`
}

// Upstream is a Kong upstream: a load-balanced set of targets.
type Upstream struct {
	Name         string        `yaml:"name"`
	Algorithm    string        `yaml:"algorithm"`
	HashOn       string        `yaml:"hash_on"`
	HashOnHeader string        `yaml:"hash_on_header"`
	HashOnCookie string        `yaml:"hash_on_cookie"`
	Slots        int           `yaml:"slots"`
	Healthchecks *Healthchecks `yaml:"healthchecks"`
	Targets      []Target      `yaml:"targets"`
	Tags         []string      `yaml:"tags"`
}

// Target is one upstream target with its weight (0 disables it).
type Target struct {
	Target string   `yaml:"target"`
	Weight *int     `yaml:"weight"`
	Tags   []string `yaml:"tags"`
}

// Healthchecks are an upstream's active and passive health checks.
type Healthchecks struct {
	Active  *ActiveCheck  `yaml:"active"`
	Passive *PassiveCheck `yaml:"passive"`
}

// ActiveCheck probes targets.
type ActiveCheck struct {
	Type      string         `yaml:"type"`
	HTTPPath  string         `yaml:"http_path"`
	Timeout   float64        `yaml:"timeout"` // seconds
	Healthy   *HealthyRule   `yaml:"healthy"`
	Unhealthy *UnhealthyRule `yaml:"unhealthy"`
}

// PassiveCheck watches proxied traffic.
type PassiveCheck struct {
	Type      string         `yaml:"type"`
	Healthy   *HealthyRule   `yaml:"healthy"`
	Unhealthy *UnhealthyRule `yaml:"unhealthy"`
}

// HealthyRule says when a target is healthy.
type HealthyRule struct {
	Interval     float64 `yaml:"interval"` // seconds; 0 disables active checks
	Successes    int     `yaml:"successes"`
	HTTPStatuses []int   `yaml:"http_statuses"`
}

// UnhealthyRule says when a target is unhealthy.
type UnhealthyRule struct {
	Interval     float64 `yaml:"interval"`
	HTTPFailures int     `yaml:"http_failures"`
	TCPFailures  int     `yaml:"tcp_failures"`
	Timeouts     int     `yaml:"timeouts"`
	HTTPStatuses []int   `yaml:"http_statuses"`
}

// Consumer is a Kong consumer with its credentials and ACL groups.
type Consumer struct {
	Username           string       `yaml:"username"`
	CustomID           string       `yaml:"custom_id"`
	KeyauthCredentials []Credential `yaml:"keyauth_credentials"`
	JWTSecrets         []JWTSecret  `yaml:"jwt_secrets"`
	ACLs               []ACLGroup   `yaml:"acls"`
	Tags               []string     `yaml:"tags"`
}

// Credential is a key-auth key.
type Credential struct {
	Key string `yaml:"key"`
}

// JWTSecret is a jwt plugin credential: key is the "iss" it accepts.
type JWTSecret struct {
	Key          string `yaml:"key"`
	Algorithm    string `yaml:"algorithm"`
	Secret       string `yaml:"secret"`
	RSAPublicKey string `yaml:"rsa_public_key"`
}

// ACLGroup is a consumer's group.
type ACLGroup struct {
	Group string `yaml:"group"`
}

// Plugin is a plugin instance, scoped to the whole gateway (top level, no
// service or route), a service or a route.
type Plugin struct {
	Name     string         `yaml:"name"`
	Enabled  *bool          `yaml:"enabled"`
	Service  *Ref           `yaml:"service"`
	Route    *Ref           `yaml:"route"`
	Consumer *Ref           `yaml:"consumer"`
	Config   map[string]any `yaml:"config"`
	Tags     []string       `yaml:"tags"`
}

// UnmarshalYAML reads a reference written as a name ("payments") or as a
// mapping ({name: payments} or {id: ...}); decK writes both.
func (r *Ref) UnmarshalYAML(unmarshal func(any) error) error {
	var s string
	if err := unmarshal(&s); err == nil {
		r.Name = s
		return nil
	}
	type plain Ref
	var p plain
	if err := unmarshal(&p); err != nil {
		return err
	}
	*r = Ref(p)
	return nil
}
