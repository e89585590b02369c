package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/spf13/cobra"

	"github.com/meshbench/meshbench/bench/agent"
)

func init() { register(newAgentCmd) }

func newAgentCmd() *cobra.Command {
	var listen string
	var targets []string
	cmd := &cobra.Command{
		Use:   "agent --listen ADDR",
		Short: "Serve as a load agent: offer a shard of a run's load and stream what it measures",
		Long: `agent serves one machine's share of a distributed run's load (see
docs/agents.md). A controller (the kubernetes backend) sends it a run: the
variant's plan, its shard of every workload, the gateway to send to, and an
epoch in the controller's clock together with the agent's clock offset,
estimated by Cristian's algorithm. The agent starts at that epoch, offers its
shard, and streams back a partial aggregate (counts and HDR histograms) every
interval and, at the end, the payments acknowledged for the ledger audit; the
controller merges the agents' aggregates exactly.

Endpoints: GET /healthz, GET /v1/clock, POST /v1/run, POST /v1/stop?id=ID.
One run at a time. The agent sends load to loopback and to the targets given
with --allow-target only (an agent in a cluster: the run's gateway Service),
so that an agent others can reach is no open load generator. It serves until SIGINT or SIGTERM; a run in progress is stopped
and its stream ends with what was measured.`,
		Example: `  meshbench agent --listen 127.0.0.1:9090
  meshbench agent --listen :9090 --allow-target http://gateway.meshbench-run.svc:8080`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if listen == "" {
				return usageErr(errors.New("agent: --listen is required"))
			}
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return usageErr(fmt.Errorf("agent: --listen %s: %w", listen, err))
			}
			fmt.Fprintf(cmd.OutOrStdout(), "meshbench agent listening on %s\n", ln.Addr())
			for _, t := range targets {
				if u, err := url.Parse(t); err != nil || u.Scheme != "http" || u.Host == "" || u.Port() == "" {
					return usageErr(fmt.Errorf("agent: --allow-target %q: want http://HOST:PORT", t))
				}
			}
			return serveAgent(cmd.Context(), ln, agent.NewServer(agent.ServerOptions{Targets: targets}))
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&listen, "listen", "", "`ADDR` to listen on (host:port; :9090 for every interface)")
	fl.StringArrayVar(&targets, "allow-target", nil, "a gateway off loopback runs may send load to, as http://HOST:PORT (repeatable; an agent in a cluster: the run's gateway Service)")
	return cmd
}

// serveAgent serves h on ln until ctx ends, then shuts down: a run in
// progress is stopped (its request's context ends) and its stream ends
// with what was measured, within agentShutdown.
func serveAgent(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("agent: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), agentShutdown)
	defer cancel()
	err := srv.Shutdown(sctx)
	<-errc
	if err != nil {
		return fmt.Errorf("agent: shutdown: %w", err)
	}
	return nil
}

// agentShutdown bounds how long the agent waits for a stopped run's
// stream to end.
const agentShutdown = 10 * time.Second
