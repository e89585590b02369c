// Package proxy is meshbench's real data plane: an L7 HTTP proxy, usable as
// a library, that runs as an API gateway or as a service-mesh sidecar.
//
// # Shape
//
// The configuration is the package proxy/config: its types, defaults,
// loading and validation, and the policy objects, matches and rewrites a
// configuration describes (config.ClusterConfig.Policies,
// config.Policy.Policies, config.MatchConfig.Compile), which the simulator
// builds from the same configuration. New validates a config.Config, takes
// those objects and adds what only a running proxy has (connection pools,
// discovery providers, TLS and transport hooks, middleware chains), making
// an immutable snapshot of routes and clusters. Every request takes a
// reference to the snapshot current when it arrives, so Reload swaps in a
// new snapshot without disturbing requests in flight; a cluster whose
// configuration did not change is carried over with its connections,
// endpoint health, ejections and balancer state, and a retired cluster is
// closed only when the last request of the snapshots using it has
// finished. An invalid configuration is refused as a whole and the running
// one keeps serving.
//
// A request goes through entry (request id, validation, body and header
// limits, panic recovery, metrics, access log), a route (gateway: Envoy-style
// first match on host, path, method and headers; sidecar: the service named
// by the Host or the first path segment; inbound: the local service) and
// the route's middlewares (the hook for security, fault injection and
// caching). From there on every decision is proxy/lifecycle's Request: the
// route's rate limits, then for each try the cluster's admission (a
// concurrency limiter, Envoy's thresholds, the outcome breaker) and a
// balancer pick, the per-try and route timeouts, retries within a budget
// after a back-off, hedged copies, and the outcome each try reports to the
// balancer, outlier detection and the breaker. The general path
// (exchange.go, attempt.go) and the fast path (fastpath.go) only do what
// the Request asks: send a try, wait, cancel a try, forward an answer or
// answer by themselves; WithDecisions reports its decisions as they are
// made. The response streams back with hop-by-hop fields removed.
//
// The security layer is its own package, proxy/secure: it reads a
// configuration file's security section and plugs proxy/mtls, proxy/auth,
// proxy/fault and proxy/cache in through this package's exported hooks
// (WithMiddleware, WithServerTLS, WithTLSListener, WithClusterTLS, and
// RequestID, RecordRejection, RefuseRateLimited and RecordRefusedReload for
// answering and counting errors as this package does; config.DecodeYAML and
// config.LocateErrors report its own section's errors as the core's). This
// package imports none of those four.
//
// The wire code is its own package, proxy/h1: the server of the
// data-plane listeners (HTTP/1.1, and HTTP/2 with a frame-level server of
// its own built on x/net's Framer and HPACK), the client and connection
// pool of plain-text HTTP/1.1 clusters, which also count connections
// against max_connections and queue max_pending, and their codec. This
// package uses h1's exported API only; the fast path is the server's Fast
// hook for HTTP/1.1 and its FastH2 hook for HTTP/2.
//
// # Time
//
// The policies (proxy/balancer, proxy/ratelimit, proxy/breaker,
// proxy/outlier, proxy/retry, proxy/health) never read the clock: the proxy
// passes time.Now() at each call, as the simulator passes virtual time, so
// both run the same objects. Two background loops per cluster are the only
// places where the wall clock drives a policy by itself, without a request:
// the outlier detector's Sweep on a ticker every Interval (cluster.sweepLoop)
// and the health tracker's due probes on a timer (cluster.healthLoop).
// Discovery's DNS and registry providers also poll on tickers, but they are
// I/O adapters, not policies.
//
// # Bodies and retries
//
// Bodies stream in both directions. A request body is buffered, so that a
// retry or a hedge can send it again, only when the route retries or hedges
// and the body is at most retry.bufferBytes (64 KiB by default); a longer
// body is streamed to a single try and that request is never retried or
// hedged. A gRPC request of unknown length over HTTP/2 on such a route
// (a client or bidirectional stream) is not read ahead: it streams to the
// tries through a replay buffer of retry.bufferBytes (replay.go) and is
// retried or hedged only while no answer went downstream and the buffer
// holds all it sent; past that it is committed to one try
// (lifecycle.Request.Committed). Such a request goes through the replay
// buffer on a route without retries too, so that a stream the upstream
// refused unprocessed (GOAWAY past its last stream, REFUSED_STREAM) is sent
// again by the HTTP/2 transport on another connection. Responses of unknown
// length are flushed chunk by chunk.
//
// # Answers of the proxy itself
//
// Every answer the proxy makes on its own carries X-Meshbench-Reason:
//
//	400 bad_request                malformed request, bad deadline header, body read failure
//	404 no_route                   no route or service matched
//	405 bad_request                CONNECT
//	408 body_timeout               the client stopped sending its body (server.bodyTimeout)
//	413 body_too_large             body over server.maxBodyBytes
//	429 rate_limited               route limiter (with Retry-After)
//	429 consumer_rate_limited      per-consumer limiter (with Retry-After)
//	500 internal_error             a recovered panic
//	502 upstream_reset             the connection broke before a response
//	503 overflow                   an Envoy threshold (max_requests, max_connections) is full
//	503 concurrency_limited        the cluster's concurrency limiter refused
//	503 circuit_open               the outcome breaker is open
//	503 no_healthy_upstream        no endpoint is available
//	503 upstream_connect_failure   no try could connect
//	504 upstream_connect_timeout   connection.connectTimeout fired
//	504 upstream_timeout           the per-try timeout fired
//	504 request_timeout            the route timeout or the caller's deadline passed
//
// A gRPC request (content-type application/grpc*) gets each of these as a
// trailers-only gRPC answer instead: HTTP 200 with grpc-status
// (UNAVAILABLE, RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED, UNIMPLEMENTED,
// INTERNAL ...) and grpc-message "meshbench: <reason>"; grpc.go has the
// mapping and README.md's gRPC section the rest of gRPC's handling.
//
// The HTTP servers (proxy/h1's for HTTP/1.1 and HTTP/2, net/http for the
// admin API) answer 400 for unparsable requests (HTTP/2:
// RST_STREAM PROTOCOL_ERROR for malformed ones), 431 for a head over
// server.maxHeaderBytes, and cut off clients whose headers arrive slower
// than server.readHeaderTimeout. The HTTP/1.1 server also cuts off clients
// that stall a body (server.bodyTimeout) or do not read their answer
// (server.sendTimeout), and slow connections beyond
// server.maxSlowConnections, counting each in
// meshbench_proxy_downstream_rejections_total.
//
// A plain HTTP/1.1 request, or an HTTP/2 request without a body, to a
// route that only forwards takes the fast path (fastpath.go,
// fastrequest.go, fastanswer.go), which proxies it from the head (or
// header block) as read, with the same policies, metrics and access log;
// README.md says which requests qualify.
//
// README.md documents every configuration key.
package proxy
