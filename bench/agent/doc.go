// Package agent runs a scenario's load from several machines at once and
// merges what they measure exactly: load agents (Server, `meshbench agent`)
// each offer a shard of every workload (ShardPlan) to a gateway, aggregate
// their own results, and stream Partial aggregates back to the controller
// (Drive), which merges them into the run's sink (bench.Merger). The
// merged summary is the one a single aggregator fed every agent's results
// would give: counts add, and HDR histograms of one configuration merge
// bucket for bucket.
//
// # Protocol
//
// An agent serves plain HTTP:
//
//	GET  /healthz        200 "ok"
//	GET  /v1/clock       {"unix_ns": N}: the agent's wall clock, for Cristian's algorithm
//	POST /v1/run         a StartRequest; the answer streams Frames, one JSON object per line
//	POST /v1/stop?id=ID  ends run ID's load early; its stream still ends with what was measured
//
// A run's stream opens with a clock frame (the agent's clock when the
// request arrived and when it answered, and the epoch it will start at in
// its own clock), then carries a partial frame every Interval (the
// aggregate of the results recorded since the previous one, and how far
// through the timeline the agent is), and ends with a final frame: the
// payments acknowledged (for the ledger audit), the number of requests,
// how far the load got, and the error if it failed.
//
// # Clocks
//
// The agents must start together, at the epoch the controller sets a few
// seconds ahead (StartLead), although their clocks differ from the
// controller's. Drive estimates each agent's offset by Cristian's
// algorithm: it reads the agent's clock (GET /v1/clock) a few times, and
// for the reading whose round trip was shortest takes the agent's time to
// stand for the midpoint of the round trip; the error is at most half
// that round trip. The offset goes to the agent in its StartRequest
// (ClockOffset), and the agent starts at Epoch + ClockOffset in its own
// clock; results' start times count from there, so every agent's time
// buckets are the controller's. docs/agents.md has more.
package agent
