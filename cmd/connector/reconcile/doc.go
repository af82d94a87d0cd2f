// Package reconcile is the composition root of `connector reconcile`: it
// compares what each gateway recorded (Adyen's Payment accounting or
// Settlement details report, Cleverbridge's purchases) with Cleeng's
// payments and the connector's operation records, and lists every drift
// with the action that resolves it. It reads; it never changes anything at
// a gateway, at Cleeng or in the records.
package reconcile
