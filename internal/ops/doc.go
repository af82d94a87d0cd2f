// Package ops stores operation records: one record per business operation
// (an initial purchase, a recurring authorisation, a refund ...) in the
// JetStream KV bucket CONNECTOR_OPS (DESIGN section 4, layer 2).
//
// A flow Claims the record for its operation key, records each step's
// result with Save BEFORE moving on to the next step, and ends with Finish
// or Fail. Every write is a compare-and-set on the record's revision, so two
// workers can never both believe they own an operation: a live claim held by
// another worker, or a lost compare-and-set, is a failure.NotYet error and the
// worker runtime redelivers the message later, once the lease can have run
// out. The holder renews its lease (Lease.Renew) with its message's
// heartbeat, so a claim lives as long as its holder; a claim whose lease has
// expired (its worker died) is taken over and resumed from the last saved
// step.
//
// A failed operation stays failed unless Reopen starts a new attempt at it
// (an operator's replay of its dead letter): the failed attempt's step and
// error go to the record's History, and the state is kept.
//
// Records expire with the bucket's TTL (35 days after their last write, set
// by internal/broker), longer than Adyen's 30 days of webhook retries, so a
// late duplicate still finds the outcome.
//
// A Store works on any bucket: index entries that must outlive the
// operation records (the flows' payment index, in CONNECTOR_INDEX) are
// finished records written with PutOnce and completed with Amend; Remove
// deletes one at the revision read (a lock freed by whoever finds it stale).
package ops
