package load

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/meshbench/meshbench/bench/dataplane"
	"github.com/meshbench/meshbench/bench/fleet"
	"github.com/meshbench/meshbench/scenarios"
)

// Headers the load generator adds to every request, beside the payment
// headers of the fleet (fleet.HeaderIdempotencyKey,
// fleet.HeaderClientPaymentID).
const (
	// HeaderKey carries the request's hash key, the scenario's keySpace
	// key, which the data plane's hash balancers hash when the policy
	// names no hash key of their own (dataplane.HeaderKey).
	HeaderKey = dataplane.HeaderKey
	// HeaderClient names the client behind the request, as the
	// simulator's keyed rate limits see it: the user, or the hash key of an
	// open-loop request, or the workload when requests carry no key
	// (dataplane.HeaderClient).
	HeaderClient = dataplane.HeaderClient
	// HeaderRequestID is the proxy's request id, unique per request here.
	HeaderRequestID = "X-Request-Id"
)

// Headers the client transport adds to answers, for Convert: what the
// gateway reported about the request's tries, and the client payment id
// the request was sent with.
const (
	headerRetries  = "X-Meshbench-Load-Retries"
	headerHedges   = "X-Meshbench-Load-Hedges"
	headerClientID = "X-Meshbench-Load-Client-Payment-Id"
)

// paymentPath is the payments API; a POST there is a payment.
const paymentPath = "/v1/payments"

// IsPayment reports whether a workload's requests create payments: a POST
// to /v1/payments.
func IsPayment(r scenarios.Request) bool {
	return strings.EqualFold(r.Method, http.MethodPost) && strings.TrimSuffix(r.Path, "/") == paymentPath
}

// OmitsIdempotencyKeys reports whether some workload of plan sends
// payments without an Idempotency-Key (target.idempotencyKeys: false).
// The fleet's payments must then accept them (fleet.Config's
// OptionalIdempotencyKey), and it gives each request a key of its own, so
// that a retry is a new payment, as it is against such clients. Give it
// the variant's plan (bench.Job.Plan).
func OmitsIdempotencyKeys(plan *scenarios.Plan) bool {
	for _, w := range plan.Load {
		if IsPayment(w.Target) && !w.Target.IdempotencyKeys {
			return true
		}
	}
	return false
}

// requests builds the requests of one workload: the workload's target plus
// the per-request headers of the package documentation.
type requests struct {
	name     string
	method   string
	url      string
	host     string
	header   http.Header // the workload's own headers, canonical
	body     []byte      // the workload's body (non-payments)
	keySpace int
	seed     uint64
	index    int // the workload's index in the plan: a stream of its own

	payment  bool
	omitKeys bool   // send no Idempotency-Key
	ownKey   bool   // the workload sets Idempotency-Key itself
	payHead  string // the payment body's JSON up to the card token
	payTail  string // and after it

	lookup  bool             // the path names a created payment (scenarios.PaymentPlaceholder)
	created *createdPayments // where lookups draw it from; nil: none known

	who *consumers // who sends each request; nil: one anonymous client
	// idPrefix is put before every request id (a shard's, Config.Shard).
	idPrefix string
	// userBase and userStride map a user of this load to the whole
	// population's: user u is user userBase + u·userStride (a shard's
	// users; 0 and 0 or 1: the identity).
	userBase, userStride int
	route                string // the gateway route the requests match (bench.RouteOf), for the results
}

// meta describes a request of the workload for the recorder; lag is an
// open-loop request's schedule lag.
func (q *requests) meta(scheduled bool, lag time.Duration) resultMeta {
	return resultMeta{payment: q.payment, workload: q.name, route: q.route, scheduled: scheduled, lag: lag}
}

// newRequests prepares the requests of workload w (number index in the
// plan) against the gateway at base ("http://127.0.0.1:PORT"). Lookups of
// created payments draw their ids from created.
func newRequests(w scenarios.Workload, index int, base string, seed uint64, created *createdPayments) (*requests, error) {
	method := w.Target.Method
	if method == "" {
		method = http.MethodGet
	}
	q := &requests{
		name:     w.Name,
		method:   method,
		url:      strings.TrimSuffix(base, "/") + w.Target.Path,
		host:     w.Target.Host,
		header:   http.Header{},
		body:     []byte(w.Target.Body),
		keySpace: w.Target.KeySpace,
		seed:     seed,
		index:    index,
		payment:  IsPayment(w.Target),
		omitKeys: !w.Target.IdempotencyKeys,
		lookup:   strings.Contains(w.Target.Path, scenarios.PaymentPlaceholder),
		created:  created,
	}
	for k, v := range w.Target.Headers {
		q.header.Set(k, v)
	}
	if q.payment {
		q.ownKey = q.header.Get(fleet.HeaderIdempotencyKey) != ""
		head, tail, err := paymentTemplate(w.Target.Body, w.Name)
		if err != nil {
			return nil, fmt.Errorf("workload %q: %w", w.Name, err)
		}
		q.payHead, q.payTail = head, tail
	}
	return q, nil
}

// paymentTemplate completes a workload's payment body: the fields it gives
// are kept as they are (unknown ones too, which payments refuses with 422,
// as it should), and the required ones it leaves out are filled in: amount
// 1299, currency EUR, merchant "merchant-<workload>". The card token is
// per request (per hash key), so the body is returned in two halves around
// it; a body that sets cardToken keeps its own and the halves hold it all.
func paymentTemplate(body, name string) (head, tail string, err error) {
	fields := map[string]json.RawMessage{}
	if strings.TrimSpace(body) != "" {
		dec := json.NewDecoder(strings.NewReader(body))
		dec.UseNumber()
		if err := dec.Decode(&fields); err != nil {
			return "", "", fmt.Errorf("payment body is not a JSON object: %w", err)
		}
	}
	def := map[string]any{"amount": 1299, "currency": "EUR", "merchant": "merchant-" + name}
	for k, v := range def {
		if _, ok := fields[k]; !ok {
			raw, _ := json.Marshal(v)
			fields[k] = raw
		}
	}
	_, ownToken := fields["cardToken"]
	delete(fields, "clientPaymentId") // the header carries it, fresh per request
	raw, err := json.Marshal(fields)
	if err != nil {
		return "", "", fmt.Errorf("payment body: %w", err)
	}
	if ownToken {
		return string(raw), "", nil
	}
	// {"amount":...} → {"cardToken":"tok_KEY","amount":...}
	return `{"cardToken":"tok_`, `",` + string(raw[1:]), nil
}

// target fills t with request seq of the workload, with hash key key and
// client identity client.
func (q *requests) target(t *vegeta.Target, id string, key uint64, client string) {
	id = q.idPrefix + id
	t.Method, t.URL = q.method, q.url
	if q.lookup {
		t.URL = strings.ReplaceAll(q.url, scenarios.PaymentPlaceholder, q.created.pick(q.seed^hashID(id)))
	}
	h := make(http.Header, len(q.header)+6)
	for k, v := range q.header {
		h[k] = v
	}
	if q.host != "" {
		h.Set("Host", q.host)
	}
	keyText := strconv.FormatUint(key, 10)
	h.Set(HeaderRequestID, id)
	h.Set(HeaderKey, keyText)
	h.Set(HeaderClient, client)
	t.Body = q.body
	if q.payment {
		if !q.omitKeys && !q.ownKey {
			h.Set(fleet.HeaderIdempotencyKey, id)
		}
		h.Set(fleet.HeaderClientPaymentID, id)
		if h.Get("Content-Type") == "" {
			h.Set("Content-Type", "application/json")
		}
		if q.payTail == "" {
			t.Body = []byte(q.payHead)
		} else {
			var b bytes.Buffer
			b.Grow(len(q.payHead) + len(keyText) + len(q.payTail))
			b.WriteString(q.payHead)
			b.WriteString(keyText)
			b.WriteString(q.payTail)
			t.Body = b.Bytes()
		}
	}
	t.Header = h
}

// unknownPayment is the id a lookup names before any payment of the run
// has been acknowledged: one the fleet never issues, answered 404.
const unknownPayment = "pay_none-yet"

// createdPayments are the payments the run's clients saw acknowledged
// (answered 2xx with a Location), which lookups of created payments
// (scenarios.PaymentPlaceholder) draw from, as a client checks the status
// of a payment it made. It is safe for concurrent use.
type createdPayments struct {
	mu  sync.RWMutex
	ids []string
}

// add remembers a payment from the Location of its answer
// ("/v1/payments/ID"); other locations are ignored.
func (c *createdPayments) add(location string) {
	id, ok := strings.CutPrefix(location, paymentPath+"/")
	if !ok || id == "" || strings.Contains(id, "/") {
		return
	}
	c.mu.Lock()
	c.ids = append(c.ids, id)
	c.mu.Unlock()
}

// pick returns the id of created payment number z modulo their count,
// or unknownPayment while there is none (or c is nil).
func (c *createdPayments) pick(z uint64) string {
	if c == nil {
		return unknownPayment
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if len(c.ids) == 0 {
		return unknownPayment
	}
	return c.ids[z%uint64(len(c.ids))]
}

// hashID hashes a request id, so that which payment a lookup names is a
// function of the seed and the request alone (given the payments known).
func hashID(id string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(id))
	return splitmix(h.Sum64())
}

// openKey is the hash key of open-loop request seq: one of keySpace keys,
// or any key when keySpace is 0, a function of the seed, the workload and
// seq only (SplitMix64), so a run offers the same keys whatever the order
// vegeta's workers build requests in.
func (q *requests) openKey(seq uint64) uint64 {
	z := splitmix(q.seed ^ splitmix(uint64(q.index)+1) ^ splitmix(seq+0x51ed27))
	if q.keySpace > 0 {
		return z % uint64(q.keySpace)
	}
	return z
}

// openClient is the client identity of an open-loop request with key.
func (q *requests) openClient(key uint64) string {
	if q.keySpace == 0 {
		return q.name
	}
	return q.name + "/" + strconv.FormatUint(key, 10)
}

// user is the whole population's index of this load's user u.
func (q *requests) user(u int) int {
	if q.userStride <= 1 {
		return u
	}
	return q.userBase + u*q.userStride
}

// userKey is the hash key of closed-loop user u: the user itself, within
// keySpace, as the simulator keys users.
func (q *requests) userKey(u int) uint64 {
	k := uint64(u)
	if q.keySpace > 0 {
		k %= uint64(q.keySpace)
	}
	return k
}

// splitmix is SplitMix64's finaliser.
func splitmix(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}
