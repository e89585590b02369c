package proxy

import (
	"context"
	"net/http"
	"runtime/debug"
	"time"
)

// entry is where every downstream request enters: request id, validation,
// limits on what the client may send, routing, panic recovery, metrics and
// the access log.
type entry struct {
	p       *Proxy
	inbound bool
	chain   http.Handler // handler middlewares ending in serveFromContext; nil without
}

// ServeHTTP serves one request. A panic anywhere in its handling (a bug in
// the proxy or a middleware) is recovered and answered 500, or, if the
// response had already started, ends the stream with http.ErrAbortHandler so
// the client sees a truncated answer rather than a wrong one; the process
// never goes down.
func (e *entry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := e.p
	snap := p.acquire()
	if snap == nil {
		w.Header()[HeaderReason] = []string{reasonShuttingDown}
		if isGRPC(r) {
			grpcAnswer(w.Header(), http.StatusServiceUnavailable)
			w.WriteHeader(http.StatusOK)
			return
		}
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	st := statePool.Get().(*reqState)
	*st = reqState{w: w, start: time.Now(), rng: p.rand(), snap: snap}
	m := p.env.metrics
	m.active.Inc()
	abort := e.safeServe(st, r)
	m.active.Dec()
	p.record(snap, st, lineOf(r))
	snap.release()
	p.rngs.Put(st.rng)
	abort = abort || st.abort
	*st = reqState{}
	statePool.Put(st)
	if abort {
		panic(http.ErrAbortHandler)
	}
}

func (e *entry) safeServe(st *reqState, r *http.Request) (abort bool) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				abort = true
				return
			}
			e.p.env.log.Error("panic serving request", "panic", v, "request_id", st.id, "stack", string(debug.Stack()))
			if st.wroteHeader {
				abort = true
				return
			}
			writeError(st, st, http.StatusInternalServerError, ReasonInternal)
		}
	}()
	e.serve(st, r)
	return false
}

// serve validates the request and routes it.
func (e *entry) serve(st *reqState, r *http.Request) {
	st.clientIP = clientIP(r.RemoteAddr)
	st.grpc = isGRPC(r)
	if vs := r.Header[HeaderRequestID]; len(vs) == 1 && validRequestID(vs[0]) {
		st.id, st.idHeader = vs[0], vs
	} else {
		st.id = newRequestID(st.rng)
		st.idHeader = []string{st.id}
	}
	// One single-element slice serves the response and the upstream
	// request: header values are replaced, never modified in place.
	st.Header()[HeaderRequestID] = st.idHeader
	if e.chain != nil {
		e.chain.ServeHTTP(st, r.WithContext(context.WithValue(r.Context(), stateKey{}, st)))
		return
	}
	e.route(st, st, r)
}

// serveFromContext continues after the handler middlewares.
func (e *entry) serveFromContext(w http.ResponseWriter, r *http.Request) {
	st := stateFrom(r.Context())
	if st == nil {
		writeError(w, &reqState{}, http.StatusInternalServerError, ReasonInternal)
		return
	}
	e.route(w, st, r)
}

// route checks what the proxy cannot forward (400, 405, 413, an expired
// deadline) and hands the request to its route.
func (e *entry) route(w http.ResponseWriter, st *reqState, r *http.Request) {
	snap := st.snap
	switch {
	case r.Method == http.MethodConnect:
		writeError(w, st, http.StatusMethodNotAllowed, ReasonBadRequest)
		return
	case r.URL.Path != "" && r.URL.Path[0] != '/':
		writeError(w, st, http.StatusBadRequest, ReasonBadRequest)
		return
	}
	budget, ok, err := parseDeadline(r.Header)
	switch {
	case err != nil:
		writeError(w, st, http.StatusBadRequest, ReasonBadRequest)
		return
	case ok && budget <= 0:
		writeError(w, st, http.StatusGatewayTimeout, ReasonRequestTimeout)
		return
	case ok:
		st.budget, st.hasBudget = budget, true
	}
	if st.grpc {
		// grpc-timeout is the gRPC caller's deadline: the smaller of it
		// and any other bounds the request, as Envoy's max_grpc_timeout.
		gt, ok, err := parseGRPCTimeout(r.Header)
		switch {
		case err != nil:
			writeError(w, st, http.StatusBadRequest, ReasonBadRequest)
			return
		case ok && gt <= 0:
			writeError(w, st, http.StatusGatewayTimeout, ReasonRequestTimeout)
			return
		case ok && (!st.hasBudget || gt < st.budget):
			st.budget, st.hasBudget = gt, true
		}
	}
	if limit := snap.cfg.Server.MaxBodyBytes; limit > 0 && r.Body != nil && r.Body != http.NoBody {
		if r.ContentLength > limit {
			writeError(w, st, http.StatusRequestEntityTooLarge, ReasonBodyTooLarge)
			return
		}
		r.Body = http.MaxBytesReader(st.w, r.Body, limit)
	}
	rt, path, err := snap.find(r, e.inbound)
	switch {
	case rt == nil:
		writeError(w, st, http.StatusNotFound, ReasonNoRoute)
		return
	case err != nil:
		st.route = rt.name
		writeError(w, st, http.StatusBadRequest, ReasonBadRequest)
		return
	}
	st.route, st.path = rt.name, path
	if rt.handler != nil {
		if stateFrom(r.Context()) == nil {
			r = r.WithContext(context.WithValue(r.Context(), stateKey{}, st))
		}
		rt.handler.ServeHTTP(w, r)
		return
	}
	rt.serve(w, r, st)
}

// record counts the request in the metrics and writes its access log.
func (p *Proxy) record(snap *snapshot, st *reqState, q requestLine) {
	d := time.Since(st.start)
	if st.status == 0 {
		st.status = http.StatusOK
	}
	p.env.metrics.request(st.route, st.cluster, st.status, d)
	switch {
	case p.access != nil:
		logAccess(p.access, st, q, d)
	case snap.cfg.AccessLog.Enabled:
		logAccess(p.stdout, st, q, d)
	}
}
