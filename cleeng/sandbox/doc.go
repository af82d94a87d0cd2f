// Package sandbox is a stateful in-memory simulator of Cleeng's Core API
// 3.1 as the connector uses it (../shared/cleeng-api.md), for tests,
// `connector-dev dev` and anyone building against the connector without a
// Cleeng account.
//
// Handler serves two trees, and can be mounted under a prefix with
// http.StripPrefix (the dev server mounts it at /cleeng, so the API base is
// <host>/cleeng/3.1):
//
//	/3.1/...      the Payment API, X-Publisher-Token required (401)
//	POST /auths   a customer's login (MediaStore's): {email, password, publisherId}
//	              answers {responseData: {jwt, customerId, customerEmail}}, a customer
//	              JWT signed RS256 with the sandbox's key (any password: it keeps none)
//	GET /.well-known/jwks.json  the public keys of those tokens
//	/sandbox/...  controls, never reached by production code:
//	  POST /sandbox/offers, /sandbox/customers, /sandbox/subscriptions   seed data (JSON)
//	  POST /sandbox/subscriptions/{id}/dunning                          run a dunning cycle
//	  POST /sandbox/webhooks                                            send one webhook (EmitRequest)
//	  GET  /sandbox/state[?after=N]                                     the whole state (once past version N)
//	  GET|POST|DELETE /sandbox/faults                                   fault injection on /3.1 routes
//
// It enforces the rules a real account enforces: order prices come from
// the offer's price for the country, orders expire, payments move only
// authorized → captured | rejected | cancelled and captured → refunded
// (refund at most the captured amount), one payment per externalPaymentId
// (409 with the existing payment as the body), payment details carry
// `active`, subscriptions go active → terminated and switch payment
// details. Externally-managed subscriptions (POST /subscriptions, one per
// externalSubscriptionId, 409 with it for a second) are paid by the
// orderless POST /payments form, whose captured payments after the first
// extend them by a period, and take the statuses active and cancelled
// too (external.go). Setting a status a payment or subscription already has, with
// the same values, answers 200 unchanged, so a PATCH whose response was
// lost can be sent again. Both "authorized" and "authorised" are accepted.
//
// Webhooks are sent to the URLs registered with PUT
// /3.1/webhook_subscriptions/{topic}, as {broadcasterId, topic, data},
// signed with hex(HMAC-SHA256(secret, body)) in X-Cleeng-Signature, and
// re-sent until answered 200 (Options.WebhookAttempts).
//
// Fault paths (faultinject.Fault.PathPrefix) are relative to the mount:
// "/3.1/payments".
package sandbox
