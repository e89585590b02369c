# meshbench — build, test and demo targets. `make demo` and `make test` are
# the two commands a fresh machine needs (see README.md).

GO          ?= go
BIN         := bin/meshbench
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
H2SPEC      := github.com/summerwind/h2spec/cmd/h2spec@v2.2.1+incompatible
H2SPEC_DIR  := $(CURDIR)/.cache/h2spec
COMMIT      := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
LDFLAGS     := -X github.com/meshbench/meshbench/bench.Version=v0.1.0-dev -X github.com/meshbench/meshbench/bench.Commit=$(COMMIT)
DEMO_OUT    ?= runs/demo

.PHONY: build test lint bench bench-sim bench-proxy demo fmt-check vet clean h2spec proto book book-sim book-local book-check

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/meshbench

# test: formatting, vet, the whole suite under the race detector in its short
# form, then the whole suite again at full size without it (the simulator's
# queueing-theory checks need millions of requests, which the race detector
# would make take many minutes).
test: fmt-check vet
	$(GO) test -race -short -count=1 ./...
	$(GO) test -count=1 ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

lint: vet
	$(GO) run $(STATICCHECK) ./...

# bench: the policy and simulator benchmarks, with allocations.
bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime=1s ./proxy/... ./sim/... ./scenarios/...

# bench-sim: the simulator's engine (events/s) and a whole scenario of
# 1,000,000 requests over 1,000 replicas through a gateway with retries
# (requests/s, events/s, CPU per request, peak heap).
bench-sim:
	$(GO) test -run '^$$' -bench 'Engine' -benchmem -benchtime=1s ./sim/
	$(GO) test -run '^$$' -bench 'Scenario/requests=1M' -benchmem -benchtime=3x ./sim/

# demo: the flagship scenario on the simulator and on the local backend (the
# real proxy and fleet on loopback), so the report sets the prediction beside
# the measurement; about four minutes on two cores.
demo: build
	./$(BIN) run scenarios/library/balancer-brownout.yaml --backend sim,local --out $(DEMO_OUT)

# The results book (docs/results, see its README.md): one page per shipped
# scenario with its question, an answer written from the figures, tables
# and plots. book-sim writes the simulator part (whole library, full
# length, byte-identical on any machine; a few seconds); book-local the
# local part (the scenarios that list local, on this machine beside the
# simulator; about 40 minutes at full length on two cores, or set
# BOOK_DURATION=20s to rescale every timeline, and BOOK_SCENARIOS=a,b to run
# a few); book both. book-check regenerates the simulator part into a
# temporary folder and fails when docs/results differs (CI runs it).
BOOK_DIR       ?= docs/results
BOOK_DURATION  ?=
BOOK_SCENARIOS ?=
book: book-sim book-local

book-sim: build
	./$(BIN) book --out $(BOOK_DIR) --backend sim

book-local: build
	./$(BIN) book --out $(BOOK_DIR) --backend local $(if $(BOOK_DURATION),--duration $(BOOK_DURATION)) $(if $(BOOK_SCENARIOS),--scenario $(BOOK_SCENARIOS))

book-check: build
	./$(BIN) book --out $(BOOK_DIR) --backend sim --check

clean:
	rm -rf bin

# proto: regenerate the payment fleet's gRPC code (bench/fleet/paymentspb)
# from payments.proto; needs protoc (Debian's protobuf-compiler) and the
# two Go plugins at the versions the generated files name.
PROTOC_GEN_GO      := google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
PROTOC_GEN_GO_GRPC := google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.0
proto:
	$(GO) install $(PROTOC_GEN_GO)
	$(GO) install $(PROTOC_GEN_GO_GRPC)
	PATH="$$($(GO) env GOPATH)/bin:$$PATH" $(GO) generate ./bench/fleet/paymentspb/

# bench-proxy: the meshbench proxy against direct, nginx and HAProxy (when
# installed) on loopback, pinned to separate cores, loaded by the bench's own
# clients and by wrk and h2load (when installed); see proxy/proxybench.
# Whatever is missing is named here and skipped by the bench; Debian:
#   apt-get install -y nginx-light haproxy wrk nghttp2-client
# BENCH_PROXY_FLAGS passes flags on (e.g. --rounds 5 --duration 5s).
BENCH_PROXY_TOOLS := nginx haproxy wrk h2load
bench-proxy: build
	@for t in $(BENCH_PROXY_TOOLS); do \
		command -v $$t >/dev/null 2>&1 || [ -x /usr/sbin/$$t ] || \
		echo "bench-proxy: $$t not installed, its part is skipped (apt-get install -y nginx-light haproxy wrk nghttp2-client)"; \
	done
	./$(BIN) bench-proxy $(BENCH_PROXY_FLAGS)

# h2spec: the HTTP/2 conformance suite (h2spec, installed with go install
# into .cache/h2spec) against the gateway's h2c listener and its TLS
# listener with h2 by ALPN (proxy's TestH2Spec, which skips without h2spec
# and so is not in test's way). h2spec predates modules, so its install
# resolves its dependencies itself: GOFLAGS is cleared for it, as CI sets
# -mod=readonly for the project's own builds.
h2spec:
	test -x $(H2SPEC_DIR)/h2spec || GOFLAGS= GOBIN=$(H2SPEC_DIR) $(GO) install $(H2SPEC)
	H2SPEC=$(H2SPEC_DIR)/h2spec $(GO) test -count=1 -run '^TestH2Spec$$' -v ./proxy/
