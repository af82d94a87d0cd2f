// Package adyen is the Adyen gateway: gateways.Gateway on Adyen's Checkout
// API v71, every call through github.com/adyen/adyen-go-api-library/v9, and
// the decoding and verification of Adyen's standard notifications (webhooks).
//
// Failure policy (DESIGN section 5), enforced in call.go: a refusal is a
// Result, not an error. Network errors and timeouts leave the outcome unknown
// and are retried in-process with the SAME idempotency key, a few times with
// backoff; 5xx, 429 and 704/703 with `Transient-Error: true` are retried too;
// every other 4xx is permanent. What is left after the last attempt is
// returned classified with internal/failure, for the worker runtime to act on.
//
// Amounts are in Adyen's own minor units (currency.go), which differ from
// ISO 4217's for CLP, CVE, IDR and ISK, in requests and notifications alike.
//
// Secrets (API key, HMAC keys), card data and recurring tokens never appear
// in an error string; the library's Debug mode, which logs request bodies,
// is never enabled.
package adyen
