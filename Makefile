# The connector's commands. Only Go and make are needed.
GO          ?= go
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
BIN         ?= bin/connector
export TESTCONTAINERS_RYUK_DISABLED = true

.PHONY: run test build lint bench demo image clean

## run: everything in one process (embedded NATS, ingress on :8080, workers, sandboxes on :8090)
run:
	$(GO) run ./cmd/connector dev

## test: every test, including the end-to-end and container tests (skipped without Docker)
test:
	$(GO) test -count=1 -timeout 45m ./...

## build: the static binary
build:
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN) ./cmd/connector

## lint: gofmt, go vet, staticcheck
lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1)
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

## bench: benchmarks with the machine's reference numbers in the same run
bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 2s ./...

clean:
	rm -rf bin data
