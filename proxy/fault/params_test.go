package fault

import (
	"testing"
	"time"

	"github.com/goccy/go-yaml"
)

func TestConfigFromYAML(t *testing.T) {
	src := "delay: {fixed: 250ms, percentage: 10}\nabort: {status: 503, percentage: 0.5}\nmatch: {name: x-chaos}\nmaxActive: 100\n"
	var c Config
	if err := yaml.UnmarshalWithOptions([]byte(src), &c, yaml.DisallowUnknownField()); err != nil {
		t.Fatal(err)
	}
	if c.Delay.Fixed != 250*time.Millisecond || c.Delay.Percentage != 10 || c.Abort.Status != 503 ||
		c.Abort.Percentage != 0.5 || c.Match.Name != "x-chaos" || c.MaxActive != 100 {
		t.Fatalf("decoded %+v", c)
	}
	if _, err := New(c, seeded(1)); err != nil {
		t.Fatal(err)
	}
}
