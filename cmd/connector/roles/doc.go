// Package roles assembles the connector's production processes for
// cmd/connector: the ingress with all its routes, the worker with its flows
// and gateways, and the worker's probes. It holds nothing of the sandboxes:
// cmd/connector-dev/stack builds the development stack on top of it.
package roles
