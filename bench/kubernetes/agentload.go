package kubernetes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/bench/agent"
)

func init() { DefaultLoad = agentLoad }

// agentLoad offers the load from the agents with bench/agent: each agent
// a shard of every workload, started together at req.Epoch (each on its
// own clock, corrected by the offset Drive estimates; docs/agents.md), its
// partial aggregates merged exactly into sink, which must be a
// bench.Merger (every sink bench.Run hands a backend is).
func agentLoad(ctx context.Context, agents []Agent, req LoadRequest, sink bench.Sink, progress func(time.Duration)) (LoadResult, error) {
	into, ok := sink.(bench.Merger)
	if !ok {
		return LoadResult{}, fmt.Errorf("the run's sink (%T) cannot merge the agents' partial aggregates (bench.Merger)", sink)
	}
	plan, err := json.Marshal(req.Plan)
	if err != nil {
		return LoadResult{}, fmt.Errorf("encode the plan for the agents: %w", err)
	}
	eps := make([]agent.Endpoint, len(agents))
	for i, a := range agents {
		eps[i] = agent.Endpoint{Name: a.Name, BaseURL: a.BaseURL, Client: a.Client}
	}
	rep, err := agent.Drive(ctx, eps, agent.StartRequest{
		Plan:    plan,
		Variant: req.Variant,
		Seed:    req.Seed,
		Target:  req.Target,
		Epoch:   req.Epoch,
		Timeout: req.Timeout,
	}, into, progress)
	res := LoadResult{Acks: rep.Acks, End: rep.End}
	if err != nil && !errors.Is(err, context.Canceled) {
		return res, fmt.Errorf("load agents: %w", err)
	}
	return res, err
}
