package kong

import "testing"

func TestDump(t *testing.T) {
	res, err := Import(nil, "testdata/kong.yaml")
	if err != nil {
		t.Fatal(err)
	}
	t.Log(res.Scenario("x", "imported", []string{"testdata/kong.yaml"}))
	for _, f := range res.Findings {
		t.Log(f)
	}
}
