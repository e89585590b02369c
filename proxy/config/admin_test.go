package config

import (
	"strings"
	"testing"
)

func TestValidateAdminAccess(t *testing.T) {
	base := func(admin string, acc AdminAccessConfig) Config {
		return Config{Mode: ModeSidecar, Admin: admin, AdminAccess: acc}
	}
	digest := strings.Repeat("0f", 32)
	token := AdminAccessConfig{Tokens: []AdminTokenConfig{{Name: "fleet", SHA256: digest}}}
	tests := []struct {
		name string
		cfg  Config
		want []string
	}{
		{name: "open on loopback", cfg: base("127.0.0.1:9901", AdminAccessConfig{})},
		{name: "open on localhost", cfg: base("localhost:9901", AdminAccessConfig{})},
		{name: "open on ::1", cfg: base("[::1]:9901", AdminAccessConfig{})},
		{name: "open on 127.0.0.2", cfg: base("127.0.0.2:9901", AdminAccessConfig{})},
		{name: "open on a host name: the proxy checks the bound address", cfg: base("admin.internal:9901", AdminAccessConfig{})},
		{name: "open on every interface", cfg: base(":9901", AdminAccessConfig{}),
			want: []string{`admin: ":9901" is not a loopback address and the admin listener has no access control: configure adminAccess`}},
		{name: "open on 0.0.0.0", cfg: base("0.0.0.0:9901", AdminAccessConfig{}), want: []string{`admin: "0.0.0.0:9901" is not a loopback address`}},
		{name: "open on a LAN address", cfg: base("10.0.0.7:9901", AdminAccessConfig{}), want: []string{`admin: "10.0.0.7:9901" is not a loopback address`}},
		{name: "tokens allow any address", cfg: base("0.0.0.0:9901", token)},
		{name: "peers allow any address", cfg: base("0.0.0.0:9901", AdminAccessConfig{AllowSpiffeIDs: []string{"spiffe://mesh.local/*"}})},
		{name: "no admin listener", cfg: base("", AdminAccessConfig{})},
		{name: "bad tokens", cfg: base("127.0.0.1:9901", AdminAccessConfig{Tokens: []AdminTokenConfig{
			{SHA256: digest},
			{Name: "a", SHA256: "abc"},
			{Name: "a", SHA256: digest},
			{Name: "b"},
			{Name: "c", SHA256: digest, File: "/run/token"},
			{Name: "d", SHA256: strings.Repeat("zz", 32)},
		}}), want: []string{
			"adminAccess.tokens[0].name: token name is required",
			"adminAccess.tokens[1].sha256: want the 64 hex digits of a SHA-256 digest",
			`adminAccess.tokens[2].name: duplicate token "a"`,
			"adminAccess.tokens[3]: a token needs sha256 or file",
			"adminAccess.tokens[4]: set sha256 or file, not both",
			"adminAccess.tokens[5].sha256: ",
		}},
		{name: "bad peer patterns", cfg: base("127.0.0.1:9901", AdminAccessConfig{AllowSpiffeIDs: []string{"", "mesh.local/x", "*/sa/ops"}}),
			want: []string{`adminAccess.allowSpiffeIds[0]: pattern "": must start with spiffe:// or *`,
				`adminAccess.allowSpiffeIds[1]: pattern "mesh.local/x"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkErrors(t, Validate(tc.cfg), tc.want)
		})
	}
}

// TestLoadAdminAccess: the keys as a file spells them, and a non-loopback
// admin address refused at its line.
func TestLoadAdminAccess(t *testing.T) {
	cfg, err := Parse("admin.yaml", []byte(`mode: sidecar
admin: 0.0.0.0:9901
adminAccess:
  tokens:
    - name: fleet
      sha256: `+strings.Repeat("0f", 32)+`
    - name: ops
      file: /run/secrets/ops-token
  allowSpiffeIds: ["spiffe://mesh.local/ns/ops/*"]
`))
	if err != nil {
		t.Fatal(err)
	}
	if a := cfg.AdminAccess; len(a.Tokens) != 2 || a.Tokens[1].File != "/run/secrets/ops-token" || a.AllowSpiffeIDs[0] != "spiffe://mesh.local/ns/ops/*" {
		t.Errorf("adminAccess %+v", a)
	}
	_, err = Parse("admin.yaml", []byte("mode: sidecar\nadmin: 0.0.0.0:9901\n"))
	if err == nil || !strings.Contains(err.Error(), "admin.yaml:2:") || !strings.Contains(err.Error(), "admin: ") {
		t.Errorf("open non-loopback admin: %v", err)
	}
}
