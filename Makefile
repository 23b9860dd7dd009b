# swarm: build, test, run a local cluster, build the image.
GO        ?= go
COMMIT    := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS   := -s -w -X swarm/internal/version.Commit=$(COMMIT)
BIN       := bin
# The engine `make image` builds on: $DOCKER_HOST, else node-0 of `make cluster`.
IMAGE_HOST ?= $(or $(DOCKER_HOST),tcp://10.99.0.10:2375)
INTEGRATION_TIMEOUT ?= 70m

.PHONY: all build deps test unit fuzz integration cluster cluster-down image docs fmt vet bench clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN)/swarm ./cmd/swarm
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/swarm-testbed ./cmd/swarm-testbed

# Installs what the test bed needs (Debian packages, the Consul agent, a busybox rootfs); quick when all is there.
deps:
	bash scripts/testbed-deps.sh

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	$(GO) vet -tags integration ./...

# Unit tests with the race detector, short fuzzing, then integration tests on real engines and Consul.
test: vet unit fuzz integration

# A count of executions, not a duration: with a duration, Go's fuzz coordinator can report its own deadline as a
# failure ("context deadline exceeded") when the time runs out mid-minimization on a loaded machine.
FUZZTIME ?= 100000x
FUZZ_TARGETS := FuzzCreateBody:./cluster FuzzExpressions:./scheduler FuzzDiscoveryURL:./discovery FuzzPipeworkArgs:./pipework

fuzz:
	@for t in $(FUZZ_TARGETS); do \
		name=$${t%%:*}; pkg=$${t#*:}; \
		echo "fuzz $$name ($$pkg) for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	done

unit:
	$(GO) test -race -count=1 ./...

# One package at a time (-p 1): the load and failover tests measure the manager, so they do not share the
# machine's two cores with another package's engines.
integration: deps
	bash scripts/testbed-deps.sh --tests
	$(GO) test -tags integration -count=1 -p 1 -timeout $(INTEGRATION_TIMEOUT) ./...

# A local cluster: Consul, 3 engines (node-0..2), a join per engine and a manager on 127.0.0.1:2377.
cluster: build deps
	$(BIN)/swarm-testbed up --slot 0 --engines 3 --consul --swarm $(abspath $(BIN)/swarm)

cluster-down:
	@test -x $(BIN)/swarm-testbed || CGO_ENABLED=0 $(GO) build -o $(BIN)/swarm-testbed ./cmd/swarm-testbed
	$(BIN)/swarm-testbed down --slot 0

# The swarm image, FROM scratch, built on a test bed engine without any registry.
image: build
	rm -rf $(BIN)/image && mkdir -p $(BIN)/image
	cp $(BIN)/swarm Dockerfile $(BIN)/image/
	cp /etc/ssl/certs/ca-certificates.crt $(BIN)/image/
	docker -H $(IMAGE_HOST) build -t swarm:latest -t swarm:$(COMMIT) $(BIN)/image

docs:
	$(GO) run ./cmd/swarm-docs > docs/reference.md

# Benchmarks report figures, they never fail on a time: the scheduler's Go benchmarks, the manager on a simulated
# fleet of 1,000 and 10,000 engines x 30 containers, and manager vs direct engine on the real test bed.
BENCH_SIZES ?= 1000,10000
bench: build deps
	CGO_ENABLED=0 $(GO) build -o $(BIN)/swarm-sim ./cmd/swarm-sim
	CGO_ENABLED=0 $(GO) build -o $(BIN)/swarm-bench ./cmd/swarm-bench
	$(GO) test -run '^$$' -bench . -benchmem ./scheduler/
	$(BIN)/swarm-bench --swarm $(BIN)/swarm --sim $(BIN)/swarm-sim --sizes $(BENCH_SIZES) --real --json $(BIN)/bench.json

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf $(BIN)
