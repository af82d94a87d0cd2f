// Package stack assembles the development stack that `connector-dev dev`
// runs and the end-to-end tests drive: embedded JetStream, the ingress and
// the workers of cmd/connector/roles, and the sandboxes of Cleeng, Adyen and
// Cleverbridge on loopback, with the development credentials and demo data.
// The production binary does not import it.
package stack
