// Package testkit is what the connector's tests share: waiting for a
// condition with a deadline (Eventually), an embedded JetStream broker in a
// temporary directory (Broker) or one on a nats-server process
// (BrokerProcess) and how many messages a stream holds (StreamMsgs), a
// settable clock (Clock), one HTTP exchange with the answer read (Do), work
// spread over goroutines (FanOut), a logger's lines to look for (Logs), an
// executable built once per run (Binary), for tests of real OS processes,
// and the CPU time this process or another has used (CPUTime,
// ProcessCPUTime), for benchmarks.
//
// It is for tests only: its functions take a testing.TB and fail the test
// that calls them.
package testkit
