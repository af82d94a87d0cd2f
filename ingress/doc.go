// Package ingress is the connector's thin HTTP edge (DESIGN section 6): it
// authenticates and validates Cleeng webhooks, Adyen and Cleverbridge
// notifications and front-end checkout calls, stores each durably on
// JetStream with a content-derived Nats-Msg-Id, and answers only after the
// store acknowledged it. No gateway or Cleeng call happens here; a rejected
// request publishes nothing; 503 means "not stored, send again".
package ingress
