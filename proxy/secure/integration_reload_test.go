package secure

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/meshbench/meshbench/proxy"
	"github.com/meshbench/meshbench/proxy/auth"
)

// reloadYAML sends everything to {{TO}}, through an auth middleware, so
// that each reload also rebuilds middlewares.
const reloadYAML = `
routes:
  - name: main
    match: {prefix: /}
    cluster: {{TO}}
    middlewares:
      - name: auth
        params: {type: apiKey, keys: [{name: acme, hash: "{{HASH}}"}]}
      - name: cache
        params: {statusHeader: X-Cache}
clusters:
  - name: blue
    endpoints: [{address: "{{BLUE}}"}]
  - name: green
    endpoints: [{address: "{{GREEN}}"}]
`

// reloadFixture is a proxy loaded from a file whose route can be pointed at
// the blue or the green upstream.
type reloadFixture struct {
	h           *secHarness
	blue, green string
	reloads     chan bool // each reload's outcome: applied or refused
}

func newReloadFixture(t *testing.T) *reloadFixture {
	f := &reloadFixture{blue: upstream(t, named("blue")), green: upstream(t, named("green")), reloads: make(chan bool, 64)}
	f.h = startSecure(t, f.config("blue"), nil, proxy.WithEvents(func(e proxy.Event) {
		if e.Kind == proxy.EventReload {
			select {
			case f.reloads <- e.Up:
			default:
			}
		}
	}))
	return f
}

// reloaded waits for the next reload that was applied (ok) or refused.
func (f *reloadFixture) reloaded(t testing.TB, ok bool) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case up := <-f.reloads:
			if up == ok {
				return
			}
		case <-timeout:
			t.Fatalf("no reload with applied=%v within 10s", ok)
		}
	}
}

func (f *reloadFixture) config(to string) string {
	return fill(reloadYAML, "TO", to, "BLUE", f.blue, "GREEN", f.green, "HASH", auth.HashAPIKey("k"))
}

// write replaces the configuration file atomically, as config managers do.
func (f *reloadFixture) write(t testing.TB, src string) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(f.h.file), ".proxy.yaml.tmp")
	if err := os.WriteFile(tmp, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, f.h.file); err != nil {
		t.Fatal(err)
	}
}

// backend asks which upstream answers now.
func (f *reloadFixture) backend(t testing.TB) string {
	t.Helper()
	resp, body := f.h.get(t, nil, f.h.url+"/who", "X-API-Key", "k")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	return body
}

// TestSecureReloadFileUnderLoad rewrites the configuration file between blue and
// green (and once with a broken file) while workers send requests, applying
// each with ReloadFile as SIGHUP does: no request may fail, the broken file
// is refused, and the last good file is what serves at the end.
func TestSecureReloadFileUnderLoad(t *testing.T) {
	f := newReloadFixture(t)
	const (
		workers  = 6
		maxEach  = 5000 // bound on each worker's requests
		interval = 60   // requests between two reloads
	)
	var failed, done atomic.Int64
	stop := make(chan struct{})
	tick := make(chan struct{}, 1)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range maxEach {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := f.h.client.Get(f.h.url + "/w")
				// Unauthenticated on purpose: the 401 comes from the
				// route's middleware, so it proves a route answered.
				if err != nil {
					failed.Add(1)
					t.Error(err)
				} else {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 401 {
						failed.Add(1)
						t.Errorf("status %d", resp.StatusCode)
					}
				}
				if done.Add(1)%interval == 0 {
					select {
					case tick <- struct{}{}:
					default:
					}
				}
			}
		})
	}
	wg.Go(func() {
		defer close(stop)
		for i := range 8 {
			<-tick // requests are flowing
			to := []string{"green", "blue"}[i%2]
			src := f.config(to)
			wantErr := i == 5
			if wantErr {
				src = strings.Replace(src, "cluster: blue\n", "cluster: nowhere\n", 1)
			}
			f.write(t, src)
			err := f.h.sp.ReloadFile(f.h.file)
			if wantErr != (err != nil) {
				t.Errorf("reload %d: %v", i, err)
			}
		}
		<-tick // and still flow after the last reload
	})
	wg.Wait()
	<-stop
	if failed.Load() != 0 {
		t.Fatalf("%d of %d requests failed during reloads", failed.Load(), done.Load())
	}
	// The last file (i = 7) points at blue; the broken one (i = 5) was refused.
	if got := f.backend(t); got != "blue" {
		t.Fatalf("serving %s after the reloads, want blue", got)
	}
}

// TestWatchFile checks `meshbench proxy`'s reload triggers: a rewrite of
// the file, a SIGHUP, and a broken rewrite that is refused while the
// previous configuration keeps serving.
func TestWatchFile(t *testing.T) {
	f := newReloadFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	hup := make(chan os.Signal, 1)
	wait := f.h.sp.WatchFile(ctx, f.h.file, hup)
	t.Cleanup(func() {
		cancel()
		wait()
	})
	f.write(t, f.config("green"))
	f.reloaded(t, true)
	if got := f.backend(t); got != "green" {
		t.Fatalf("after the file changed: %s, want green", got)
	}

	f.write(t, strings.Replace(f.config("blue"), "prefix: /", "prefix: [", 1))
	f.reloaded(t, false)
	if got := f.backend(t); got != "green" {
		t.Fatalf("after a broken file: %s, want green still", got)
	}

	// SIGHUP re-reads the file: fix it without an event reaching the
	// watcher first, by writing it then sending the signal; either trigger
	// applies it.
	f.write(t, f.config("blue"))
	hup <- syscall.SIGHUP
	f.reloaded(t, true)
	if got := f.backend(t); got != "blue" {
		t.Fatalf("after SIGHUP: %s, want blue", got)
	}
}
