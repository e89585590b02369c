package scenarios

import "testing"

func TestMatcher(t *testing.T) {
	req := Request{Method: "POST", Path: "/v1/payments/42?expand=1", Host: "api.example.com",
		Headers: map[string]string{"X-Tenant": "acme", "Content-Type": "application/json"}}
	for _, tc := range []struct {
		name  string
		match Match
		want  bool
	}{
		{"empty matches all", Match{}, true},
		{"prefix", Match{PathPrefix: "/v1/payments"}, true},
		{"prefix miss", Match{PathPrefix: "/v2"}, false},
		{"exact ignores query", Match{Path: "/v1/payments/42"}, true},
		{"exact miss", Match{Path: "/v1/payments"}, false},
		{"regex whole path", Match{PathRegex: `/v1/payments/[0-9]+`}, true},
		{"regex partial is a miss", Match{PathRegex: `/v1/payments`}, false},
		{"method", Match{PathPrefix: "/", Method: "POST"}, true},
		{"method miss", Match{PathPrefix: "/", Method: "GET"}, false},
		{"host case-insensitive", Match{Host: "API.example.com"}, true},
		{"host miss", Match{Host: "other"}, false},
		{"header case-insensitive name", Match{Headers: map[string]string{"x-tenant": "acme"}}, true},
		{"header value exact", Match{Headers: map[string]string{"X-Tenant": "ACME"}}, false},
		{"header absent", Match{Headers: map[string]string{"X-Debug": "1"}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mt, err := tc.match.Compile()
			if err != nil {
				t.Fatal(err)
			}
			if got := mt.Matches(req); got != tc.want {
				t.Fatalf("Matches = %v, want %v", got, tc.want)
			}
		})
	}
	get, _ := Match{Method: "GET"}.Compile()
	if !get.Matches(Request{}) {
		t.Error("a request without a method is a GET to /")
	}
	if _, err := (Match{PathRegex: "("}).Compile(); err == nil {
		t.Error("an invalid pathRegex compiled")
	}
}
