// Package testkit is what the connector's tests share: waiting for a
// condition with a deadline (Eventually), an embedded JetStream broker in a
// temporary directory (Broker) and how many messages a stream holds
// (StreamMsgs), a settable clock (Clock), one HTTP exchange with the answer
// read (Do), work spread over goroutines (FanOut), a logger's lines to look
// for (Logs), and an executable built once per run (Binary), for tests of
// real OS processes.
//
// It is for tests only: its functions take a testing.TB and fail the test
// that calls them.
package testkit
