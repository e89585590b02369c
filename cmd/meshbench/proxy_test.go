package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// syncBuffer is a stderr that tests can wait on.
type syncBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	changed chan struct{}
}

func newSyncBuffer() *syncBuffer { return &syncBuffer{changed: make(chan struct{}, 1)} }

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, err := s.b.Write(p)
	select {
	case s.changed <- struct{}{}:
	default:
	}
	return n, err
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor returns the output once it matches re for the n-th time, failing
// the test after a generous bound.
func (s *syncBuffer) waitFor(t *testing.T, re *regexp.Regexp, n int) []string {
	t.Helper()
	deadline := time.NewTimer(20 * time.Second)
	defer deadline.Stop()
	for {
		if m := re.FindAllStringSubmatch(s.String(), -1); len(m) >= n {
			return m[n-1]
		}
		select {
		case <-s.changed:
		case <-deadline.C:
			t.Fatalf("no %q (#%d) in the output:\n%s", re, n, s.String())
		}
	}
}

const proxyCmdYAML = `listen: 127.0.0.1:0
routes:
  - name: main
    match: {prefix: /}
    cluster: {{TO}}
clusters:
  - name: blue
    endpoints: [{address: "{{BLUE}}"}]
  - name: green
    endpoints: [{address: "{{GREEN}}"}]
`

func named(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, name) }
}

func TestProxyCommandErrorsExit2(t *testing.T) {
	dir := t.TempDir()
	broken := filepath.Join(dir, "broken.yaml")
	src := "listen: 127.0.0.1:0\nroutes:\n  - name: r\n    match: {prefix: /}\n    cluster: nowhere\nsecurity:\n  listener: {mode: STRICTLY}\n"
	if err := os.WriteFile(broken, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	open := filepath.Join(dir, "open-admin.yaml")
	src = "listen: 127.0.0.1:0\nadmin: 0.0.0.0:9901\nroutes:\n  - name: r\n    match: {prefix: /}\n    cluster: up\nclusters:\n  - name: up\n    endpoints: [{address: 127.0.0.1:9}]\n"
	if err := os.WriteFile(open, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		args []string
		want []string
	}{
		{"no --config", []string{"proxy"}, []string{"--config is required"}},
		{"open admin off loopback", []string{"proxy", "--config", open}, []string{open + ":2:8: admin: \"0.0.0.0:9901\" is not a loopback address and the admin listener has no access control: configure adminAccess"}},
		{"missing file", []string{"proxy", "--config", filepath.Join(dir, "none.yaml")}, []string{"no such file"}},
		{"invalid file", []string{"proxy", "--config", broken}, []string{broken + ":5:14: routes[0].cluster: unknown cluster \"nowhere\"", broken + ":7:20: security.listener.mode"}},
		{"extra argument", []string{"proxy", "--config", broken, "more"}, []string{`proxy takes no arguments, got "more"`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := cli(t, context.Background(), c.args...)
			if code != exitUsage {
				t.Fatalf("exit %d, want %d: %s", code, exitUsage, stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
		})
	}
}

// TestProxyCommandServesAndReloads runs `meshbench proxy` until its
// context is cancelled: it serves, reloads when the file changes and on
// SIGHUP, refuses a broken file while the previous configuration keeps
// serving, writes the access log, and exits 0.
func TestProxyCommandServesAndReloads(t *testing.T) {
	blue := httptest.NewServer(named("blue"))
	defer blue.Close()
	green := httptest.NewServer(named("green"))
	defer green.Close()
	dir := t.TempDir()
	file, access, profile := filepath.Join(dir, "proxy.yaml"), filepath.Join(dir, "access.jsonl"), filepath.Join(dir, "cpu.pprof")
	config := func(to string) string {
		return strings.NewReplacer("{{TO}}", to, "{{BLUE}}", blue.Listener.Addr().String(), "{{GREEN}}", green.Listener.Addr().String()).Replace(proxyCmdYAML)
	}
	write := func(src string) {
		tmp := filepath.Join(dir, ".tmp")
		if err := os.WriteFile(tmp, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, file); err != nil {
			t.Fatal(err)
		}
	}
	write(config("blue"))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stderr := newSyncBuffer()
	exited := make(chan int)
	go func() {
		exited <- execute(ctx, []string{"proxy", "--config", file, "--access-log", access, "--cpuprofile", profile, "--gc-percent", "250"}, io.Discard, stderr)
	}()

	addr := stderr.waitFor(t, regexp.MustCompile(`msg="proxy listening" addr=(\S+)`), 1)[1]
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	who := func() string {
		t.Helper()
		resp, err := client.Get("http://" + addr + "/x")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if got := who(); got != "blue" {
		t.Fatalf("serving %q, want blue", got)
	}

	reloaded := regexp.MustCompile(`msg="config reloaded" trigger=(\w+)`)
	write(config("green"))
	if m := stderr.waitFor(t, reloaded, 1); m[1] != "file" {
		t.Errorf("reload triggered by %s, want file", m[1])
	}
	if got := who(); got != "green" {
		t.Fatalf("after the file changed: %q, want green", got)
	}

	write(strings.Replace(config("blue"), "cluster: blue", "cluster: purple", 1))
	stderr.waitFor(t, regexp.MustCompile(`config reload refused.*unknown cluster \\"purple\\"`), 1)
	if got := who(); got != "green" {
		t.Fatalf("after a broken file: %q, want green still", got)
	}

	// SIGHUP: the command listens for it from before it starts serving.
	if err := os.WriteFile(file, []byte(config("blue")), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	stderr.waitFor(t, regexp.MustCompile(`msg="config reloaded" trigger=signal`), 1)
	if got := who(); got != "blue" {
		t.Fatalf("after SIGHUP: %q, want blue", got)
	}

	cancel()
	select {
	case code := <-exited:
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the proxy did not stop after its context was cancelled")
	}
	data, err := os.ReadFile(access)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d access log lines, want 4:\n%s", len(lines), data)
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil || rec["route"] != "main" || rec["status"] != float64(200) {
		t.Errorf("access log line %q (%v)", lines[0], err)
	}

	// --cpuprofile: a pprof profile (gzipped protobuf) written at shutdown.
	if b, err := os.ReadFile(profile); err != nil || len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		t.Errorf("--cpuprofile wrote %d bytes (%v), want a gzipped pprof profile", len(b), err)
	}
	// --gc-percent: the process's collection target, unless GOGC is set.
	if _, set := os.LookupEnv("GOGC"); !set {
		if prev := debug.SetGCPercent(100); prev != 250 {
			t.Errorf("GC percent %d after --gc-percent 250", prev)
		}
	}
}

// selfSignedFiles writes a self-signed certificate for site.example named
// cn and its key to certFile and keyFile, and returns a pool trusting it.
func selfSignedFiles(t *testing.T, cn, certFile, keyFile string) *x509.CertPool {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn}, DNSNames: []string{"site.example"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return pool
}

// TestProxyCommandTerminatesTLS: `meshbench proxy` with a tls section
// serves HTTPS (HTTP/2 by ALPN) with the configured certificate, and
// SIGHUP makes new handshakes take a rotated one.
func TestProxyCommandTerminatesTLS(t *testing.T) {
	blue := httptest.NewServer(named("blue"))
	defer blue.Close()
	dir := t.TempDir()
	file, certFile, keyFile := filepath.Join(dir, "proxy.yaml"), filepath.Join(dir, "site.crt"), filepath.Join(dir, "site.key")
	pool := selfSignedFiles(t, "v1", certFile, keyFile)
	src := strings.NewReplacer("{{TO}}", "blue", "{{BLUE}}", blue.Listener.Addr().String(), "{{GREEN}}", blue.Listener.Addr().String()).Replace(proxyCmdYAML) +
		"tls:\n  certificates: [{certFile: " + certFile + ", keyFile: " + keyFile + "}]\n"
	if err := os.WriteFile(file, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stderr := newSyncBuffer()
	exited := make(chan int)
	go func() { exited <- execute(ctx, []string{"proxy", "--config", file}, io.Discard, stderr) }()
	addr := stderr.waitFor(t, regexp.MustCompile(`msg="proxy listening" addr=(\S+)`), 1)[1]

	get := func(pool *x509.CertPool) (string, string, error) {
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "site.example"}, ForceAttemptHTTP2: true}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get("https://" + addr + "/x")
		if err != nil {
			return "", "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.Proto, string(b), nil
	}
	if proto, body, err := get(pool); err != nil || proto != "HTTP/2.0" || body != "blue" {
		t.Fatalf("HTTPS: %s %q %v, want HTTP/2.0 blue", proto, body, err)
	}

	pool2 := selfSignedFiles(t, "v2", certFile, keyFile)
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	stderr.waitFor(t, regexp.MustCompile(`msg="config reloaded" trigger=signal`), 1)
	if _, body, err := get(pool2); err != nil || body != "blue" {
		t.Errorf("after rotation and SIGHUP, trusting the new certificate: %q %v", body, err)
	}
	if _, _, err := get(pool); err == nil {
		t.Error("after rotation and SIGHUP the old certificate is still served")
	}

	cancel()
	select {
	case code := <-exited:
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the proxy did not stop after its context was cancelled")
	}
}
