package auth

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Types of Params.
const (
	TypeJWT           = "jwt"
	TypeAPIKey        = "apiKey"
	TypeIntrospection = "introspection"
)

// Params is the configuration of one route's authentication as it appears
// in a proxy configuration file (a route middleware's params, decoded with
// the proxy's YAML decoder). Build turns it into the middleware.
type Params struct {
	// Type is "jwt", "apiKey" or "introspection".
	Type string `yaml:"type" json:"type"`

	// Issuer, Audiences, Algorithms and ClockSkew configure jwt (see
	// JWTConfig).
	Issuer     string        `yaml:"issuer,omitempty" json:"issuer,omitempty"`
	Audiences  []string      `yaml:"audiences,omitempty" json:"audiences,omitempty"`
	Algorithms []string      `yaml:"algorithms,omitempty" json:"algorithms,omitempty"`
	ClockSkew  time.Duration `yaml:"clockSkew,omitempty" json:"clockSkew,omitempty"`
	// JWKSFile or JWKSURL (one of them) supplies jwt's keys; the URL must be
	// on loopback.
	JWKSFile string `yaml:"jwksFile,omitempty" json:"jwksFile,omitempty"`
	JWKSURL  string `yaml:"jwksUrl,omitempty" json:"jwksUrl,omitempty"`

	// Header and Keys configure apiKey (see APIKeysConfig); keys are
	// stored hashed (HashAPIKey).
	Header string   `yaml:"header,omitempty" json:"header,omitempty"`
	Keys   []APIKey `yaml:"keys,omitempty" json:"keys,omitempty"`

	// IntrospectionURL, ClientID, ClientSecret, CacheTTL, NegativeTTL
	// and Timeout configure introspection (see IntrospectionConfig), with
	// Issuer and Audiences; the URL must be on loopback.
	IntrospectionURL string        `yaml:"introspectionUrl,omitempty" json:"introspectionUrl,omitempty"`
	ClientID         string        `yaml:"clientId,omitempty" json:"clientId,omitempty"`
	ClientSecret     string        `yaml:"clientSecret,omitempty" json:"clientSecret,omitempty"`
	CacheTTL         time.Duration `yaml:"cacheTtl,omitempty" json:"cacheTtl,omitempty"`
	NegativeTTL      time.Duration `yaml:"negativeTtl,omitempty" json:"negativeTtl,omitempty"`
	Timeout          time.Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`

	// Scopes and Claims are the route's Requirement.
	Scopes []string            `yaml:"scopes,omitempty" json:"scopes,omitempty"`
	Claims map[string][]string `yaml:"claims,omitempty" json:"claims,omitempty"`
	// Forward keeps the credentials on the forwarded request.
	Forward bool `yaml:"forward,omitempty" json:"forward,omitempty"`
}

// Env is what Build takes from the proxy rather than from configuration.
// Zero fields take the defaults of Policy.
type Env struct {
	Audit     *Audit
	Clock     func() time.Time
	RequestID func(*http.Request) string
}

// Build returns the middleware of route configured by p.
func Build(route string, p Params, env Env) (func(http.Handler) http.Handler, error) {
	var a Authenticator
	switch p.Type {
	case "jwt":
		var keys KeySource
		switch {
		case p.JWKSFile != "" && p.JWKSURL != "":
			return nil, errors.New("auth: jwksFile and jwksUrl are exclusive")
		case p.JWKSFile != "":
			ks, err := LoadJWKSFile(p.JWKSFile)
			if err != nil {
				return nil, fmt.Errorf("auth: %w", err)
			}
			keys = ks
		case p.JWKSURL != "":
			rk, err := NewRemoteJWKS(p.JWKSURL, RemoteOptions{})
			if err != nil {
				return nil, fmt.Errorf("auth: %w", err)
			}
			keys = rk
		default:
			return nil, errors.New("auth: jwt needs jwksFile or jwksUrl")
		}
		j, err := NewJWT(JWTConfig{Issuer: p.Issuer, Audiences: p.Audiences, Algorithms: p.Algorithms,
			Keys: keys, ClockSkew: p.ClockSkew, Clock: env.Clock})
		if err != nil {
			return nil, fmt.Errorf("auth: %w", err)
		}
		a = j
	case "apiKey":
		k, err := NewAPIKeys(APIKeysConfig{Header: p.Header, Keys: p.Keys})
		if err != nil {
			return nil, fmt.Errorf("auth: %w", err)
		}
		a = k
	case TypeIntrospection:
		in, err := NewIntrospector(IntrospectionConfig{URL: p.IntrospectionURL, ClientID: p.ClientID, ClientSecret: p.ClientSecret,
			Issuer: p.Issuer, Audiences: p.Audiences, CacheTTL: p.CacheTTL, NegativeTTL: p.NegativeTTL, Timeout: p.Timeout, Clock: env.Clock})
		if err != nil {
			return nil, fmt.Errorf("auth: %w", err)
		}
		a = in
	default:
		return nil, fmt.Errorf("auth: type %q: want jwt, apiKey or introspection", p.Type)
	}
	return Middleware(Policy{
		Route: route, Authenticator: a, Require: Requirement{Scopes: p.Scopes, Claims: p.Claims},
		Forward: p.Forward, Audit: env.Audit, Clock: env.Clock, RequestID: env.RequestID,
	})
}
