package istio

import (
	"testing"
)

func TestDump(t *testing.T) {
	res, err := Import([]string{"testdata/mesh"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(res.Scenario("x", "imported", []string{"testdata/mesh"}))
	for _, f := range res.Findings {
		t.Log(f)
	}
}
