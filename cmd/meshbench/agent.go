package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/meshbench/meshbench/bench/agent"
)

func init() { register(newAgentCmd) }

func newAgentCmd() *cobra.Command {
	var listen string
	var remote bool
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
One run at a time. The agent sends load only to loopback unless started with
--allow-remote-targets (an agent in a cluster sending to the gateway's
Service). It serves until SIGINT or SIGTERM; a run in progress is stopped
and its stream ends with what was measured.`,
		Example: `  meshbench agent --listen 127.0.0.1:9090
  meshbench agent --listen :9090 --allow-remote-targets`,
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
			return serveAgent(cmd.Context(), ln, agent.NewServer(agent.ServerOptions{AllowRemoteTargets: remote}))
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&listen, "listen", "", "`ADDR` to listen on (host:port; :9090 for every interface)")
	fl.BoolVar(&remote, "allow-remote-targets", false, "let runs send load to gateways off loopback (an agent in a cluster)")
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
