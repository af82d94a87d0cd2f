# The connector's commands. Only Go and make are needed.
GO          ?= go
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
BIN         ?= bin/connector
IMAGE       ?= cleeng-connector:dev
NATS_IMAGE  ?= cleeng-connector-nats:dev
STATIC      = CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-s -w'
export TESTCONTAINERS_RYUK_DISABLED = true

.PHONY: run test build lint bench demo image clean

## run: everything in one process (embedded NATS, ingress on :8080, workers, sandboxes on :8090)
run: build
	$(BIN) dev

## test: every test, including the end-to-end and container tests (skipped without Docker)
test:
	$(GO) test -count=1 -timeout 45m ./...

## demo: a subscription through purchase, renewals, a refusal, a refund, a card update and termination
demo: build
	$(BIN) demo

## build: the static binary
build:
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN) ./cmd/connector

## image: the FROM scratch images of the connector and of nats-server (docker-compose.yml runs them)
image:
	$(STATIC) -o bin/image/connector/connector ./cmd/connector
	$(STATIC) -o bin/image/nats-server/nats-server github.com/nats-io/nats-server/v2
	mkdir -p bin/image/nats-server/data
	docker build -q -f build/connector.Dockerfile -t $(IMAGE) bin/image/connector
	docker build -q -f build/nats-server.Dockerfile -t $(NATS_IMAGE) bin/image/nats-server

## lint: gofmt, go vet, staticcheck, and go.mod tidy
lint:
	$(GO) mod tidy -diff
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1)
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

## bench: benchmarks with the machine's reference numbers in the same run
bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 2s ./...

clean:
	rm -rf bin data
