package local

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Shopify/toxiproxy/v2/stream"
	"github.com/Shopify/toxiproxy/v2/toxics"

	"github.com/meshbench/meshbench/bench/fleet"
	"github.com/meshbench/meshbench/scenarios"
)

// delayToxicType is the toxiproxy toxic type of delayToxic.
const delayToxicType = "meshbench_delay"

func init() { toxics.Register(delayToxicType, new(delayToxic)) }

// flushGrace bounds how long a delay toxic waits, past the release time of
// the last chunk it holds, to hand on what it holds when its connection is
// closing or its chain is being changed. A live writer takes a chunk at
// once; only a writer that has stopped makes the toxic wait this long.
const flushGrace = 200 * time.Millisecond

// closeDelay bounds how long a closing connection's chunks still wait out
// their delays.
const closeDelay = 250 * time.Millisecond

// delayToxic delays every chunk of a toxiproxy link by a draw from a
// scenario distribution (Dist, in the fleet's distribution syntax; empty:
// no delay), keeping the chunks in order as TCP does: a chunk is released
// no earlier than the one before it.
//
// It replaces toxiproxy's latency toxic for two reasons. It samples the
// scenario's own distribution, to the nanosecond, where the built-in toxic
// adds whole milliseconds ± a uniform jitter. And it never blocks without
// also watching its input: toxiproxy's built-in stages block on handing a
// chunk to the link's writer, so when the writer stops (its connection
// died with data in flight) they wait forever, a goroutine leaked per
// connection. Every link therefore ends with a delayToxic in each
// direction (with no delay when the hop has none), which keeps reading
// while it waits, so the stages before it never block, and which ends
// when its input ends, after at most flushTimeout per chunk it holds.
type delayToxic struct {
	Dist string  `json:"dist"`
	Loss float64 `json:"loss"` // the hop's loss probability (see lose)
	Net  uint64  `json:"net"`  // the network, to count the toxic's work

	once sync.Once
	d    scenarios.Distribution
}

// delayStreams numbers the streams of the delay toxics' states.
var delayStreams atomic.Uint64

// delayState is a link's own random stream, and whether the link has
// lost a message (from then on it drops everything).
type delayState struct {
	rng  *rand.Rand
	lost bool
}

// NewState gives each link its own stream.
func (t *delayToxic) NewState() any {
	return &delayState{rng: rand.New(rand.NewPCG(0x64656c6179, delayStreams.Add(1)))}
}

// GetBufferSize lets the stage before it hand chunks on without waiting.
func (t *delayToxic) GetBufferSize() int { return 1024 }

func (t *delayToxic) dist() scenarios.Distribution {
	t.once.Do(func() {
		if t.Dist == "" {
			return
		}
		spec, err := fleet.ParseDistribution(t.Dist)
		if err != nil {
			return
		}
		t.d, _ = spec.Build()
	})
	return t.d
}

// delayed is a chunk and when it may go.
type delayed struct {
	c  *stream.StreamChunk
	at time.Time
}

// Pipe moves chunks from the stub's input to its output, each after its
// delay.
func (t *delayToxic) Pipe(stub *toxics.ToxicStub) {
	if n := networkByID(t.Net); n != nil {
		n.pipes.Add(1)
		defer n.pipes.Add(-1)
	}
	d := t.dist()
	st, ok := stub.State.(*delayState)
	if !ok {
		st = t.NewState().(*delayState)
	}
	rng := st.rng
	var (
		queue []delayed
		last  time.Time
		timer *time.Timer
	)
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		var (
			out   chan<- *stream.StreamChunk
			head  *stream.StreamChunk
			alarm <-chan time.Time
		)
		if len(queue) > 0 {
			if wait := time.Until(queue[0].at); wait <= 0 {
				out, head = stub.Output, queue[0].c
			} else {
				if timer == nil {
					timer = time.NewTimer(wait)
				} else {
					timer.Reset(wait)
				}
				alarm = timer.C
			}
		}
		select {
		case <-stub.Interrupt:
			// The chain is changing: hand on what is held at once.
			flush(stub, queue, false)
			return
		case c := <-stub.Input:
			if c == nil {
				flush(stub, queue, true)
				stub.Close()
				return
			}
			if t.lose(st) {
				continue
			}
			at := c.Timestamp
			if d != nil {
				at = at.Add(max(d.Sample(rng), 0))
			}
			if at.Before(last) {
				at = last
			}
			last = at
			queue = append(queue, delayed{c, at})
		case out <- head:
			queue = queue[1:]
		case <-alarm:
		}
	}
}

// lose reports whether the chunk just read is lost, as the simulator loses
// a message on a hop (sim/network.go): each message that crosses the hop,
// request or answer, is lost with probability Loss, and its caller finds
// out by its own timeouts. A chunk is one write of the sender, which for
// HTTP/1.1 is a whole request or answer of the fleet's size; once one is
// lost, the connection drops everything after it in this direction, held
// open (a connection that lost a request in the middle of a stream cannot
// carry the next one), until its caller gives up and closes it.
func (t *delayToxic) lose(st *delayState) bool {
	if st.lost {
		return true
	}
	if t.Loss > 0 && st.rng.Float64() < t.Loss {
		st.lost = true
	}
	return st.lost
}

// flush hands on the chunks held: when wait is set, on time but waiting at
// most closeDelay in all (the connection is closing, and the end of a run
// must not wait for a long draw); then giving up flushGrace later. What
// cannot be handed on by then is dropped, as its connection is going away.
func flush(stub *toxics.ToxicStub, queue []delayed, wait bool) {
	if len(queue) == 0 {
		return
	}
	now := time.Now()
	latest := now
	if wait {
		latest = earliest(queue[len(queue)-1].at, now.Add(closeDelay))
	}
	giveUp := time.NewTimer(time.Until(latest) + flushGrace)
	defer giveUp.Stop()
	for _, q := range queue {
		if wait {
			if d := time.Until(earliest(q.at, latest)); d > 0 {
				due := time.NewTimer(d)
				select {
				case <-due.C:
				case <-giveUp.C:
					due.Stop()
					return
				}
			}
		}
		select {
		case stub.Output <- q.c:
		case <-giveUp.C:
			return
		}
	}
}

func earliest(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// delayToxicFor is a delay toxic drawing from spec (nil: no delay) that
// loses messages with probability loss.
func delayToxicFor(name, stream string, spec *scenarios.DistributionSpec, loss float64) toxic {
	attrs := map[string]any{"dist": "", "loss": loss}
	if spec != nil {
		attrs["dist"] = fleet.FormatDistribution(*spec)
	}
	return toxic{Name: name, Type: delayToxicType, Stream: stream, Attributes: attrs}
}

// checkDelay reports whether spec round-trips through the fleet's
// distribution syntax, as the toxic reads it.
func checkDelay(spec scenarios.DistributionSpec) error {
	parsed, err := fleet.ParseDistribution(fleet.FormatDistribution(spec))
	if err != nil {
		return fmt.Errorf("latency %v: %w", spec, err)
	}
	if _, err := parsed.Build(); err != nil {
		return fmt.Errorf("latency %v: %w", spec, err)
	}
	return nil
}
