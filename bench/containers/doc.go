// Package containers is meshbench's containers backend: the payment fleet
// runs in Docker, one container per replica, started and faulted through
// testcontainers-go and the Docker API, while the real proxy (gateway and
// sidecars) and the load generator run in this process on the host, as in
// the local backend. It answers the question the local backend cannot:
// does a policy still win when replicas are separate processes with their
// own network stacks, killed, frozen and restarted the way an orchestrator
// does it?
//
// # Requirements
//
// A Docker daemon (API 1.40 or later) reachable the usual way (DOCKER_HOST
// or the default socket); nothing is ever pulled. The fleet image is built
// FROM scratch (docker/Dockerfile) around a static paymentsvc binary that
// this package compiles itself, with
//
//	CGO_ENABLED=0 GOOS=linux go build -trimpath -o <context>/paymentsvc ./cmd/paymentsvc
//
// from the meshbench source checkout around the working directory, so it
// needs that checkout and a Go toolchain; or it takes a prebuilt static
// binary from MESHBENCH_PAYMENTSVC_BIN (ImageOptions.Binary). The image is
// tagged meshbench/paymentsvc:<first 16 hex digits of the SHA-256 of the
// Dockerfile and the binary>, and an existing tag is reused: an unchanged
// fleet starts without a build.
//
// testcontainers-go needs two settings on meshbench's machines, which the
// package sets itself (only when the user has not) before its first call
// into the library: TESTCONTAINERS_RYUK_DISABLED=true (the reaper image
// cannot be pulled; the package removes what it starts) and
// TESTCONTAINERS_HOST_OVERRIDE=127.0.0.1 (otherwise the library, finding
// itself inside a container, would dial the default gateway).
//
// # Networking
//
// Every run gets a user-defined bridge network of its own, created by
// testcontainers-go (network.New). Each replica's port 8080 is published
// on 127.0.0.1 only, on a port chosen up front so that a replica keeps its
// address across a stop and a start, and it is waited for with
// wait.ForHTTP("/readyz") (a scratch image has no shell, which
// wait.ForListeningPort needs). From the host side only 127.0.0.1 is ever
// dialled: the load, the gateway, the sidecars' upstreams, probes, faults
// and the audit all go to published ports.
//
// payments calls risk, fraud and ledger in one of two ways (Spec.Downstream):
//
//   - through the mesh: each payments replica is given base URLs on the
//     run network's gateway address (Fleet.HostAddr), where its sidecar
//     listens in this process; the sidecar forwards to the other replicas'
//     published ports on 127.0.0.1. Service-to-service calls then cross
//     the same proxy, with the same variant policy, as on the local
//     backend. This is what the backend does. It needs the sidecar
//     listeners bound on the bridge's gateway address, which only
//     containers of the run's network reach.
//   - directly: by network alias ("http://risk:8080"), resolved by
//     Docker's embedded DNS. `meshbench fleet up` wires a fleet this way,
//     because it outlives the process and so cannot have sidecars in it.
//
// # Faults
//
// Process faults go through the Docker API (kill: SIGKILL; restart: stop
// and start, or Docker's restart; pause: the cgroup freezer), behaviour
// faults through each replica's /admin/fault (slow, errors, latency); see
// Timeline. A partition cuts the data plane's hops between its target and
// its peer (the mesh's toxiproxies on the host, which every call between
// containers crosses; Fleet.Partitions), as on the local backend, and so
// does the network's loss. The ledger's bbolt file lives in
// the container's own anonymous volume at /data (docker/Dockerfile), which
// outlives a kill and a restart and goes when the container is removed, so
// a killed and restarted ledger keeps what it recorded; after the run, Heal brings every replica back and
// Audit checks the union of the ledgers against the payments the clients
// saw acknowledged.
//
// # CPU, and why runs swing
//
// The containers path costs the machine far more CPU per request than the
// local backend's single process, and the project's machines have two
// cores. Sampled from /proc every second on the flagship
// (balancer-brownout, round_robin, 400 requests/s, --duration 20s,
// 2026-12-06, on a machine other jobs kept busy): the fleet's paymentsvc
// processes used 0.6 to 0.9 of a core, docker-proxy (Docker's userland
// proxy, which carries every connection to a port published on 127.0.0.1:
// four per client request) 0.1 to 0.4, beside the data plane and load
// generator in this process; the local backend runs the same load in
// about half a core. Each replica is its own Go runtime, idle between its
// requests, and waking an idle runtime is what costs (a risk replica alone
// at 100/s: 350 µs of CPU per request; see ReplicaGOMAXPROCS).
//
// Near saturation, latency depends on whatever else the machine runs, and
// a scenario with retries turns a slow spell into a lasting one: once tries
// outlive the per-try timeout (or queues fill and answer 503, which
// gateway-error retries), every request sends two, the timed-out tries'
// connections are closed and re-opened through docker-proxy, and the
// extra work keeps latency above the timeout after the cause has gone: a
// metastable overload. Four runs of that flagship variant on the busy
// machine gave availability 90.1%, 51.3% and 0.03% (the last collapsed in
// its first second, at start-up, and never recovered at a constant
// 400/s), and 87.2% with the retries removed, whose failures were only
// queue_full during the brownout and no collapse. The 65.5% and
// 99.7% are the same bistability: whether a run tips depends on the
// machine's other load, not on the scenario. Compare containers runs only
// on a quiet machine, with --repeat, and read their spread.
//
// How much load tips it depends on the machine. On a later 2-core VM of
// the same kind (2026-12-06, quiet, Docker on fuse-overlayfs), the
// flagship at 400/s collapsed in all twenty runs of `--repeat 5` over four
// variants, most within their first second and before the brownout, with
// Docker's daemon idle during the load (it spends up to 1.5 cores only
// while containers start and are removed, between runs); the same
// variant at 200/s answered 100% of its requests, at a p50 of 23–32 ms
// where the simulator with that machine's profile predicts 20 ms.
//
// A run reports the whole machine's CPU over its measured window
// (/proc/stat through internal/cputime, in summary.json's cpu), and
// `meshbench calibrate`'s containers mesh sets the host model's CPU scale
// from it, so the simulator predicts where the machine runs out. On a
// third VM of that kind (2026-12-07 evening) the payment flow cost the
// machine 4.4–4.9 ms of CPU per request on containers, about two and a
// half times the local backend's: the flagship at 400/s needs 1.7–2.0 of
// the two cores. The simulator, charging that, predicted the runs' cores
// within 20% and, from a profile measured while the machine tipped, a
// saturated flagship, as twelve of nineteen containers runs that hour
// were; from the next profile, twelve runs that held at 400/s with p50s
// within ±23% (three of four variants within ±15%) and, at 200/s, every
// p50 and p99 within ±11% (docs/calibration.md, the last section).
//
// # Cleanup
//
// Every container and the network carry the label meshbench.run=<id>.
// A fleet is removed by label (RemoveRun) when the run ends, fails or is
// cancelled (Ctrl-C), on a fresh context; `meshbench fleet down` and the
// tests remove leftovers the same way.
package containers
