package proxy

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/meshbench/meshbench/proxy/config"
)

// edgeTLS terminates TLS on the primary listener with the gateway's own
// certificates (config.TLSConfig). The listener's tls.Config answers every
// ClientHello with the configuration of the current certificate set
// (GetConfigForClient), so that a set read again — on Reload, or on a
// handshake once the section's reload interval has passed and a file has
// changed — takes the handshakes after it while connections already open
// keep the one they started with.
type edgeTLS struct {
	log *slog.Logger
	cur atomic.Pointer[edgeTLSSet]
	mu  sync.Mutex // one handshake at a time looks at the files
	// now is the clock of the reload interval (time.Now; tests move it).
	now func() time.Time
}

// edgeTLSSet is one reading of the section's files: immutable once built.
type edgeTLSSet struct {
	section config.TLSConfig
	config  *tls.Config
	certs   []edgeCert
	files   []fileStamp
	every   time.Duration
	checked atomic.Int64 // when the files were last looked at (Unix ns)
}

// edgeCert is a certificate and the SNI names it answers.
type edgeCert struct {
	cert  *tls.Certificate
	names []string // lower case; "*.example.com" matches one label
}

// fileStamp is what tells a changed file: its modification time and size.
type fileStamp struct {
	path string
	mod  time.Time
	size int64
}

func newEdgeTLS(set *edgeTLSSet, log *slog.Logger) *edgeTLS {
	e := &edgeTLS{log: log, now: time.Now}
	e.use(set)
	return e
}

// serverConfig is the listener's configuration: every handshake gets the
// current set's.
func (e *edgeTLS) serverConfig() *tls.Config {
	return &tls.Config{
		GetConfigForClient: e.configFor,
		NextProtos:         e.cur.Load().config.NextProtos,
	}
}

// use makes set, just read, the current set.
func (e *edgeTLS) use(set *edgeTLSSet) {
	set.checked.Store(e.now().UnixNano())
	e.cur.Store(set)
}

// configFor answers a ClientHello with the current set's configuration,
// first reading the files again if the interval has passed and one of them
// has changed. A failed reading is logged and the current set kept; it is
// tried again an interval later.
func (e *edgeTLS) configFor(*tls.ClientHelloInfo) (*tls.Config, error) {
	set := e.cur.Load()
	now := e.now()
	if now.UnixNano()-set.checked.Load() < int64(set.every) || !e.mu.TryLock() {
		return set.config, nil
	}
	defer e.mu.Unlock()
	set.checked.Store(now.UnixNano())
	if !set.changed() {
		return set.config, nil
	}
	next, err := loadEdgeTLS(set.section)
	if err != nil {
		e.log.Error("TLS certificates changed but cannot be loaded; keeping the previous ones", "error", err)
		return set.config, nil
	}
	next.checked.Store(now.UnixNano())
	if !e.cur.CompareAndSwap(set, next) { // Reload has just put a newer one
		return e.cur.Load().config, nil
	}
	e.log.Info("TLS certificates reloaded", "files", len(next.files))
	return next.config, nil
}

// changed reports whether a file of the set differs from when it was read.
func (s *edgeTLSSet) changed() bool {
	for _, f := range s.files {
		fi, err := os.Stat(f.path)
		if err != nil || !fi.ModTime().Equal(f.mod) || fi.Size() != f.size {
			return true
		}
	}
	return false
}

// certificate picks the certificate for a ClientHello's SNI name: an exact
// name first, then a wildcard, then the first certificate.
func (s *edgeTLSSet) certificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	name := strings.ToLower(strings.TrimSuffix(hello.ServerName, "."))
	if name != "" {
		for _, c := range s.certs {
			for _, n := range c.names {
				if n == name {
					return c.cert, nil
				}
			}
		}
		if _, parent, ok := strings.Cut(name, "."); ok {
			for _, c := range s.certs {
				for _, n := range c.names {
					if n == "*."+parent {
						return c.cert, nil
					}
				}
			}
		}
	}
	return s.certs[0].cert, nil
}

// loadEdgeTLS reads a section's files and builds its configuration. Each
// problem is a *config.ConfigError naming its key path under "tls".
func loadEdgeTLS(sec config.TLSConfig) (*edgeTLSSet, error) {
	set := &edgeTLSSet{section: sec, every: sec.ReloadInterval.D()}
	if set.every <= 0 {
		set.every = config.DefaultTLSReloadInterval
	}
	var errs []error
	fail := func(path string, err error) { errs = append(errs, &config.ConfigError{Path: path, Err: err}) }
	read := func(path, key string) []byte {
		fi, err := os.Stat(path)
		if err == nil {
			set.files = append(set.files, fileStamp{path: path, mod: fi.ModTime(), size: fi.Size()})
		}
		b, err := os.ReadFile(path)
		if err != nil {
			fail(key, err)
			return nil
		}
		return b
	}
	for i, cc := range sec.Certificates {
		p := fmt.Sprintf("tls.certificates[%d]", i)
		certPEM, keyPEM := read(cc.CertFile, p+".certFile"), read(cc.KeyFile, p+".keyFile")
		var staple []byte
		if cc.OCSPStapleFile != "" {
			if staple = read(cc.OCSPStapleFile, p+".ocspStapleFile"); staple != nil && len(staple) == 0 {
				fail(p+".ocspStapleFile", fmt.Errorf("%s is empty", cc.OCSPStapleFile))
			}
		}
		if certPEM == nil || keyPEM == nil {
			continue
		}
		cert, err := keyPair(certPEM, keyPEM, cc)
		if err != nil {
			fail(p, err)
			continue
		}
		cert.OCSPStaple = staple
		names := cc.ServerNames
		if len(names) == 0 {
			names = cert.Leaf.DNSNames
		}
		ec := edgeCert{cert: cert}
		for _, n := range names {
			ec.names = append(ec.names, strings.ToLower(n))
		}
		set.certs = append(set.certs, ec)
	}
	version, err := sec.TLSVersion()
	if err != nil {
		fail("tls.minVersion", err)
	}
	suites, err := sec.CipherSuiteIDs()
	if err != nil {
		fail("tls.cipherSuites", err)
	}
	auth, err := sec.ClientAuthType()
	if err != nil {
		fail("tls.clientAuth", err)
	}
	var cas *x509.CertPool
	if sec.ClientCAFile != "" {
		if b := read(sec.ClientCAFile, "tls.clientCAFile"); b != nil {
			cas = x509.NewCertPool()
			if !cas.AppendCertsFromPEM(b) {
				fail("tls.clientCAFile", fmt.Errorf("%s holds no PEM certificate", sec.ClientCAFile))
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(set.certs) == 0 {
		return nil, &config.ConfigError{Path: "tls.certificates", Err: errors.New("at least one certificate is required")}
	}
	set.config = &tls.Config{
		GetCertificate: set.certificate,
		MinVersion:     version,
		CipherSuites:   suites,
		NextProtos:     sec.NextProtos(),
		ClientAuth:     auth,
		ClientCAs:      cas,
	}
	return set, nil
}

// keyPair parses a certificate chain and its key, saying which file is at
// fault.
func keyPair(certPEM, keyPEM []byte, cc config.CertificateConfig) (*tls.Certificate, error) {
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		switch {
		case !strings.Contains(string(certPEM), "-----BEGIN"):
			return nil, fmt.Errorf("certFile %s: no PEM certificate", cc.CertFile)
		case !strings.Contains(string(keyPEM), "-----BEGIN"):
			return nil, fmt.Errorf("keyFile %s: no PEM private key", cc.KeyFile)
		case strings.Contains(err.Error(), "does not match"):
			return nil, fmt.Errorf("keyFile %s does not match the certificate in %s", cc.KeyFile, cc.CertFile)
		}
		return nil, fmt.Errorf("certFile %s, keyFile %s: %w", cc.CertFile, cc.KeyFile, err)
	}
	return &cert, nil
}
