# The connector's commands. Only Go and make are needed.
GO            ?= go
STATICCHECK   ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
IMAGE         ?= cleeng-connector:dev
SANDBOX_IMAGE ?= cleeng-connector-sandbox:dev
NATS_IMAGE    ?= cleeng-connector-nats:dev
# Every build and test here compiles with the same settings, static (the
# images are FROM scratch) and without local paths, so that `make test`
# reuses every package `make build` compiled, and the reverse.
export CGO_ENABLED = 0
export GOFLAGS := $(strip $(GOFLAGS) -trimpath)
export TESTCONTAINERS_RYUK_DISABLED = true
GOBUILD       = $(GO) build -ldflags='-s -w' -o bin/

.PHONY: run test build build-dev binaries connector-knockout lint bench demo chaos image compose-secrets clean

## run: everything in one process (embedded NATS on 127.0.0.1:4222, ingress on :8080, workers, sandboxes on :8090)
run: build-dev
	bin/connector-dev dev

## test: every test, including the end-to-end and container tests (skipped without Docker; they reuse the binaries built here) and the console's in Chromium (screenshots in bin/screenshots)
test: binaries
	CONTAINERTEST_BIN_DIR=$(CURDIR)/bin CONSOLE_SCREENSHOTS_DIR=$(CURDIR)/bin/screenshots $(GO) test -count=1 -timeout 45m ./...

## demo: a subscription through purchase, renewals, a refusal, a refund, a card update and termination
demo: build-dev
	bin/connector-dev demo

## chaos: the connector as OS processes (2 ingress, 3 workers, a 3-node nats-server cluster, the sandboxes) under a seeded fault schedule over 2,000 subscriptions; prints the table of DESIGN section 4's promise and fails on a violation (CHAOS_FLAGS="--seed 42 --subscriptions 10000")
chaos: binaries
	bin/connector-dev chaos $(CHAOS_FLAGS)

## build: bin/connector, the production binary (ingress, worker, cleeng, dlq, ops)
build:
	$(GOBUILD) ./cmd/connector

## build-dev: bin/connector-dev, the development binary (dev, sandbox, demo) that run and demo use
build-dev:
	$(GOBUILD) ./cmd/connector-dev

# binaries: both, and bin/nats-server: what the images hold, in one go build
binaries:
	$(GOBUILD) ./cmd/connector ./cmd/connector-dev github.com/nats-io/nats-server/v2

## connector-knockout: bin/connector-knockout, a test build of the connector (-tags knockout) in which CONNECTOR_KNOCKOUT switches one idempotency mechanism off, never deployed: CHAOS_FLAGS="--knockout intent" (or operation-records, idempotency-keys) shows make chaos failing without it
connector-knockout:
	$(GO) build -tags knockout -ldflags='-s -w' -o bin/connector-knockout ./cmd/connector

## image: the FROM scratch images of the connector, the sandboxes and nats-server (docker-compose.yml runs them)
image: binaries
	rm -rf bin/image && mkdir -p bin/image/connector bin/image/sandbox bin/image/nats-server/data
	cp bin/connector bin/image/connector/
	cp bin/connector-dev bin/image/sandbox/
	cp bin/nats-server bin/image/nats-server/
	docker build -q -f build/connector.Dockerfile -t $(IMAGE) bin/image/connector
	docker build -q -f build/sandbox.Dockerfile -t $(SANDBOX_IMAGE) bin/image/sandbox
	docker build -q -f build/nats-server.Dockerfile -t $(NATS_IMAGE) bin/image/nats-server

## compose-secrets: what docker-compose.yml reads and git must not hold, made where absent: .env (from .env.example, random passwords) and the NATS certificates in .compose/certs
compose-secrets: build-dev
	bin/connector-dev compose-secrets

## lint: gofmt, go vet, staticcheck, go.mod tidy, and the alert rules and dashboard (deploy/) against the exported metrics
lint:
	$(GO) mod tidy -diff
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1)
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	$(GO) test -count=1 -run '^TestAlerts' ./cmd/connector-dev/stack
	@if command -v promtool >/dev/null; then promtool check rules deploy/prometheus/alerts.yml; fi

## bench: benchmarks with the machine's reference numbers in the same run, then one table of the ratios (bin/bench.txt keeps the raw output)
bench: SHELL := /bin/bash
bench:
	@mkdir -p bin
	set -o pipefail; $(GO) test -run '^$$' -bench . -benchmem -benchtime 2s -timeout 60m ./... | tee bin/bench.txt
	@$(GO) run ./cmd/benchtable < bin/bench.txt

clean:
	rm -rf bin data
