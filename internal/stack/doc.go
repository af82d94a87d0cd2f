// Package stack assembles the connector's parts into the processes of
// cmd/connector: the ingress with all its routes, the worker with its flows
// and gateways, and the whole development stack (embedded JetStream,
// ingress, workers and the sandboxes on loopback) that `connector dev` runs
// and the end-to-end tests drive.
package stack
