// Package sandbox simulates Adyen's Checkout API v71 for tests,
// `connector-dev dev` and `connector-dev sandbox`: an http.Handler serving /v71/... (mount it
// under a prefix with http.StripPrefix; dev uses /adyen, so the checkout URL
// is <host>/adyen/v71), plus /sandbox/state, /sandbox/faults and the
// controls POST /sandbox/tokens/{token}/refuse and
// POST /sandbox/notifications/{index}/resend (Adyen re-sending a
// notification it already delivered), and the Payment accounting report of
// everything it did, as Adyen's report download serves it (GET
// /reports/download/MerchantAccount/{account}/payments_accounting_report*.csv
// with X-API-Key; `connector reconcile` reads it).
//
// It is stateful and keeps Adyen's rules: payments authorise, refuse or ask
// the shopper to act, completed through /payments/details: a 3-D Secure
// challenge in the page (threeDS2 action, when the request prefers
// nativeThreeDS) or on the issuer's page (a redirect action, otherwise, as
// Adyen does since v69), and iDEAL's redirect to the bank (issuer 1160
// refuses; an approved one stores a SEPA Direct Debit token); the
// redirect's result comes back as redirectResult (RedirectResult); Apple
// Pay and Google Pay authorise like the test card in their token
// (WalletMethod); PayPal answers Pending with an sdk action (subtype sdk,
// approved with PayPalApproval's orderID and payerID) or redirects, and
// stores the PayPal account; SEPA Direct Debit (SEPAMethod) authorises at
// once with a valid IBAN (IBANRefused refuses) and stores the mandate;
// tokens are stored per shopperReference and found only under the
// paymentMethod.type they were stored as (scheme for a wallet's card,
// sepadirectdebit for iDEAL's mandate); captures, refunds and cancels are answered
// 201 "received" and confirmed later by an HMAC-signed notification POSTed
// (with basic auth) to the configured URL until it answers 200 [accepted];
// you cannot capture more than was authorised, refund more than was
// captured, or cancel what was captured (those modifications are answered
// "received" and then fail by notification, success "false", as Adyen does).
// /paymentMethods lists cards (the test cards' brands), Apple Pay and
// Google Pay (with the `configuration` Drop-in needs), PayPal (in the
// currencies PayPal settles), SEPA Direct Debit (EUR, SEPA countries) and
// iDEAL (EUR, NL, with Adyen's test issuers), filtered by countryCode,
// currency, channel and allowed/blockedPaymentMethods, and the shopper's
// stored cards (the tokens stored for that shopperReference).
// Idempotency follows Adyen: the same Idempotency-Key returns the first
// answer; while the first is in flight, 422 errorCode 704 with
// Transient-Error: true (Options.Hold keeps calls in flight until a test
// opens the gate). Every answer is application/json.
//
// Events that are not answers to the merchant's calls are played by Go
// methods (outside.go): RefundInCustomerArea (a refund a person makes,
// full or partial), CancelOrRefund (another integration's cancel-or-refund,
// its notification saying which in modification.action), Dispute (the
// stages of a dispute in the order Adyen's dispute process allows, one
// dispute pspReference naming the payment as originalReference), UndoRefund
// (REFUND_FAILED, REFUNDED_REVERSED) and SendEvent (any other event code,
// about a payment; EXPIRE also expires its open authorisation).
//
// Amounts are values in Adyen's minor units (its currency table, not ISO
// 4217's: 1990 ISK is 199000, 99000 IDR is 99000), kept and echoed exactly
// as received. The sandbox never converts them, so a test compares what it
// holds with Adyen's documented values rather than with the gateway's own
// conversion. The report is the one place it writes major units, as Adyen's
// reports do, with the gateway's table (adyen.ReportAmount).
//
// Test data (Adyen's documented test cards and holder-name triggers):
//
//	4111111111111111 visa, 5555444433331111 mc (CVC 737); 370000000000002 amex (CVC 7373)
//	4917610000000000 visa, 5454545454545454 mc: 3-D Secure 2 challenge
//	holderName DECLINED → "Refused", NOT_ENOUGH_BALANCE → "Not enough balance",
//	CARD_EXPIRED → "Expired Card", CVC_DECLINED → "CVC Declined",
//	BLOCK_CARD → "Blocked Card", ISSUER_UNAVAILABLE → "Issuer Unavailable", ERROR → resultCode Error
//	a past expiry date → "Expired Card"; a wrong CVC → "CVC Declined"
//	sandbox only: holderName CAPTURE_FAILED / REFUND_FAILED authorise, then their
//	captures / refunds fail with CAPTURE_FAILED / REFUND_FAILED notifications.
//
// Card data comes as plain fields (number, expiryMonth, expiryYear, cvc) or
// as Adyen's test "encrypted" fields ("test_4111111111111111", "test_03",
// "test_2030", "test_737"), as Drop-in produces them with a test client key.
//
// With Options.Contract set (strict mode), every request is validated against
// Adyen's CheckoutService-v71.json, so is every successful answer, and
// every notification against
// Webhooks-v1.json (copies in openapi/, MIT licence beside them);
// non-conforming requests are answered 422 and every violation is recorded
// for tests (Violations).
package sandbox
