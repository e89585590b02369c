package discovery

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// instanceWire is an Instance as the registry API spells it: the TTL as a Go
// duration string ("10s") and the expiry in RFC 3339.
type instanceWire struct {
	ID      string    `json:"id,omitempty"`
	Address string    `json:"address"`
	Zone    string    `json:"zone,omitempty"`
	Weight  int       `json:"weight,omitempty"`
	TTL     string    `json:"ttl,omitempty"`
	Expires time.Time `json:"expires,omitzero"`
}

// MarshalJSON writes the registry API's form of the instance.
func (i Instance) MarshalJSON() ([]byte, error) {
	w := instanceWire{ID: i.ID, Address: i.Address, Zone: i.Zone, Weight: i.Weight, Expires: i.Expires}
	if i.TTL > 0 {
		w.TTL = i.TTL.String()
	}
	return json.Marshal(w)
}

// UnmarshalJSON reads the registry API's form of the instance; unknown
// fields are errors.
func (i *Instance) UnmarshalJSON(b []byte) error {
	var w instanceWire
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return err
	}
	*i = Instance{Endpoint: Endpoint{ID: w.ID, Address: w.Address, Zone: w.Zone, Weight: w.Weight}, Expires: w.Expires}
	if w.TTL != "" {
		d, err := time.ParseDuration(w.TTL)
		if err != nil {
			return fmt.Errorf("ttl: %w", err)
		}
		i.TTL = d
	}
	return nil
}

// maxRegisterBody bounds a registration request body.
const maxRegisterBody = 64 << 10

// Server is the HTTP API of a Store:
//
//	POST   /v1/services/{service}/instances                 register (JSON instance) → 201 + instance
//	PUT    /v1/services/{service}/instances/{id}/heartbeat  renew → 200 + instance, 404 if unknown or expired
//	DELETE /v1/services/{service}/instances/{id}            deregister → 204, 404 if unknown
//	GET    /v1/services/{service}/instances                 list alive instances → 200 + JSON array
//	GET    /v1/services                                     list services → 200 + JSON array of names
//
// Each request first expires lapsed instances, so the Store needs no
// goroutine of its own. The Server reads the clock through Now. It does no
// access control of its own: the proxy's admin listener puts its
// adminAccess in front of every method but GET and HEAD.
type Server struct {
	Store *Store
	// Now is the clock; nil means time.Now. Tests inject a fake.
	Now func() time.Time

	mux *http.ServeMux
}

// NewServer returns the API handler for store.
func NewServer(store *Store) *Server {
	s := &Server{Store: store, mux: http.NewServeMux()}
	s.mux.HandleFunc("POST /v1/services/{service}/instances", s.register)
	s.mux.HandleFunc("PUT /v1/services/{service}/instances/{id}/heartbeat", s.heartbeat)
	s.mux.HandleFunc("DELETE /v1/services/{service}/instances/{id}", s.deregister)
	s.mux.HandleFunc("GET /v1/services/{service}/instances", s.list)
	s.mux.HandleFunc("GET /v1/services", s.services)
	return s
}

// ServeHTTP serves the registry API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.Store.Expire(s.now())
	s.mux.ServeHTTP(w, r)
}

func (s *Server) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

func (s *Server) register(w http.ResponseWriter, r *http.Request) {
	var inst Instance
	dec := json.NewDecoder(io.LimitReader(r.Body, maxRegisterBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&inst); err != nil {
		http.Error(w, "bad instance: "+err.Error(), http.StatusBadRequest)
		return
	}
	got, err := s.Store.Register(s.now(), r.PathValue("service"), inst)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	writeJSON(w, http.StatusCreated, got)
}

func (s *Server) heartbeat(w http.ResponseWriter, r *http.Request) {
	got, err := s.Store.Heartbeat(s.now(), r.PathValue("service"), r.PathValue("id"))
	if err != nil {
		writeStoreError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, got)
}

func (s *Server) deregister(w http.ResponseWriter, r *http.Request) {
	if err := s.Store.Deregister(r.PathValue("service"), r.PathValue("id")); err != nil {
		writeStoreError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.Store.List(s.now(), r.PathValue("service")))
}

func (s *Server) services(w http.ResponseWriter, r *http.Request) {
	names := s.Store.Services(s.now())
	if names == nil {
		names = []string{}
	}
	writeJSON(w, http.StatusOK, names)
}

func writeStoreError(w http.ResponseWriter, err error) {
	if errors.Is(err, ErrNotFound) {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	http.Error(w, err.Error(), http.StatusBadRequest)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
