# meshbench — build, test and demo targets. `make demo` and `make test` are
# the two commands a fresh machine needs (see README.md).

GO          ?= go
BIN         := bin/meshbench
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
H2SPEC      := github.com/summerwind/h2spec/cmd/h2spec@v2.2.1+incompatible
H2SPEC_DIR  := $(CURDIR)/.cache/h2spec
COMMIT      := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
# VERSION is `git describe --tags --always --dirty`: at a tag vX.Y.Z it is
# that tag (vX.Y.Z-N-gSHA past it, with -dirty for uncommitted changes).
# Without a tag describe gives the bare commit, which is made a semantic
# version below the first release, v0.0.0-N-gSHA (N commits in the
# history), so versions still sort by history; outside a git checkout it
# is v0.0.0-unknown. `make build VERSION=v1.2.3` overrides it.
ifeq ($(origin VERSION),undefined)
VERSION     := $(shell d=$$(git describe --tags --always --dirty 2>/dev/null) || { echo v0.0.0-unknown; exit 0; }; \
                 case "$$d" in (v[0-9]*) echo "$$d" ;; \
                 (*) echo "v0.0.0-$$(git rev-list --count HEAD)-g$$d" ;; esac)
endif
LDFLAGS     := -X github.com/meshbench/meshbench/bench.Version=$(VERSION) -X github.com/meshbench/meshbench/bench.Commit=$(COMMIT)
DEMO_OUT    ?= runs/demo

.PHONY: build test k8s-env lint bench bench-sim bench-proxy demo fmt-check vet clean h2spec proto book book-sim book-local book-check release image docs man version

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/meshbench

# test: formatting, vet, the Kubernetes test control plane (k8s-env, below;
# seconds once cached), the whole suite under the race detector in its
# short form, then the whole suite again at full size without it (the
# simulator's queueing-theory checks need millions of requests, which the
# race detector would make take many minutes). MESHBENCH_K8S_BIN tells
# internal/k8senv where the control plane's binaries are.
test: fmt-check vet k8s-env
	MESHBENCH_K8S_BIN=$(K8S_BIN) $(GO) test -race -short -count=1 ./...
	MESHBENCH_K8S_BIN=$(K8S_BIN) $(GO) test -count=1 ./...

# k8s-env: the Kubernetes test control plane that internal/k8senv starts
# (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok),
# built from the Go modules pinned in tools/k8senv into a folder keyed on
# their versions under ${MESHBENCH_K8S_CACHE:-$HOME/.cache/meshbench/k8s}:
# 6-12 minutes on two cores with empty caches, seconds once built. See
# docs/kubernetes-testenv.md.
K8S_BIN = $(shell GO=$(GO) bash tools/k8senv/build.sh --print-dir)
k8s-env:
	GO=$(GO) bash tools/k8senv/build.sh

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
# a few; BOOK_CALIBRATION=cal.yaml BOOK_HOST_CORES=2 has the simulator charge
# a profile from `meshbench calibrate` and model the host, as the checked-in
# local part was made; BOOK_REPEAT=3 runs each variant three times on both
# backends, for medians and the local spread); book both. book-check regenerates the simulator part
# into a temporary folder and fails when docs/results differs (CI runs it).
BOOK_DIR         ?= docs/results
BOOK_DURATION    ?=
BOOK_SCENARIOS   ?=
BOOK_CALIBRATION ?=
BOOK_HOST_CORES  ?=
BOOK_REPEAT      ?=
book: book-sim book-local

book-sim: build
	./$(BIN) book --out $(BOOK_DIR) --backend sim

book-local: build
	./$(BIN) book --out $(BOOK_DIR) --backend local $(if $(BOOK_DURATION),--duration $(BOOK_DURATION)) $(if $(BOOK_SCENARIOS),--scenario $(BOOK_SCENARIOS)) $(if $(BOOK_CALIBRATION),--calibration $(BOOK_CALIBRATION)) $(if $(BOOK_HOST_CORES),--host-cores $(BOOK_HOST_CORES)) $(if $(BOOK_REPEAT),--repeat $(BOOK_REPEAT))

book-check: build
	./$(BIN) book --out $(BOOK_DIR) --backend sim --check

clean:
	rm -rf bin dist

version:
	@echo $(VERSION)

# release: static binaries (CGO_ENABLED=0, -trimpath) for every platform in
# RELEASE_PLATFORMS into dist/, named meshbench-VERSION-OS-ARCH, the man
# pages into dist/man, and dist/SHA256SUMS over all of them (check with
# `cd dist && sha256sum -c SHA256SUMS`). Four cross builds: a few minutes
# on two cores, so CI does not run it (see docs/release.md).
RELEASE_PLATFORMS ?= linux/amd64 linux/arm64 darwin/amd64 darwin/arm64
DIST              := dist
release: man
	@set -e; for p in $(RELEASE_PLATFORMS); do \
		os=$${p%/*}; arch=$${p#*/}; out=$(DIST)/meshbench-$(VERSION)-$$os-$$arch; \
		echo "release: $$out"; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $$out ./cmd/meshbench; \
	done
	cd $(DIST) && rm -f SHA256SUMS && sha256sum meshbench-$(VERSION)-* man/*.1 > SHA256SUMS.tmp && mv SHA256SUMS.tmp SHA256SUMS
	@echo "release: $(DIST)/SHA256SUMS"; cat $(DIST)/SHA256SUMS

# image: the project's two images, FROM scratch (nothing is pulled), each a
# static linux binary for this machine's architecture built here into a
# build context: $(IMAGE), the CLI (docker/meshbench.Dockerfile, with an
# empty work/, the image's writable working directory, where runs/ lands),
# and $(FLEET_IMAGE), the payment fleet (docker/Dockerfile, with an empty
# data/ for the ledger). The kubernetes backend's pods run these two by
# default (--image, --fleet-image; docs/kubernetes.md).
IMAGE       ?= meshbench:dev
FLEET_IMAGE ?= meshbench/paymentsvc:dev
IMAGE_CTX   := $(DIST)/image
FLEET_CTX   := $(DIST)/fleet-image
image:
	rm -rf $(IMAGE_CTX) && mkdir -p $(IMAGE_CTX)/work
	CGO_ENABLED=0 GOOS=linux GOARCH=$$($(GO) env GOARCH) $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(IMAGE_CTX)/meshbench ./cmd/meshbench
	cp docker/meshbench.Dockerfile $(IMAGE_CTX)/Dockerfile
	DOCKER_BUILDKIT=0 docker build --build-arg VERSION=$(VERSION) -t $(IMAGE) $(IMAGE_CTX)
	rm -rf $(FLEET_CTX) && mkdir -p $(FLEET_CTX)/data
	CGO_ENABLED=0 GOOS=linux GOARCH=$$($(GO) env GOARCH) $(GO) build -trimpath -o $(FLEET_CTX)/paymentsvc ./cmd/paymentsvc
	cp docker/Dockerfile $(FLEET_CTX)/Dockerfile
	DOCKER_BUILDKIT=0 docker build -t $(FLEET_IMAGE) $(FLEET_CTX)

# docs: the Markdown CLI reference in docs/cli, generated from the cobra
# command tree (checked in; cmd/meshbench's TestCLIReferenceUpToDate fails
# when it is stale). Same as `go generate ./cmd/meshbench`.
docs:
	$(GO) run ./cmd/meshbench gen-docs --markdown docs/cli

# man: the man pages (section 1) into dist/man; `make release` ships them.
man:
	SOURCE_DATE_EPOCH=$$(git log -1 --format=%ct 2>/dev/null || date +%s) $(GO) run -ldflags '$(LDFLAGS)' ./cmd/meshbench gen-docs --man $(DIST)/man

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
