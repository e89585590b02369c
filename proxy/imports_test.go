package proxy

import (
	"go/build"
	"strings"
	"testing"
)

// TestCoreImportsNoSecurityPackages keeps the security layer out of the
// core: proxy/secure plugs proxy/mtls, proxy/auth, proxy/fault,
// proxy/cache and the access and quota guards in through the hooks, so the core's own sources import none
// of them.
func TestCoreImportsNoSecurityPackages(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range pkg.Imports { // non-test sources only
		switch strings.TrimPrefix(path, "github.com/meshbench/meshbench/") {
		case "proxy/mtls", "proxy/auth", "proxy/fault", "proxy/cache", "proxy/guard", "proxy/access", "proxy/quota":
			t.Errorf("the core imports %s; that belongs in proxy/secure", path)
		}
	}
}
