package proxybench

import (
	"strconv"
	"strings"

	"github.com/meshbench/meshbench/proxy/auth"
)

// The proxies' configurations: two routes to the one upstream, connection
// reuse on both sides, no logging per request, one worker on one core.
//
// The plain route (/) only forwards. The middleware route (MiddlewarePath)
// checks an API key (BenchAPIKey in the X-Api-Key header; a request
// without it is answered 401) and a rate limit per key set so high (mwRate
// per second, a burst as large) that it never refuses in the bench: both
// are pure overhead, expressed in each proxy's own terms. Every proxy
// forwards the key: meshbench's auth would otherwise remove it before its
// route's consumer limit, keyed by the same header, could read it.

// MiddlewarePath prefixes the middleware route's paths.
const MiddlewarePath = "/mw/"

// BenchAPIKey is the one key the middleware route accepts, sent in
// APIKeyHeader.
const (
	BenchAPIKey  = "bench-4f1c9a2e7d3b8e60"
	APIKeyHeader = "X-Api-Key"
)

// mwRate is the middleware route's rate limit per key, per second, and its
// burst: far above any load the bench can generate.
const mwRate = 1000000

// meshbenchConfig raises Envoy's circuit-breaking thresholds (1024 by
// default), which nginx and HAProxy have no counterpart of: an overloaded
// load side must queue in the proxy, not be refused by it.
func meshbenchConfig(addr, upstream string) string {
	return strings.NewReplacer("{{ADDR}}", addr, "{{UP}}", upstream, "{{MW}}", MiddlewarePath, "{{HDR}}", APIKeyHeader,
		"{{RATE}}", strconv.Itoa(mwRate), "{{HASH}}", auth.HashAPIKey(BenchAPIKey)).Replace(`# meshbench bench-proxy: two routes to the bench upstream.
listen: {{ADDR}}
routes:
  - name: mw
    match: {prefix: {{MW}}}
    cluster: up
    consumerRateLimit: {key: "header:{{HDR}}", type: token_bucket, rate: {{RATE}}, burst: {{RATE}}}
    middlewares:
      - name: auth
        params: {type: apiKey, header: {{HDR}}, forward: true, keys: [{name: bench, hash: "{{HASH}}"}]}
  - name: bench
    match: {prefix: /}
    cluster: up
clusters:
  - name: up
    endpoints: [{address: "{{UP}}"}]
    thresholds: {maxConnections: 100000, maxPending: 100000, maxRequests: 100000}
`)
}

// nginxConfig keeps upstream connections alive (keepalive in the upstream
// block, HTTP/1.1 and an empty Connection header towards it) and raises
// keepalive_requests on both sides, without which nginx reconnects every
// 1000 requests. h2addr takes h2c (HTTP/2 with prior knowledge) for
// h2load. The middleware route maps the key header to a verdict and limits
// requests per key (limit_req_zone keyed by the header).
func nginxConfig(prefix, addr, h2addr, upstream string) string {
	return strings.NewReplacer("{{PREFIX}}", prefix, "{{ADDR}}", addr, "{{H2ADDR}}", h2addr, "{{UP}}", upstream, "{{MW}}", MiddlewarePath,
		"{{KEY}}", BenchAPIKey, "{{RATE}}", strconv.Itoa(mwRate)).Replace(`# meshbench bench-proxy
worker_processes 1;
daemon off;
pid {{PREFIX}}/nginx.pid;
error_log {{PREFIX}}/error.log warn;
events {
    worker_connections 8192;
}
http {
    access_log off;
    client_body_temp_path {{PREFIX}}/client_body;
    proxy_temp_path {{PREFIX}}/proxy;
    fastcgi_temp_path {{PREFIX}}/fastcgi;
    uwsgi_temp_path {{PREFIX}}/uwsgi;
    scgi_temp_path {{PREFIX}}/scgi;
    keepalive_requests 10000000;
    keepalive_timeout 75s;
    upstream up {
        server {{UP}};
        keepalive 256;
        keepalive_requests 10000000;
        keepalive_timeout 75s;
    }
    map $http_x_api_key $bench_key_ok {
        default 0;
        "{{KEY}}" 1;
    }
    limit_req_zone $http_x_api_key zone=perkey:1m rate={{RATE}}r/s;
    server {
        listen {{ADDR}};
        listen {{H2ADDR}} http2;
        location / {
            proxy_pass http://up;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
        location {{MW}} {
            if ($bench_key_ok = 0) {
                return 401;
            }
            limit_req zone=perkey burst={{RATE}} nodelay;
            proxy_pass http://up;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
`)
}

// haproxyConfig runs one thread and reuses server connections across
// client connections (http-reuse always). h2addr takes h2c for h2load. The
// middleware route checks the key with an ACL on the header and the rate
// per key with a stick table.
func haproxyConfig(addr, h2addr, upstream string) string {
	return strings.NewReplacer("{{ADDR}}", addr, "{{H2ADDR}}", h2addr, "{{UP}}", upstream, "{{MW}}", MiddlewarePath,
		"{{KEY}}", BenchAPIKey, "{{RATE}}", strconv.Itoa(mwRate), "{{HDR}}", strings.ToLower(APIKeyHeader)).Replace(`# meshbench bench-proxy
global
    nbthread 1
    maxconn 4000
defaults
    mode http
    option http-keep-alive
    http-reuse always
    timeout connect 5s
    timeout client 75s
    timeout server 75s
    timeout http-keep-alive 75s
frontend bench
    bind {{ADDR}}
    bind {{H2ADDR}} proto h2
    stick-table type string len 64 size 1k expire 10s store http_req_rate(1s)
    acl mw path_beg {{MW}}
    acl key_ok req.hdr({{HDR}}) -m str {{KEY}}
    http-request deny deny_status 401 if mw !key_ok
    http-request track-sc0 req.hdr({{HDR}}) if mw
    http-request deny deny_status 429 if mw { sc_http_req_rate(0) gt {{RATE}} }
    default_backend up
backend up
    http-reuse always
    server up {{UP}} maxconn 10000
`)
}
