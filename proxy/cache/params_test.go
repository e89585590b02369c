package cache

import (
	"testing"
	"time"

	"github.com/goccy/go-yaml"
)

func TestConfigFromYAML(t *testing.T) {
	src := "maxBytes: 1048576\nmaxEntryBytes: 65536\ndefaultTtl: 30s\nvary: [Accept-Encoding]\nstatusHeader: X-Cache\n"
	var c Config
	if err := yaml.UnmarshalWithOptions([]byte(src), &c, yaml.DisallowUnknownField()); err != nil {
		t.Fatal(err)
	}
	if c.MaxBytes != 1<<20 || c.MaxEntryBytes != 1<<16 || c.DefaultTTL != 30*time.Second || len(c.Vary) != 1 || c.StatusHeader != "X-Cache" {
		t.Fatalf("decoded %+v", c)
	}
	if _, err := New(c); err != nil {
		t.Fatal(err)
	}
}
