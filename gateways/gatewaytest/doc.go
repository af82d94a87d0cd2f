// Package gatewaytest is the conformance suite every gateways.Gateway and
// its sandbox pass (RunConformance), with a Recorder for the events a
// gateway's notifications produce. It imports testing, so it lives apart
// from package gateways; only tests import it.
package gatewaytest
