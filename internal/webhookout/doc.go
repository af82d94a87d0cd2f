// Package webhookout sends webhooks: a JSON body POSTed to a URL, with basic
// auth or extra headers, re-sent with growing waits until the receiver
// accepts it, the attempts run out or the sender stops.
//
// The sandboxes use it to play the platforms' side: Policy.Deliver sends one
// webhook and returns what it came to (the Cleeng sandbox); an Outbox sends
// in the background to a target that may be set or changed later, until
// Close (the Adyen and Cleverbridge sandboxes' notifications).
package webhookout
