package scenarios

import (
	"testing"
)

func TestImportedLibraryExample(t *testing.T) {
	p, err := Load("library/istio-outlier-proposal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range p.Notes {
		t.Log(n)
	}
	for _, v := range p.Variants {
		t.Logf("%s: %+v %+v %v", v.Name, v.Policy.OutlierDetection, v.Policy.Balancer.Type, v.Weights)
	}
}
