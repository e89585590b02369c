package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/meshbench/meshbench/bench"
)

func TestServeFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"every interface", []string{"--serve", ":8080"}, `--serve ":8080" listens on every interface: not a loopback address`},
		{"wildcard", []string{"--serve", "0.0.0.0:0"}, "pass --serve-allow-remote to listen there anyway"},
		{"no port", []string{"--serve", "127.0.0.1"}, `--serve: "127.0.0.1" is not a host:port address`},
		{"exit without serve", []string{"--serve-exit"}, "--serve-allow-remote, --serve-exit and --serve-pace need --serve HOST:PORT"},
		{"negative pace", []string{"--serve", "127.0.0.1:0", "--serve-pace", "-1"}, "--serve-pace must be 0 or more, got -1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"run", "retry-storm", "--backend", "sim", "--out", t.TempDir()}, tc.args...)
			code, _, errOut := cli(t, context.Background(), args...)
			if code != exitUsage || !strings.Contains(errOut, tc.want) {
				t.Fatalf("exit %d, stderr %q; want exit 2 and %q", code, errOut, tc.want)
			}
		})
	}
}

// TestServeExit checks that --serve-exit ends the command with the run,
// after printing the dashboard's address.
func TestServeExit(t *testing.T) {
	code, out, errOut := cli(t, context.Background(), "run", "retry-storm", "--backend", "sim", "--variant", "with-budget", "--duration", "2s",
		"--serve", "127.0.0.1:0", "--serve-exit", "--out", t.TempDir())
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.HasPrefix(errOut, "dashboard: http://127.0.0.1:") || strings.Contains(errOut, "serving until Ctrl-C") {
		t.Errorf("stderr %q", errOut)
	}
	if !strings.Contains(out, "run folder: ") {
		t.Errorf("stdout %q", out)
	}
}

func TestProgressNamesTheRunsUnderWay(t *testing.T) {
	plan, _, err := loadScenario("hedging-tail")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		opts    bench.RunOptions
		elapsed map[int]time.Duration // by job
		want    string
	}{
		{"nothing yet", bench.RunOptions{Backends: []string{"sim"}}, nil, "running [0/3]"},
		{"two under way", bench.RunOptions{Backends: []string{"sim"}}, map[int]time.Duration{0: plan.Duration, 1: time.Second, 2: 2 * time.Second},
			"sim hedge-10ms, sim hedge-p95 [1/3 done]"},
		{"repeats", bench.RunOptions{Backends: []string{"sim"}, Variants: []string{"hedge-p95"}, Repeat: 3}, map[int]time.Duration{1: time.Second},
			"sim hedge-p95 repeat 1 [0/3 done]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			jobs, backends, err := bench.Jobs(plan, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			p := newProgress(nil, jobs, backends)
			for i, e := range tc.elapsed {
				p.elapsed[i] = e
			}
			if got := p.describe(); got != tc.want {
				t.Errorf("describe() = %q, want %q", got, tc.want)
			}
		})
	}
}
