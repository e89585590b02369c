package load

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/bench/consumer"
	"github.com/meshbench/meshbench/bench/fleet"
	"github.com/meshbench/meshbench/scenarios"
)

// Config says what load to offer, where, and where its results go. Whether
// payments carry Idempotency-Keys is each workload's own
// (scenarios.Request.IdempotencyKeys); see OmitsIdempotencyKeys.
type Config struct {
	// Target is the gateway's base URL, "http://127.0.0.1:PORT". Only
	// loopback addresses are accepted, unless AllowRemoteTarget.
	Target string
	// AllowRemoteTarget lets Target be off loopback: a load agent in a
	// cluster (bench/agent) sends to the gateway's Service. Everything
	// else (the local and containers backends, every test) stays on
	// loopback. Requests to a remote target leave from the machine's own
	// address: consumers keep their credentials but not their loopback
	// source addresses, and a workload whose consumers are told apart by
	// source address alone (identity sourceIp) is refused.
	AllowRemoteTarget bool
	// Shard and Shards say this load is shard Shard (0 ≤ Shard < Shards)
	// of a plan split across load agents (bench/agent.ShardPlan divides
	// the rates and user counts): request ids, and with them
	// Idempotency-Keys, carry the shard ("s2-load-1-17") so that they
	// stay unique across shards; open-loop arrival streams are seeded
	// per shard, so shards do not send in lockstep; and the shard's users
	// are users Shard, Shard+Shards, Shard+2·Shards, ... of the whole
	// population (their keys, identities and think-time streams). Shards
	// 0 or 1: the whole load, as without sharding.
	Shard, Shards int
	// Plan holds the workloads (Plan.Load) and the timeline's end.
	Plan *scenarios.Plan
	// Seed seeds the arrival processes, hash keys and think times.
	Seed uint64
	// Attack names the run in the results file ("local/default/0").
	Attack string
	// Epoch is the run's time zero: workloads start at Epoch+Start, and
	// results' Start counts from it. Zero: when Run is called.
	Epoch time.Time
	// Timeout bounds each request on the client side; make it longer than
	// the gateway's own timeouts so that the gateway answers first. Zero:
	// DefaultTimeout.
	Timeout time.Duration
	// Attempts reports the gateway's retries and hedges per request; nil:
	// none are reported.
	Attempts Attempts
	// Sink receives one Result per request, from one goroutine at a time.
	Sink bench.Sink
	// Raw, when not nil, receives each request's vegeta result (Body
	// dropped, a few headers kept) for the results file.
	Raw bench.RawEncoder
	// Transport, when not nil, carries the requests instead of the load's
	// own loopback transport (tests).
	Transport http.RoundTripper

	// clock and maxWorkers replace the wall clock and the workers' bound
	// of open-loop workloads (tests).
	clock      Clock
	maxWorkers uint64
	// asRemote treats a loopback target as a remote one (tests, which
	// stay on loopback).
	asRemote bool
}

// shardStream tells a shard's arrival stream apart from other streams.
const shardStream = 0x7368617264 // "shard"

// grpcConns is how many connections a run's gRPC workloads spread their
// calls over: the load stands for many clients, and one connection's
// stream limit would queue calls in the load generator itself.
const grpcConns = 16

// DefaultTimeout bounds a request when Config.Timeout is zero (vegeta's
// default).
const DefaultTimeout = vegeta.DefaultTimeout

// maxWorkers bounds the goroutines one open-loop workload may have waiting
// on answers: past it, vegeta's attacker waits for a free one and the
// offered rate drops, rather than goroutines piling up without bound.
const maxWorkers = 20000

// Report is what a finished load knows beyond the results.
type Report struct {
	// Acks are the payments answered 2xx, in the order the answers came.
	Acks []fleet.Ack
	// Requests counts the results recorded.
	Requests int64
}

// Run offers every workload of cfg.Plan to cfg.Target and records each
// answer. It returns when every workload's window has ended and its last
// answers have come (each bounded by the timeout), or early when ctx ends;
// requests then in flight are abandoned and not recorded, and Run returns
// ctx.Err() with what was recorded so far.
func Run(ctx context.Context, cfg Config) (Report, error) {
	if cfg.Plan == nil || cfg.Sink == nil {
		return Report{}, errors.New("load: config needs a plan and a sink")
	}
	base, err := baseURL(cfg.Target, cfg.AllowRemoteTarget)
	if err != nil {
		return Report{}, fmt.Errorf("load: %w", err)
	}
	if cfg.Shards > 1 && (cfg.Shard < 0 || cfg.Shard >= cfg.Shards) {
		return Report{}, fmt.Errorf("load: shard %d of %d out of range", cfg.Shard, cfg.Shards)
	}
	remote := !isLoopbackURL(base) || cfg.asRemote
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	clock := cfg.clock
	if clock == nil {
		clock = wallClock{}
	}
	epoch := cfg.Epoch
	if epoch.IsZero() {
		epoch = clock.Now()
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	client, closeIdle := newClient(runCtx, timeout, cfg.Attempts, cfg.Transport, remote)
	defer closeIdle()
	var grpcClient *http.Client // gRPC workloads' calls, streams on shared connections
	if slices.ContainsFunc(cfg.Plan.Load, func(w scenarios.Workload) bool { return w.GRPC() }) {
		gt := fleet.NewGRPCTransport()
		gt.Conns = grpcConns
		defer gt.Close()
		grpcClient, _ = newClient(runCtx, timeout, cfg.Attempts, gt, remote)
	}
	rc := &recorder{ctx: runCtx, epoch: epoch, attack: cfg.Attack, sink: cfg.Sink, raw: cfg.Raw}

	plan := cfg.Plan
	sets := consumer.ForPlan(plan.Load, cfg.Seed)
	if remote {
		for i, w := range plan.Load {
			if sets[i] != nil && sets[i].Identity() == scenarios.IdentitySourceIP {
				return Report{}, fmt.Errorf("load: workload %q: consumers told apart by source address (identity %s) need loopback source addresses, which the remote target %s cannot see; give them an apiKey or jwt identity", w.Name, scenarios.IdentitySourceIP, cfg.Target)
			}
		}
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	for i, w := range plan.Load {
		start := w.Start
		end := plan.Duration
		if w.For > 0 {
			end = min(end, w.Start+w.For)
		}
		if end <= start {
			continue
		}
		q, err := newRequests(w, i, base, cfg.Seed, &rc.created)
		if err != nil {
			return Report{}, fmt.Errorf("load: %w", err)
		}
		if q.who, err = newConsumers(sets[i], &w, &plan.Topology, cfg.Seed, epoch); err != nil {
			return Report{}, fmt.Errorf("load: %w", err)
		}
		if remote && q.who != nil {
			q.who.noSource = true // checked above: not told apart by address alone
		}
		seed := scenarios.ArrivalSeed(cfg.Seed, i)
		if cfg.Shards > 1 {
			q.idPrefix = "s" + strconv.Itoa(cfg.Shard) + "-"
			q.userBase, q.userStride = cfg.Shard, cfg.Shards
			if w.Users == nil {
				// each shard its own arrival stream; users keep the
				// whole population's streams (user u is the same user
				// on whichever shard runs it)
				seed ^= splitmix(uint64(cfg.Shard) + shardStream)
			}
		}
		q.route = bench.RouteOf(plan, w)
		client := client
		if w.GRPC() {
			client = grpcClient
		}
		if w.Users != nil {
			wg.Go(func() {
				if err := runUsers(runCtx, w, q, client, rc, epoch, start, end, seed); err != nil {
					fail(err)
				}
			})
			continue
		}
		pacer, err := NewPacer(w, end-start, seed)
		if err != nil {
			return Report{}, fmt.Errorf("load: %w", err)
		}
		o := &openLoop{
			clock: clock, epoch: epoch, start: start, end: end, timeout: timeout,
			pacer: pacer, q: q, client: client, rc: rc,
			maxWorkers: openWorkers(w, pacer, timeout),
		}
		if cfg.maxWorkers > 0 {
			o.maxWorkers = cfg.maxWorkers
		}
		wg.Go(func() { o.run(runCtx) })
	}
	wg.Wait()

	rc.mu.Lock()
	rep := Report{Acks: rc.acks, Requests: rc.recorded}
	rawErr := rc.rawErr
	rc.mu.Unlock()
	if rawErr != nil {
		errs = append(errs, rawErr)
	}
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	return rep, errors.Join(errs...)
}
