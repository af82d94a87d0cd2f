// Package sandbox simulates Cleverbridge's Process Cart for tests,
// `connector-dev dev` and `connector-dev sandbox`: an http.Handler serving
// POST /cart/processcart (basic auth) and /sandbox/... controls. Mount it
// under a prefix with http.StripPrefix; dev uses /cleverbridge, so the API
// base URL is <host>/cleverbridge.
//
// Each call is validated strictly (unknown fields, a missing subscription
// id, x-parameters not starting with "x-", more decimals than the currency
// has: 400 InvalidRequest naming the field), recorded (Calls), and answered
// by the referenced subscription's Scenario:
//
//	Paid                     200, purchase created, PurchasePaid notification
//	WaitingForOfflinePayment 200, purchase created, PurchaseAwaitingPayment
//	                         notification; Settle sends PurchasePaid or PurchaseDeclined
//	Pending                  200, purchase created (declined), URL, the payment error
//	                         code if set, PurchaseDeclined notification
//	CustomerActionNeeded     200, URL; a purchase only in NonInteractive mode
//	InvalidRequest           400; InternalServerError 500 (nothing created)
//
// Test subscription ids: S-OFFLINE, S-PENDING, S-ACTION-NEEDED, S-INVALID,
// S-ERROR, S-<code> for each payment error code (S-PAY_CEX, …, Pending with
// that code), S-CCA_EXP (Pending, CCA_EXP, retry scheduled); any other id is
// paid. SetScenario overrides any id.
//
// Notifications carry the request's x-parameters and the subscription id
// (recurringBilling), are POSTed as JSON with basic auth to the notify
// target after the answer (asynchronously), and re-sent until answered 200.
//
// Controls:
//
//	GET  /sandbox/state, /sandbox/calls
//	PUT|DELETE /sandbox/scenarios/{subscriptionId}   Scenario JSON
//	POST /sandbox/purchases/{id}/settle              {"paid": true}
//	POST /sandbox/notify-target                      {"URL", "Username", "Password"}
//	POST /sandbox/notifications/{index}/resend       the notification again (Resend)
//	POST /sandbox/billings                           Cleverbridge bills by itself (Bill):
//	                                                 PurchasePaid or PurchaseDeclined
//	POST /sandbox/purchases/{id}/refund              support refunds a paid purchase: PurchaseRefunded
//	POST /sandbox/subscriptions/{id}/cancel          renewals end: SubscriptionDeactivated
//	GET|POST|DELETE /sandbox/faults                  fault injection on /cart/processcart
//
// Fault injection (internal/faultinject) covers latency, error rates and
// DropResponse: the purchase is made and its notification sent, then the
// connection is closed without an answer.
package sandbox
