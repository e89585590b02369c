package config

import (
	"errors"
	"testing"
)

func TestUnder(t *testing.T) {
	inner := errors.New("bad")
	joined := errors.Join(
		&ConfigError{Path: "balancer", Err: inner},
		&ConfigError{Path: "", Err: inner},
		&ConfigError{Path: "[1].weight", Err: inner},
		errors.New("plain"),
	)
	checkErrors(t, Under("clusters[2]", joined), []string{
		"clusters[2].balancer: bad", "clusters[2]: bad", "clusters[2][1].weight: bad", "clusters[2]: plain",
	})
	if got := joined.(interface{ Unwrap() []error }).Unwrap()[0].(*ConfigError).Path; got != "balancer" {
		t.Errorf("Under changed its input: path %q", got)
	}
	if Under("x", nil) != nil {
		t.Error("Under(x, nil) is not nil")
	}
	if err := Under("a", Under("b", &ConfigError{Path: "c", Err: inner})); err.Error() != "a.b.c: bad" || !errors.Is(err, inner) {
		t.Errorf("nested Under = %v", err)
	}
}
