package proxybench

import "strings"

// The proxies' configurations: one route to the one upstream, connection
// reuse on both sides, no logging per request, one worker on one core.

// meshbenchConfig raises Envoy's circuit-breaking thresholds (1024 by
// default), which nginx and HAProxy have no counterpart of: an overloaded
// load side must queue in the proxy, not be refused by it.
func meshbenchConfig(addr, upstream string) string {
	return strings.NewReplacer("{{ADDR}}", addr, "{{UP}}", upstream).Replace(`# meshbench bench-proxy: one route to the bench upstream.
listen: {{ADDR}}
routes:
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
// 1000 requests.
func nginxConfig(prefix, addr, upstream string) string {
	return strings.NewReplacer("{{PREFIX}}", prefix, "{{ADDR}}", addr, "{{UP}}", upstream).Replace(`# meshbench bench-proxy
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
    server {
        listen {{ADDR}};
        location / {
            proxy_pass http://up;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
`)
}

// haproxyConfig runs one thread and reuses server connections across
// client connections (http-reuse always).
func haproxyConfig(addr, upstream string) string {
	return strings.NewReplacer("{{ADDR}}", addr, "{{UP}}", upstream).Replace(`# meshbench bench-proxy
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
    default_backend up
backend up
    http-reuse always
    server up {{UP}} maxconn 10000
`)
}
