// Package cleverbridge is the Cleverbridge gateway: gateways.Gateway for
// renewals of subscriptions "Handled by Client" through Process Cart
// (POST /cart/processcart, ../shared/seeds/003), and the decoding of
// Cleverbridge's JSON purchase notifications.
//
// A renewal bills the Cleverbridge subscription whose id Cleeng stores as
// the payment details' token: one cart item (the configured product,
// quantity 1) at a dynamic price equal to the Cleeng order's amount and
// currency, with the Cleeng customerId, subscriptionId and orderId as
// x-parameters so that the purchase notification can be matched.
//
// Outcomes (result.go): Paid → Captured with the purchase id as
// PaymentReference (Cleeng's externalPaymentId); WaitingForOfflinePayment →
// Pending, settled by a notification; Pending (declined) and
// CustomerActionNeeded → Refused with a readable reason and the customer's
// URL in Result.CustomerURL (never logged); the payment error codes PAY_CEX,
// PAY_CLE, PAY_DEC, PAY_REJ, FRA_REJ, PAY_SCO (and CCA_EXP) become their
// documented messages; IsPaymentRetryScheduled becomes Result.RetryScheduled.
//
// Capabilities: Cleverbridge only charges. It cannot authorise for a later
// capture, authorise zero amounts, refund through Process Cart (see
// RefundElsewhere), cancel, delete tokens or run shopper actions; those
// methods return permanent errors with a reason an operator can act on.
//
// Failure policy (call.go): Process Cart has no idempotency key, so no call
// is ever repeated in-process. Not sent → transient; sent and the answer
// lost or unreadable → unknown outcome (the flow waits for the purchase
// notification); 400 InvalidRequest and other 4xx → permanent; 500
// InternalServerError, 503, 429 → transient; 502, 504 → unknown outcome.
// Credentials, subscription ids (tokens) and customer URLs never appear in
// an error string; this package does not log.
//
// # Wire format [decided]
//
// The Process Cart page gives the request's outer shape and the statuses
// but not every field; where it is silent these shapes are decided here,
// and the gateway and the sandbox share them (wire.go):
//
//	request  {"processCartRequest": {
//	            "cart": {"items": [{"productId": 123456, "quantity": 1,
//	              "dynamicPrice": {"amount": 9.99, "currencyId": "EUR", "isGross": true}}]},
//	            "defaultLanguageId": "en",
//	            "extraParameters": {"extraParameter": [{"key": "x-customerid", "value": "…"}, …]},
//	            "processCartMode": "Interactive" | "NonInteractive",
//	            "subscription": {"subscriptionId": "S9073119"}}}
//	response {"status": "Paid" | "WaitingForOfflinePayment" | "Pending" | "CustomerActionNeeded"
//	            | "InvalidRequest" (400) | "InternalServerError" (500),
//	          "resultMessage": "…", "purchaseId": "…", "url": "…",
//	          "isPaymentRetryScheduled": false,
//	          "error": {"code": "PAY_CLE", "message": "Credit card limit exceeded"},
//	          "paymentResult": {"code": "CCA_EXP", "message": "…"}}
//
// The status names are the page's "Message" column. The response is also
// read wrapped in {"processCartResponse": …} and with PascalCase names.
// The page writes x-parameters as a repeated "extraParameter" key; they are
// sent as a JSON array under one key and read in either form. x-parameter
// keys are "x-" + the lower-cased metadata key ("x-customerid", as on the
// page); reading them back restores customerId, subscriptionId, orderId.
//
// Purchase notifications (POSTed with basic auth to /webhooks/cleverbridge):
//
//	{"id": "N…", "eventType": "PurchasePaid" | "PurchaseDeclined" | "PurchaseAwaitingPayment",
//	 "createdAt": "2026-01-02T03:04:05Z",
//	 "purchase": {"id": "P…", "status": "Paid", "currencyId": "EUR", "totalGross": 9.99,
//	   "items": [{"productId": 123456, "quantity": 1, "recurringBilling": {"subscriptionId": "S9073119"}}],
//	   "extraParameters": {"extraParameter": [{"key": "x-orderid", "value": "…"}, …]},
//	   "error": {"code": "PAY_DEC", "message": "General decline"}}}
//
// "recurringBilling.subscriptionId" is as on the page; the rest models
// Cleverbridge's paid / declined / awaiting-payment purchase notifications.
// id is stable across re-sends; DedupID is purchase id + event type + id.
package cleverbridge
