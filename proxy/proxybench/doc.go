// Package proxybench measures what a proxy costs, on loopback, in one run:
// a minimal keep-alive HTTP/1.1 upstream is loaded directly and then through
// each proxy — meshbench's own (`meshbench proxy`, run as a separate
// process), and nginx and HAProxy when their binaries are installed — with
// the same load generator and the same pinning, and the differences are
// reported side by side.
//
// # Method
//
// Every proxy is started first and warmed up. Then, in each of
// Config.Rounds rounds, every target in turn gets two phases of
// Config.Duration:
//
//   - a fixed rate (Config.Rate requests per second, open loop, generated
//     with vegeta's library, as `vegeta attack -rate`): latency percentiles,
//     from which the latency each proxy adds over direct is computed;
//   - saturation (Config.Connections keep-alive connections in a closed
//     loop, each sending its next request when the previous answer has
//     arrived, as wrk does): throughput, reported as a ratio to direct;
//   - for the proxies, saturation of the middleware route (MiddlewarePath:
//     an API key checked, a per-key rate limit that never refuses; see
//     configs.go for each proxy's terms);
//   - when installed (external.go), wrk at saturation on both routes and
//     h2load over h2c on the plain route, as independent load generators:
//     their own latency figures (wrk's percentiles, h2load's mean and
//     deviation) and the proxy's CPU per request, measured as for the
//     others.
//
// Report.Goals compares meshbench with nginx on the project's targets, per
// load generator, as medians of per-round ratios.
//
// A VM's noise (a descheduled core, a neighbour's burst) lands on whatever
// phase is running. So the comparisons are made within a round, where the
// targets ran back to back, and the report gives their medians over the
// rounds: one disturbed round moves neither the added p99 nor a throughput
// ratio. The table's own figures are those of the median round.
//
// On a 2-core machine the proxy is pinned to core 1 (`taskset -c 1`, and
// GOMAXPROCS=1 for meshbench, nbthread 1 for HAProxy, worker_processes 1
// for nginx) while this process — load generator and upstream — is pinned
// to core 0 with GOMAXPROCS 1. The load side then usually saturates before a
// good proxy does, which caps every throughput ratio near the same value;
// the figure that separates proxies is the CPU time each spends per request,
// read from /proc/PID/stat (utime + stime of the proxy and its child
// processes) before and after each phase and divided by the requests
// served. The project's anchors on these machines are nginx ~18 µs and
// HAProxy ~19 µs per request.
//
// Every process the bench starts is stopped by its PID (SIGTERM, then
// SIGKILL after a grace period); all traffic stays on 127.0.0.1.
package proxybench
