// Package cleeng is the connector's side of Cleeng's Core API 3.1
// (../shared/cleeng-api.md): a typed Payment API client, the webhook types
// Cleeng sends, their validation, signature check, dedup id and
// topic-to-flow mapping, and Subscribe, which registers the connector's
// webhook URL.
//
// Failures are classified at this boundary with internal/failure:
//   - transient: network errors before the request left, timeouts and
//     dropped connections of calls safe to repeat, 429 and 5xx;
//   - permanent: any other 4xx (an *APIError with Cleeng's message), and a
//     409 on POST /payments (a *ConflictError carrying the payment Cleeng
//     already holds for that externalPaymentId);
//   - unknown outcome: a POST /orders, /payments or /payment_details whose
//     request may have reached Cleeng but whose answer was lost (timeout,
//     dropped connection, 500/502/504). These calls are never repeated here:
//     Cleeng has no idempotency key, so the flow checks what Cleeng holds
//     before writing again (DESIGN section 4).
//
// Calls safe to repeat (GET, PUT, DELETE, and PATCH to a target status) are
// retried with exponential backoff (cenkalti/backoff/v4) within their
// deadline. Every attempt has its own deadline (Config.Timeout).
//
// The publisher token is a secret: it is sent only in the X-Publisher-Token
// header, never logged, and removed from any error text.
//
// Every choice the contract marks [decided] lives in one constant or one
// field tag, so it can be corrected in one line once checked against a real
// Cleeng sandbox account.
package cleeng
