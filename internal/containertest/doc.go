// Package containertest runs the connector as it is deployed: the FROM
// scratch images of the production connector, of the sandboxes and of
// nats-server (build/*.Dockerfile), built from this source tree, and a
// 3-node NATS JetStream cluster on a private Docker network, through
// testcontainers-go.
//
// Its tests skip where no Docker engine answers, so `make test` passes on a
// laptop without one. Nothing is pulled: the images are built FROM scratch
// around static binaries (CGO_ENABLED=0), those `make test` built already
// (CONTAINERTEST_BIN_DIR) or, under a plain `go test`, built once per run.
package containertest
