package scenarios

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"
)

// TestSchemaUpToDate regenerates the JSON Schema from the Go types and
// their doc comments and compares it with scenario.schema.json. Run
// go generate ./scenarios (or go test ./scenarios -run TestSchemaUpToDate -update)
// after changing a type.
func TestSchemaUpToDate(t *testing.T) {
	got, err := generateSchema(".")
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile("scenario.schema.json", got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile("scenario.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("scenario.schema.json is stale: run go generate ./scenarios")
	}
	if !bytes.Equal(Schema(), want) {
		t.Fatal("Schema() differs from scenario.schema.json")
	}
}

func TestSchemaShape(t *testing.T) {
	var s struct {
		Ref  string                     `json:"$ref"`
		Defs map[string]json.RawMessage `json:"$defs"`
	}
	if err := json.Unmarshal(Schema(), &s); err != nil {
		t.Fatalf("schema is not JSON: %v", err)
	}
	if s.Ref != "#/$defs/Scenario" {
		t.Errorf("$ref = %q", s.Ref)
	}
	for _, name := range []string{"Scenario", "Duration", "Rate", "Fraction", "DistributionSpec", "Policy", "Target", "Threshold"} {
		if _, ok := s.Defs[name]; !ok {
			t.Errorf("schema lacks $defs/%s", name)
		}
	}
	var scenario struct {
		Required []string `json:"required"`
	}
	if err := json.Unmarshal(s.Defs["Scenario"], &scenario); err != nil {
		t.Fatal(err)
	}
	want := []string{"apiVersion", "kind", "name", "duration", "topology", "load"}
	if len(scenario.Required) != len(want) {
		t.Errorf("required = %v, want %v", scenario.Required, want)
	}
}
