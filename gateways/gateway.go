// Package gateways defines what the flows need from a payment gateway: the
// Gateway interface, its capability flags, and result types carrying what
// Cleeng needs. Implementations live in sub-packages (adyen, cleverbridge),
// each with a sandbox, and all pass the conformance suite in this package.
//
// Failures are classified at this boundary with internal/failure:
// transient (network before sending, 5xx, 429), permanent (4xx), unknown
// outcome (the request may have been applied). A refusal is not an error: it
// is a Result with Outcome Refused and a reason.
package gateways

import (
	"context"
	"encoding/json"

	"github.com/cleeng-connector/connector/internal/money"
)

// Outcome of a gateway call.
type Outcome string

const (
	Authorised     Outcome = "authorised"      // funds reserved, capture later
	Captured       Outcome = "captured"        // charged (or, for a modification, accepted for capture)
	Refused        Outcome = "refused"         // a business outcome, with RefusalReason
	Pending        Outcome = "pending"         // final outcome arrives by notification
	ActionRequired Outcome = "action_required" // shopper must act (3-D Secure, redirect): Action
	Received       Outcome = "received"        // modification accepted; confirmed later by notification
)

// Capabilities say honestly what a gateway can do; flows choose their path by them.
type Capabilities struct {
	SeparateCapture bool // authorise now, capture later
	ZeroAmountAuth  bool // validate a card and store a token without charging
	Refund          bool
	Cancel          bool // cancel an open authorisation
	DeleteToken     bool
	ShopperActions  bool // 3-D Secure / redirects completed through CompleteAction
	// IdempotencyKeys: the gateway honours PayRequest.IdempotencyKey, so a
	// call whose outcome is unknown may be repeated with the same key.
	// Without it, such a call is never repeated: the flow waits for the
	// gateway's notification instead.
	IdempotencyKeys bool
	// RefundElsewhere says where refunds are made when Refund is false, for
	// the operator reading the dead-letter reason.
	RefundElsewhere string
}

// PayRequest asks for a first payment (front-end data in PaymentMethod) or a
// merchant-initiated renewal (Token set).
type PayRequest struct {
	// IdempotencyKey is derived from the business operation and identical on every retry.
	IdempotencyKey string
	// Reference is the merchant reference: the Cleeng order id.
	Reference string
	// Amount is the order's amount and currency; zero for a free trial.
	Amount money.Amount
	// ShopperReference identifies the shopper at the gateway: the Cleeng customerId.
	ShopperReference string
	// PaymentMethod is the gateway's front-end payment data (first payment). Never logged.
	PaymentMethod json.RawMessage
	// Token is the stored recurring token (renewal). Never logged.
	Token string
	// StoreToken asks for a recurring token (first payment of a subscription).
	StoreToken bool
	// AuthoriseOnly reserves funds for a later Capture.
	AuthoriseOnly bool
	// Shopper is the front-end's word on the shopper (a first payment).
	Shopper
	// Metadata ties gateway notifications back to Cleeng (customerId, subscriptionId, orderId).
	Metadata map[string]string
}

// Shopper is what a gateway needs of the shopper at a first payment, for a
// shopper action (3-D Secure, a redirect) and its risk checks. The
// front-end gives it, but for ShopperIP, which the ingress takes from the
// connection. Its JSON is the front-end commands' (messages).
type Shopper struct {
	// ReturnURL is where a redirect sends the shopper back.
	ReturnURL   string          `json:"returnUrl,omitempty"`
	BrowserInfo json.RawMessage `json:"browserInfo,omitempty"`
	ShopperIP   string          `json:"shopperIP,omitempty"`
	// Origin is the checkout page's origin, where in-page 3-D Secure runs.
	Origin string `json:"origin,omitempty"`
	// BillingAddress is the shopper's address as the front-end collected
	// it (Drop-in's state.data.billingAddress), for the issuer's address
	// checks. Never logged.
	BillingAddress json.RawMessage `json:"billingAddress,omitempty"`
	// RedirectThreeDS asks for 3-D Secure on the issuer's own page (a
	// redirect the shopper comes back from) instead of inside the checkout
	// page (native), which is the default.
	RedirectThreeDS bool `json:"redirectThreeDS,omitempty"`
}

// ActionRequest completes a shopper action (3-D Secure result, redirect details).
type ActionRequest struct {
	IdempotencyKey string
	Details        json.RawMessage
	PaymentData    string
	// AuthoriseOnly repeats the PayRequest's value, so that an authorised
	// result reads as Authorised rather than Captured.
	AuthoriseOnly bool
}

// ModifyRequest captures, refunds or cancels an earlier payment.
type ModifyRequest struct {
	IdempotencyKey string
	// PaymentReference is the gateway's reference of the payment (Cleeng's externalPaymentId).
	PaymentReference string
	// Reference is the merchant reference for this modification.
	Reference string
	// Amount to capture or refund; ignored by Cancel.
	Amount money.Amount
}

// TokenRequest deletes a stored token.
type TokenRequest struct {
	ShopperReference string
	Token            string
}

// Card summarises the card for Cleeng's paymentMethodSpecificParams.
type Card struct {
	HolderName         string `json:"holderName,omitempty"`
	LastCardFourDigits string `json:"lastCardFourDigits,omitempty"`
	Variant            string `json:"variant,omitempty"`
	CardExpirationDate string `json:"cardExpirationDate,omitempty"` // MM/YYYY
	// Wallet is the wallet that paid with the card ("applepay",
	// "googlepay"): what the shopper recognises beside the last four digits.
	Wallet string `json:"wallet,omitempty"`
}

// Account summarises a payment method that is no card, for Cleeng's
// paymentMethodSpecificParams: a PayPal account, or the bank account of a
// direct debit. Only what a shopper recognises it by, never a full IBAN.
type Account struct {
	PaymentMethod string `json:"paymentMethod"` // the gateway's type: "paypal", "sepadirectdebit", "ideal"
	HolderName    string `json:"holderName,omitempty"`
	PayerID       string `json:"payerId,omitempty"`    // PayPal's payer id
	PayerEmail    string `json:"payerEmail,omitempty"` // the PayPal account's email
	IBAN          string `json:"iban,omitempty"`       // masked: country and last four
}

// Result is what a gateway call produced.
type Result struct {
	Outcome Outcome
	// PaymentReference is the gateway's reference for this payment:
	// Cleeng's externalPaymentId. For a Received modification it is the
	// modification's own reference, which does not replace the payment's.
	PaymentReference string
	// RefusalReason is readable text for Cleeng's rejectedReason.
	RefusalReason string
	// Token is the recurring token when one was stored. Never logged.
	Token string
	// Card is the card summary, when the gateway returned one.
	Card *Card
	// Account is the summary of a method that is no card (PayPal, a bank
	// account), when the gateway returned one.
	Account *Account
	// Action is the gateway's shopper action for the front-end (Outcome ActionRequired).
	Action json.RawMessage
	// PaymentData must be returned with the action's details (where the gateway uses it).
	PaymentData string
	// CustomerURL is where the shopper can resolve a pending payment. Never logged.
	CustomerURL string
	// RetryScheduled: the gateway itself will retry the charge (Cleverbridge).
	RetryScheduled bool
}

// Gateway is one payment gateway.
type Gateway interface {
	Name() string
	Capabilities() Capabilities
	Pay(ctx context.Context, req PayRequest) (Result, error)
	CompleteAction(ctx context.Context, req ActionRequest) (Result, error)
	Capture(ctx context.Context, req ModifyRequest) (Result, error)
	Refund(ctx context.Context, req ModifyRequest) (Result, error)
	Cancel(ctx context.Context, req ModifyRequest) (Result, error)
	DeleteToken(ctx context.Context, req TokenRequest) error
}

// Pacer is implemented by a gateway whose calls wait their turn under a
// rate limit (gateways/guard). Pace waits for the turn of the next call
// made with the context it returns, which then goes out at once. A flow
// calling a gateway without idempotency keys paces before it records its
// intent to call, so the wait is not part of the window in which a crash
// leaves the charge in doubt. An error means no call was made and no turn
// is held: transient (refused) or not yet (the turn comes too late).
type Pacer interface {
	Pace(ctx context.Context) (context.Context, error)
}

// PaymentMethodLister is implemented by gateways whose front-end component
// asks which payment methods to show (Adyen's Drop-in renders its form
// from Adyen's /paymentMethods answer). It is not part of Gateway: a
// gateway with a hosted checkout (Cleverbridge) has no such call, and the
// flows never need one. Callers find it with a type assertion.
type PaymentMethodLister interface {
	PaymentMethods(ctx context.Context, req PaymentMethodsRequest) (PaymentMethods, error)
}

// PaymentMethodsRequest asks which payment methods a shopper can use.
type PaymentMethodsRequest struct {
	// Amount is the order's amount and currency (zero for a free trial);
	// the gateway offers what can pay in that currency.
	Amount money.Amount
	// CountryCode is the shopper's country (ISO 3166-1 alpha-2, e.g. "NL");
	// empty: the methods of every country.
	CountryCode string
	// ShopperReference, when set, adds the shopper's stored methods: the
	// Cleeng customerId, as in PayRequest.
	ShopperReference string
	// Channel is where the form is shown: "Web" (the default), "iOS" or "Android".
	Channel string
	// Allowed limits the answer to these method types (e.g. "scheme",
	// "paypal"), stored methods included; empty: every type the account has.
	Allowed []string
}

// PaymentMethods is what the shopper can pay with. Its JSON is the shape
// of Adyen's /paymentMethods answer, which Drop-in takes as
// paymentMethodsResponse.
type PaymentMethods struct {
	Methods []PaymentMethod       `json:"paymentMethods"`
	Stored  []StoredPaymentMethod `json:"storedPaymentMethods,omitempty"`
	// Amount is the request's amount as the gateway counts it (its own
	// minor units), which the front-end component shows and pays.
	Amount MinorAmount `json:"amount"`
}

// MinorAmount is an amount in a gateway's own minor units (Adyen's
// {value, currency}, as Drop-in takes it).
type MinorAmount struct {
	Value    int64  `json:"value"`
	Currency string `json:"currency"`
}

// PaymentMethod is one method the shopper can choose.
type PaymentMethod struct {
	Type   string   `json:"type"` // the gateway's method type: "scheme" for cards
	Name   string   `json:"name"`
	Brands []string `json:"brands,omitempty"` // card brands ("visa", "mc")
	// Configuration is what the front-end needs for a wallet (Apple Pay's
	// merchantId, Google Pay's gatewayMerchantId).
	Configuration map[string]string `json:"configuration,omitempty"`
	Issuers       []Issuer          `json:"issuers,omitempty"` // banks, for iDEAL and the like
}

// Issuer is a bank the shopper picks for a method with issuers.
type Issuer struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Disabled bool   `json:"disabled,omitempty"`
}

// StoredPaymentMethod is a method stored for the shopper.
type StoredPaymentMethod struct {
	// ID is the gateway's token: the front-end sends it back to pay with
	// the stored method. Never logged.
	ID                           string   `json:"id"`
	Type                         string   `json:"type"`
	Name                         string   `json:"name,omitempty"`
	Brand                        string   `json:"brand,omitempty"`
	LastFour                     string   `json:"lastFour,omitempty"`
	ExpiryMonth                  string   `json:"expiryMonth,omitempty"`
	ExpiryYear                   string   `json:"expiryYear,omitempty"`
	HolderName                   string   `json:"holderName,omitempty"`
	SupportedShopperInteractions []string `json:"supportedShopperInteractions,omitempty"`
}

// EventKind is what a gateway notification reports, normalised across gateways.
type EventKind string

const (
	EventAuthorisation     EventKind = "authorisation"
	EventCapture           EventKind = "capture"
	EventCaptureFailed     EventKind = "capture_failed"
	EventRefund            EventKind = "refund"
	EventRefundFailed      EventKind = "refund_failed"
	EventRefundReversed    EventKind = "refund_reversed" // refunded funds came back to the merchant
	EventCancellation      EventKind = "cancellation"
	EventRecurringContract EventKind = "recurring_contract"
	EventPurchase          EventKind = "purchase" // Cleverbridge purchase notification
	EventOther             EventKind = "other"
)

// Event is one gateway notification, decoded by the gateway's package.
type Event struct {
	Gateway string
	// Code is the gateway's own name of the event (Adyen's eventCode,
	// Cleverbridge's eventType): the flows' decision table is keyed on it.
	Code    string
	Kind    EventKind
	Success bool
	// PaymentReference is the reference of this event (a capture's own reference for CAPTURE).
	PaymentReference string
	// OriginalReference is the payment a modification applies to.
	OriginalReference string
	// MerchantReference is the reference sent with the request (Cleeng order id).
	MerchantReference string
	Amount            money.Amount
	Reason            string
	Token             string
	// Metadata carries matching fields (Cleverbridge x-parameters).
	Metadata map[string]string
	// Modification is what a modification whose effect the gateway chose
	// did: Adyen's CANCEL_OR_REFUND says "cancel" or "refund".
	Modification string
}
