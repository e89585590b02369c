package scenarios

import (
	"strings"
	"testing"
)

// minimal is the smallest valid scenario; tests append keys to it.
const minimal = `apiVersion: meshbench/v1
kind: Scenario
name: minimal
duration: 60s
topology:
  gateway:
    routes: [{name: pay, service: payments}]
  services:
    - {name: payments, replicas: 2, serviceTime: 5ms}
load:
  - target: {path: /v1/payments}
    rate: 100/s
`

// mustLoad loads src or fails the test with every issue.
func mustLoad(t testing.TB, src string) *Plan {
	t.Helper()
	p, err := LoadBytes("test.yaml", []byte(src))
	if err != nil {
		t.Fatalf("load:\n%v\n--- source\n%s", err, numbered(src))
	}
	return p
}

func numbered(src string) string {
	lines := strings.Split(src, "\n")
	for i := range lines {
		lines[i] = strings.Repeat(" ", 3-len(itoa(i+1))) + itoa(i+1) + "  " + lines[i]
	}
	return strings.Join(lines, "\n")
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}
