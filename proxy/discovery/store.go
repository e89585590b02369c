package discovery

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// ErrNotFound is returned for a service or instance the Store does not hold
// (never registered, deregistered, or expired).
var ErrNotFound = errors.New("instance not found")

// DefaultTTL is how long a registration lives without a heartbeat when
// neither the instance nor the Store names a TTL; Consul's common choice for
// TTL checks.
const DefaultTTL = 30 * time.Second

// Instance is a registered endpoint of a service.
type Instance struct {
	Endpoint
	// TTL is how long the registration lives after the last register or
	// heartbeat; zero means the Store's default.
	TTL time.Duration `json:"-"`
	// Expires is when it lapses unless renewed; set by the Store.
	Expires time.Time `json:"-"`
}

// Store is an in-memory service registry with TTL expiry, the model of
// Consul's TTL checks and Eureka's lease renewal: an instance registers with
// a TTL, stays listed while it heartbeats within the TTL, and disappears
// when it stops. Like the policies, the Store is told the time: every method
// that needs it takes now, so expiry is deterministic under test. Expired
// instances are never listed; Expire removes them from memory. It is safe for
// concurrent use.
type Store struct {
	defTTL time.Duration

	mu       sync.Mutex
	services map[string]map[string]Instance
}

// NewStore returns an empty Store whose registrations without a TTL live
// for defaultTTL (DefaultTTL when zero).
func NewStore(defaultTTL time.Duration) *Store {
	if defaultTTL <= 0 {
		defaultTTL = DefaultTTL
	}
	return &Store{defTTL: defaultTTL, services: map[string]map[string]Instance{}}
}

// Register adds or replaces an instance of service, alive until now + TTL.
func (s *Store) Register(now time.Time, service string, inst Instance) (Instance, error) {
	if service == "" {
		return Instance{}, fmt.Errorf("%w: register: empty service name", ErrInvalid)
	}
	if err := inst.Validate(); err != nil {
		return Instance{}, fmt.Errorf("%w: register %s: %w", ErrInvalid, service, err)
	}
	if inst.TTL < 0 {
		return Instance{}, fmt.Errorf("%w: register %s: negative ttl", ErrInvalid, service)
	}
	if inst.ID == "" {
		inst.ID = inst.Address
	}
	if inst.TTL == 0 {
		inst.TTL = s.defTTL
	}
	inst.Expires = now.Add(inst.TTL)
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.services[service]
	if m == nil {
		m = map[string]Instance{}
		s.services[service] = m
	}
	m[inst.ID] = inst
	return inst, nil
}

// Heartbeat renews an instance until now + its TTL. An instance that has
// already expired is not revived: it must register again.
func (s *Store) Heartbeat(now time.Time, service, id string) (Instance, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	inst, ok := s.services[service][id]
	if !ok || !now.Before(inst.Expires) {
		return Instance{}, fmt.Errorf("heartbeat %s/%s: %w", service, id, ErrNotFound)
	}
	inst.Expires = now.Add(inst.TTL)
	s.services[service][id] = inst
	return inst, nil
}

// Deregister removes an instance at once.
func (s *Store) Deregister(service, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.services[service][id]; !ok {
		return fmt.Errorf("deregister %s/%s: %w", service, id, ErrNotFound)
	}
	delete(s.services[service], id)
	if len(s.services[service]) == 0 {
		delete(s.services, service)
	}
	return nil
}

// List returns the instances of service alive at now, sorted by ID.
func (s *Store) List(now time.Time, service string) []Instance {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Instance, 0, len(s.services[service]))
	for _, inst := range s.services[service] {
		if now.Before(inst.Expires) {
			out = append(out, inst)
		}
	}
	slices.SortFunc(out, func(a, b Instance) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// Services returns the names of services with at least one instance alive
// at now, sorted.
func (s *Store) Services(now time.Time) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for name, m := range s.services {
		for _, inst := range m {
			if now.Before(inst.Expires) {
				out = append(out, name)
				break
			}
		}
	}
	slices.Sort(out)
	return out
}

// Expire forgets every instance expired at now and returns how many it
// removed.
func (s *Store) Expire(now time.Time) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for name, m := range s.services {
		for id, inst := range m {
			if !now.Before(inst.Expires) {
				delete(m, id)
				n++
			}
		}
		if len(m) == 0 {
			delete(s.services, name)
		}
	}
	return n
}
