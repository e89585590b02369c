package cache

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Defaults of Config.
const (
	DefaultMaxBytes = 64 << 20
)

// Values of Config.StatusHeader.
const (
	StatusHit    = "HIT"    // answered from the cache
	StatusMiss   = "MISS"   // forwarded; the response may have been stored
	StatusBypass = "BYPASS" // not a cacheable request (method, no-store, no-cache)
)

// Config configures a Cache. Zero values are documented per field.
type Config struct {
	// MaxBytes bounds the memory of stored responses (default 64 MiB).
	MaxBytes int64 `yaml:"maxBytes,omitempty" json:"maxBytes,omitempty"`
	// MaxEntryBytes bounds one stored response (default MaxBytes/8); larger
	// responses pass through unstored.
	MaxEntryBytes int64 `yaml:"maxEntryBytes,omitempty" json:"maxEntryBytes,omitempty"`
	// MaxEntries bounds the number of stored responses as well (default
	// 0: only MaxBytes bounds them).
	MaxEntries int `yaml:"maxEntries,omitempty" json:"maxEntries,omitempty"`
	// DefaultTTL is the freshness of responses that state none (default 0:
	// such responses are not stored).
	DefaultTTL time.Duration `yaml:"defaultTtl,omitempty" json:"defaultTtl,omitempty"`
	// Vary lists the request headers that responses may vary on; each
	// entry is keyed on all of their values.
	Vary []string `yaml:"vary,omitempty" json:"vary,omitempty"`
	// StatusHeader, when set, names a response header that says HIT, MISS
	// or BYPASS ("X-Cache" is customary; default: none).
	StatusHeader string `yaml:"statusHeader,omitempty" json:"statusHeader,omitempty"`
	// Clock tells the time (default time.Now).
	Clock func() time.Time `yaml:"-" json:"-"`
}

// Cache is the response cache middleware. It is safe for concurrent use;
// one Cache may serve several routes, since keys include host and URI.
type Cache struct {
	cfg    Config
	vary   []string // canonical, sorted
	policy storePolicy
	store  *Store
}

// New checks cfg and returns a cache.
func New(cfg Config) (*Cache, error) {
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	if cfg.MaxBytes < 0 {
		return nil, fmt.Errorf("cache: negative maxBytes %d", cfg.MaxBytes)
	}
	if cfg.MaxEntryBytes == 0 {
		cfg.MaxEntryBytes = cfg.MaxBytes / 8
	}
	if cfg.MaxEntryBytes < 0 || cfg.MaxEntryBytes > cfg.MaxBytes {
		return nil, fmt.Errorf("cache: maxEntryBytes %d is not in 0..maxBytes", cfg.MaxEntryBytes)
	}
	if cfg.DefaultTTL < 0 {
		return nil, errors.New("cache: negative defaultTTL")
	}
	if cfg.MaxEntries < 0 {
		return nil, fmt.Errorf("cache: negative maxEntries %d", cfg.MaxEntries)
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	c := &Cache{cfg: cfg, store: NewStore(cfg.MaxBytes), policy: storePolicy{vary: map[string]bool{}, defaultTTL: cfg.DefaultTTL}}
	c.store.SetMaxEntries(cfg.MaxEntries)
	for _, h := range cfg.Vary {
		k := http.CanonicalHeaderKey(strings.TrimSpace(h))
		if k == "" || c.policy.vary[k] {
			continue
		}
		c.policy.vary[k] = true
		c.vary = append(c.vary, k)
	}
	slices.Sort(c.vary)
	return c, nil
}

// Stats returns the store's counters.
func (c *Cache) Stats() Stats { return c.store.Stats() }

// primaryKey is the target URI (RFC 9111 §2): host and request target.
func primaryKey(r *http.Request) string { return r.Host + r.URL.RequestURI() }

// variantKey joins the values of the configured Vary headers.
func (c *Cache) variantKey(r *http.Request) string {
	if len(c.vary) == 0 {
		return ""
	}
	var b strings.Builder
	for _, name := range c.vary {
		b.WriteString(name)
		b.WriteByte('=')
		for i, v := range r.Header.Values(name) {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strings.TrimSpace(v))
		}
		b.WriteByte(0)
	}
	return b.String()
}

// Middleware returns next behind the cache.
func (c *Cache) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			c.serveSafe(w, r, next)
		case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
			c.serveUnsafe(w, r, next)
		default:
			c.mark(w, StatusBypass)
			next.ServeHTTP(w, r)
		}
	})
}

func (c *Cache) mark(w http.ResponseWriter, status string) {
	if c.cfg.StatusHeader != "" {
		w.Header().Set(c.cfg.StatusHeader, status)
	}
}

func (c *Cache) serveSafe(w http.ResponseWriter, r *http.Request, next http.Handler) {
	cc := parseCacheControl(r.Header.Values("Cache-Control"))
	if cc.has("no-store") || r.Header.Get("Range") != "" {
		c.mark(w, StatusBypass)
		next.ServeHTTP(w, r)
		return
	}
	noCache := cc.has("no-cache") || (cc == nil && strings.Contains(strings.ToLower(r.Header.Get("Pragma")), "no-cache"))
	primary, variant := primaryKey(r), c.variantKey(r)
	now := c.cfg.Clock()
	if !noCache {
		if e, ok := c.store.Get(primary, variant, now); ok && acceptable(cc, e, now) {
			c.writeHit(w, r, e, now)
			return
		}
	}
	if cc.has("only-if-cached") {
		c.mark(w, StatusMiss)
		http.Error(w, "not in cache", http.StatusGatewayTimeout)
		return
	}
	c.mark(w, StatusMiss)
	if r.Method == http.MethodHead {
		next.ServeHTTP(w, r)
		return
	}
	rec := &recorder{ResponseWriter: w, limit: c.cfg.MaxEntryBytes}
	next.ServeHTTP(rec, r)
	c.maybeStore(r, rec, primary, variant, now)
}

// acceptable applies the request's max-age and min-fresh (RFC 9111
// §5.2.1.1, §5.2.1.3) to a fresh entry.
func acceptable(cc directives, e *Entry, now time.Time) bool {
	age := e.Age(now)
	if d, present, ok := cc.seconds("max-age"); present && ok && age > d {
		return false
	}
	if d, present, ok := cc.seconds("min-fresh"); present && ok && e.Lifetime-age < d {
		return false
	}
	return true
}

func (c *Cache) writeHit(w http.ResponseWriter, r *http.Request, e *Entry, now time.Time) {
	h := w.Header()
	for k, vs := range e.Header {
		h[k] = slices.Clone(vs)
	}
	h.Set("Age", strconv.FormatInt(int64(e.Age(now)/time.Second), 10))
	c.mark(w, StatusHit)
	w.WriteHeader(e.Status)
	if r.Method != http.MethodHead {
		w.Write(e.Body)
	}
}

func (c *Cache) maybeStore(r *http.Request, rec *recorder, primary, variant string, requestTime time.Time) {
	if rec.overflow || !rec.wroteHeader {
		return
	}
	h := rec.header
	if cl := h.Get("Content-Length"); cl != "" {
		if n, err := strconv.ParseInt(cl, 10, 64); err != nil || n != int64(len(rec.body)) {
			return // cut short or inconsistent
		}
	}
	now := c.cfg.Clock()
	life, reason := c.policy.lifetime(rec.status, h, r.Header.Get("Authorization") != "", now)
	if reason != "" {
		return
	}
	e := &Entry{
		Status:     rec.status,
		Header:     h,
		Body:       rec.body,
		StoredAt:   now,
		InitialAge: initialAge(h, requestTime, now),
		Lifetime:   life,
	}
	if !e.Fresh(now) {
		return // already older than its lifetime (a large upstream Age)
	}
	// Age is recomputed on every hit; the status header is per response.
	h.Del("Age")
	if c.cfg.StatusHeader != "" {
		h.Del(c.cfg.StatusHeader)
	}
	c.store.Put(primary, variant, e)
}

func (c *Cache) serveUnsafe(w http.ResponseWriter, r *http.Request, next http.Handler) {
	c.mark(w, StatusBypass)
	rec := &recorder{ResponseWriter: w, limit: 0}
	next.ServeHTTP(rec, r)
	// §4.4: a non-error response to an unsafe method invalidates the URI.
	if st := rec.status; st == 0 || (st >= 200 && st < 400) {
		c.store.Invalidate(primaryKey(r))
	}
}
