package upstream

import (
	"strings"
	"testing"
)

func TestEndpointValidate(t *testing.T) {
	tests := []struct {
		name string
		e    Endpoint
		want string // substring of the error; "" for none
	}{
		{name: "host and port", e: Endpoint{Address: "127.0.0.1:8080"}},
		{name: "IPv6 literal", e: Endpoint{Address: "[::1]:80", Weight: 3}},
		{name: "no port", e: Endpoint{Address: "nowhere"}, want: `endpoint "nowhere": address:`},
		{name: "no host", e: Endpoint{Address: ":80"}, want: "has no host"},
		{name: "port out of range", e: Endpoint{Address: "a:70000"}, want: `port "70000" is not in 1..65535`},
		{name: "port not a number", e: Endpoint{Address: "a:http"}, want: `port "http"`},
		{name: "negative weight", e: Endpoint{Address: "a:1", Weight: -1}, want: "weight -1 is negative"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.e.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Validate = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
