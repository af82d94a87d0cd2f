// Package chaos is `connector-dev chaos` (`make chaos`): the connector as
// real OS processes (a 3-node JetStream cluster of nats-server processes,
// 2 `connector ingress`, 3 `connector worker`, `connector-dev sandbox`), a
// population of subscriptions driven through purchases, renewals, refunds,
// card updates and terminations, and a seeded fault schedule meanwhile
// (sandbox errors, lost and late answers, latency, duplicated and late
// webhooks, SIGKILLed workers, ingresses and NATS nodes, stream leaders
// stepped down). When the population is done, faults off and the connector
// quiet, it checks DESIGN section 4's promise from both sandboxes' ledgers
// and the connector's records and prints one table; any violation fails
// the run and names the seed that replays its schedule.
package chaos
