package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// ErrUnknownAPIKey reports an API key that matches no stored hash.
var ErrUnknownAPIKey = errors.New("unknown api key")

// DefaultAPIKeyHeader carries the key when APIKeysConfig.Header is empty.
const DefaultAPIKeyHeader = "X-API-Key"

const hashPrefix = "sha256:"

// HashAPIKey returns the stored form of an API key: "sha256:" and the
// lower-case hex SHA-256 of the key. Only this form goes into configuration;
// `meshbench ca hash-key` prints it. A SHA-256 without salt is enough here
// because API keys are long random strings, not passwords.
func HashAPIKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hashPrefix + hex.EncodeToString(sum[:])
}

// APIKey is one accepted key, stored hashed.
type APIKey struct {
	// Name identifies the consumer that holds the key.
	Name string `yaml:"name" json:"name"`
	// Hash is HashAPIKey of the key.
	Hash string `yaml:"hash" json:"hash"`
	// Scopes are granted to requests bearing the key.
	Scopes []string `yaml:"scopes,omitempty" json:"scopes,omitempty"`
}

// APIKeysConfig configures APIKeys.
type APIKeysConfig struct {
	// Header carries the key (default X-API-Key).
	Header string
	// Keys are the accepted keys. With no keys every non-empty key is
	// accepted (the scenario format's "keys: []") and the consumer is named
	// "key-" plus the first 12 hex digits of its hash, so each key still
	// gets its own rate limit without a plaintext key in memory.
	Keys []APIKey
}

type storedKey struct {
	name   string
	sum    [sha256.Size]byte
	scopes []string
}

// APIKeys authenticates requests by a key in a header, compared as a SHA-256
// hash in constant time against every stored hash (so neither which key
// matched nor how much of it matched shows in the timing). It is safe for
// concurrent use.
type APIKeys struct {
	header string
	keys   []storedKey
}

// NewAPIKeys checks cfg and returns the authenticator.
func NewAPIKeys(cfg APIKeysConfig) (*APIKeys, error) {
	a := &APIKeys{header: cfg.Header}
	if a.header == "" {
		a.header = DefaultAPIKeyHeader
	}
	names := map[string]bool{}
	for i, k := range cfg.Keys {
		if k.Name == "" {
			return nil, fmt.Errorf("api keys: keys[%d]: no name", i)
		}
		if names[k.Name] {
			return nil, fmt.Errorf("api keys: keys[%d]: name %q repeated", i, k.Name)
		}
		names[k.Name] = true
		sum, err := parseKeyHash(k.Hash)
		if err != nil {
			return nil, fmt.Errorf("api keys: key %q: %w", k.Name, err)
		}
		a.keys = append(a.keys, storedKey{name: k.Name, sum: sum, scopes: k.Scopes})
	}
	return a, nil
}

func parseKeyHash(h string) ([sha256.Size]byte, error) {
	var sum [sha256.Size]byte
	hexPart, ok := strings.CutPrefix(h, hashPrefix)
	if !ok {
		return sum, fmt.Errorf("hash %q does not start with %q (use HashAPIKey)", h, hashPrefix)
	}
	b, err := hex.DecodeString(hexPart)
	if err != nil || len(b) != sha256.Size {
		return sum, fmt.Errorf("hash %q is not 64 hex digits after %q", h, hashPrefix)
	}
	copy(sum[:], b)
	return sum, nil
}

// Authenticate implements Authenticator.
func (a *APIKeys) Authenticate(r *http.Request) (Consumer, error) {
	values := r.Header.Values(a.header)
	var first string
	if len(values) > 0 {
		first = values[0]
	}
	return a.check(first, len(values))
}

// AuthenticateHead is Authenticate for a request known by its head alone
// (headAuthenticator): field returns the first value of the named field
// and how many fields have that name.
func (a *APIKeys) AuthenticateHead(field func(name string) (string, int)) (Consumer, error) {
	return a.check(field(a.header))
}

// check authenticates the first of n values of the key header: both
// Authenticate and AuthenticateHead decide here.
func (a *APIKeys) check(value string, n int) (Consumer, error) {
	switch {
	case n == 0:
		return Consumer{}, ErrNoCredentials
	case n > 1:
		return Consumer{}, fmt.Errorf("%w: %d %s headers", ErrMalformedCredentials, n, a.header)
	case value == "":
		return Consumer{}, fmt.Errorf("%w: empty %s", ErrMalformedCredentials, a.header)
	}
	sum := sha256.Sum256([]byte(value))
	if len(a.keys) == 0 {
		return Consumer{ID: "key-" + hex.EncodeToString(sum[:6]), Method: MethodAPIKey}, nil
	}
	match := -1
	for i := range a.keys {
		// Every stored hash is compared; the match is recorded without a branch.
		eq := subtle.ConstantTimeCompare(sum[:], a.keys[i].sum[:])
		match = subtle.ConstantTimeSelect(eq, i, match)
	}
	if match < 0 {
		return Consumer{}, ErrUnknownAPIKey
	}
	k := a.keys[match]
	return Consumer{ID: k.name, Method: MethodAPIKey, Scopes: k.scopes}, nil
}

// Strip removes the key before the request is forwarded, so upstreams never
// see it.
func (a *APIKeys) Strip(h http.Header) { h.Del(a.header) }

// StripHead is Strip for a request known by its head alone.
func (a *APIKeys) StripHead(strip func(name string)) { strip(a.header) }

// Challenge implements Authenticator. There is no registered scheme for API
// keys; this follows the common "APIKey" form with the header named, so a
// client can tell what is expected.
func (a *APIKeys) Challenge(error) string {
	return fmt.Sprintf("APIKey realm=%q, header=%q", defaultRealm, a.header)
}
