// Package containertest runs the connector as it is deployed: the FROM
// scratch images of the connector and of nats-server (build/*.Dockerfile),
// built from this source tree, and a 3-node NATS JetStream cluster on a
// private Docker network, through testcontainers-go.
//
// Its tests skip where no Docker engine answers, so `make test` passes on a
// laptop without one. Nothing is pulled: both images are built FROM scratch
// around binaries that `go build` produces with CGO_ENABLED=0.
package containertest
