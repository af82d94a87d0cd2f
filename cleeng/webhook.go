package cleeng

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cleeng-connector/connector/internal/failure"
	"github.com/cleeng-connector/connector/internal/money"
)

// Topic is a Cleeng webhook topic.
type Topic string

// Topics the connector receives [doc; payloads of the last three decided].
const (
	TopicPaymentAuthorisation      Topic = "subscriptionReadyForPaymentAuthorisation"
	TopicPaymentCapture            Topic = "subscriptionReadyForPaymentCapture"
	TopicTermination               Topic = "subscriptionReadyForTermination"
	TopicRefundPayment             Topic = "refundPayment"
	TopicPaymentDetailsDeactivated Topic = "paymentDetailsDeactivated"
	// TopicCapturePayment is required by Cleeng but its payload is
	// unpublished: accepted, recorded and ignored.
	TopicCapturePayment Topic = "capturePayment"

	// topicDeactivatedSeedSpelling is how Cleeng's connector checklist
	// writes the deactivation topic; it is read as TopicPaymentDetailsDeactivated.
	topicDeactivatedSeedSpelling Topic = "PaymentDetailsDeactivated"
)

// RequiredTopics are the topics the connector registers its URL for
// (Subscribe), in the spelling it registers [decided: the API's camelCase].
var RequiredTopics = []string{
	string(TopicPaymentAuthorisation),
	string(TopicPaymentCapture),
	string(TopicTermination),
	string(TopicRefundPayment),
	string(TopicPaymentDetailsDeactivated),
	string(TopicCapturePayment),
}

// ParseTopic returns the canonical topic for name, accepting both
// spellings of the deactivation topic; ok is false for an unknown topic.
func ParseTopic(name string) (t Topic, ok bool) {
	t = Topic(name)
	if t == topicDeactivatedSeedSpelling {
		return TopicPaymentDetailsDeactivated, true
	}
	_, ok = topicFlows[t]
	return t, ok
}

// Flow names the flow that handles a webhook.
type Flow string

const (
	FlowAuthorise         Flow = "authorise"
	FlowCapture           Flow = "capture" // capture (split) or capture-only (direct charge)
	FlowTerminate         Flow = "terminate"
	FlowRefund            Flow = "refund"
	FlowDeactivateDetails Flow = "deactivate-details"
	// FlowNone: accept, record and ignore (capturePayment).
	FlowNone Flow = ""
)

var topicFlows = map[Topic]Flow{
	TopicPaymentAuthorisation:      FlowAuthorise,
	TopicPaymentCapture:            FlowCapture,
	TopicTermination:               FlowTerminate,
	TopicRefundPayment:             FlowRefund,
	TopicPaymentDetailsDeactivated: FlowDeactivateDetails,
	TopicCapturePayment:            FlowNone,
}

// FlowOf returns the flow of a canonical topic; FlowNone for a topic no flow handles.
func FlowOf(t Topic) Flow { return topicFlows[t] }

// TopicsOf returns the canonical topics whose webhooks flow f handles.
func TopicsOf(f Flow) []Topic {
	var out []Topic
	for _, name := range RequiredTopics {
		if t := Topic(name); topicFlows[t] == f && f != FlowNone {
			out = append(out, t)
		}
	}
	return out
}

// Webhook is a decoded, validated Cleeng webhook. Exactly one of the data
// fields is set, according to Topic.
type Webhook struct {
	BroadcasterID ID
	// Topic is canonical: PaymentDetailsDeactivated reads as paymentDetailsDeactivated.
	Topic Topic
	// Dunning is set for the authorisation and capture topics.
	Dunning *DunningData
	// Termination is set for subscriptionReadyForTermination.
	Termination *TerminationData
	// Refund is set for refundPayment.
	Refund *RefundData
	// Deactivation is set for paymentDetailsDeactivated.
	Deactivation *DeactivationData
	// Unparsed is the data of capturePayment, whose shape is unpublished.
	Unparsed json.RawMessage
}

// DunningData is the data of subscriptionReadyForPaymentAuthorisation and
// subscriptionReadyForPaymentCapture [doc]. It carries no amount: the amount
// is the totalPrice of the order the connector creates.
type DunningData struct {
	SubscriptionID   ID     `json:"subscriptionId"`
	OfferID          string `json:"offerId"`
	CustomerID       ID     `json:"customerId"`
	CustomerEmail    string `json:"customerEmail,omitempty"`
	PaymentDetailsID ID     `json:"paymentDetailsId"`
	Active           bool   `json:"active"`
	// DunningAttemptDate (ISO-8601, read as RFC 3339) identifies the
	// attempt; kept as sent.
	DunningAttemptDate string `json:"dunningAttemptDate"`
	// DunningStatus is "authorize" or "capture" [doc].
	DunningStatus   string `json:"dunningStatus,omitempty"`
	ExpirationDate  string `json:"expirationDate,omitempty"`
	Currency        string `json:"currency"`
	PaymentCountry  string `json:"paymentCountry"`
	PaymentMethodID ID     `json:"paymentMethodId"`
	// Token is the recurring token of the payment details. Never logged.
	Token          Secret `json:"token"`
	PaymentGateway string `json:"paymentGateway,omitempty"`
}

func (d *DunningData) validate() error {
	if err := requireAll(
		present{"subscriptionId", d.SubscriptionID != ""},
		present{"offerId", d.OfferID != ""},
		present{"customerId", d.CustomerID != ""},
		present{"paymentDetailsId", d.PaymentDetailsID != ""},
		present{"dunningAttemptDate", d.DunningAttemptDate != ""},
		present{"currency", d.Currency != ""},
		present{"paymentCountry", d.PaymentCountry != ""},
		present{"paymentMethodId", d.PaymentMethodID != ""},
		present{"token", d.Token != ""},
	); err != nil {
		return err
	}
	if _, err := d.attemptTime(); err != nil {
		return err
	}
	return knownCurrency(d.Currency)
}

// attemptTime reads DunningAttemptDate.
func (d *DunningData) attemptTime() (time.Time, error) {
	t, err := time.Parse(time.RFC3339, d.DunningAttemptDate)
	if err != nil {
		return time.Time{}, &FieldError{Field: "data.dunningAttemptDate", Problem: fmt.Sprintf("%q is not an ISO-8601 timestamp like 2024-05-17T10:00:00+00:00", d.DunningAttemptDate)}
	}
	return t, nil
}

// knownCurrency refuses a currency ISO 4217 does not list: no order of
// Cleeng's is priced in it.
func knownCurrency(currency string) error {
	if _, err := money.Exponent(currency); err != nil {
		return &FieldError{Field: "data.currency", Problem: err.Error()}
	}
	return nil
}

// TerminationData is the data of subscriptionReadyForTermination [decided].
type TerminationData struct {
	SubscriptionID ID     `json:"subscriptionId"`
	CustomerID     ID     `json:"customerId,omitempty"`
	OfferID        string `json:"offerId,omitempty"`
}

func (d *TerminationData) validate() error {
	return requireAll(present{"subscriptionId", d.SubscriptionID != ""})
}

// RefundData is the data of refundPayment [decided].
type RefundData struct {
	PaymentID         ID      `json:"paymentId"`
	OrderID           ID      `json:"orderId"`
	CustomerID        ID      `json:"customerId,omitempty"`
	ExternalPaymentID string  `json:"externalPaymentId"`
	Amount            Decimal `json:"amount"`
	Currency          string  `json:"currency"`
	Reason            string  `json:"reason,omitempty"`
	amountSet         bool
}

func (d *RefundData) validate() error {
	if err := requireAll(
		present{"paymentId", d.PaymentID != ""},
		present{"orderId", d.OrderID != ""},
		present{"externalPaymentId", d.ExternalPaymentID != ""},
		present{"amount", d.amountSet},
		present{"currency", d.Currency != ""},
	); err != nil {
		return err
	}
	if err := knownCurrency(d.Currency); err != nil {
		return err
	}
	if !d.Amount.IsPositive() {
		return &FieldError{Field: "data.amount", Problem: "must be positive"}
	}
	// Cleeng's amounts are in ISO 4217's units: one finer than the
	// currency's, or beyond any payment, is no refund of a payment.
	if _, err := money.ISO4217.Minor(money.Amount{Value: d.Amount.Decimal, Currency: d.Currency}); err != nil {
		return &FieldError{Field: "data.amount", Problem: err.Error()}
	}
	return nil
}

// DeactivationData is the data of paymentDetailsDeactivated [decided].
type DeactivationData struct {
	PaymentDetailsID ID `json:"paymentDetailsId"`
	CustomerID       ID `json:"customerId"`
	PaymentMethodID  ID `json:"paymentMethodId"`
	// Token is the recurring token to delete at the gateway. Never logged.
	Token Secret `json:"token,omitempty"`
}

func (d *DeactivationData) validate() error {
	return requireAll(
		present{"paymentDetailsId", d.PaymentDetailsID != ""},
		present{"customerId", d.CustomerID != ""},
		present{"paymentMethodId", d.PaymentMethodID != ""},
	)
}

// ErrUnknownTopic is returned (wrapped) by DecodeWebhook for a topic the
// connector does not know; the Webhook returned with it has Topic set.
var ErrUnknownTopic = errors.New("unknown webhook topic")

// ErrWrongBroadcaster is returned (wrapped) by CheckBroadcaster.
var ErrWrongBroadcaster = errors.New("webhook broadcasterId does not match the configured publisher")

// FieldError names the field of a webhook that is missing or malformed, as
// a JSON path: "data.subscriptionId: required".
type FieldError struct {
	Field   string
	Problem string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Problem }

// envelope is every webhook's body [doc].
type envelope struct {
	BroadcasterID *ID             `json:"broadcasterId"`
	Topic         *string         `json:"topic"`
	Data          json.RawMessage `json:"data"`
}

// DecodeWebhook decodes and validates a webhook body. Errors are classified
// permanent (the same body never decodes better) and are, or wrap, a
// *FieldError naming the field, ErrUnknownTopic, or a JSON syntax error.
// For an unknown topic the returned Webhook has Topic set.
func DecodeWebhook(raw []byte) (Webhook, error) {
	var env envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		return Webhook{}, failure.Permanent(fmt.Errorf("webhook: %w", jsonFieldError("", err)))
	}
	if env.Topic == nil || *env.Topic == "" {
		return Webhook{}, failure.Permanent(&FieldError{Field: "topic", Problem: "required"})
	}
	topic, known := ParseTopic(*env.Topic)
	w := Webhook{Topic: topic}
	if !known {
		return w, failure.Permanent(fmt.Errorf("webhook topic %q: %w", *env.Topic, ErrUnknownTopic))
	}
	if env.BroadcasterID == nil || *env.BroadcasterID == "" {
		return w, failure.Permanent(&FieldError{Field: "broadcasterId", Problem: "required"})
	}
	w.BroadcasterID = *env.BroadcasterID
	data := bytes.TrimSpace(env.Data)
	if len(data) == 0 || data[0] != '{' {
		return w, failure.Permanent(&FieldError{Field: "data", Problem: "required, an object"})
	}
	if err := w.decodeData(data); err != nil {
		return w, failure.Permanent(err)
	}
	return w, nil
}

// decodeData fills the data field of w's topic and validates it.
func (w *Webhook) decodeData(data []byte) error {
	var target interface{ validate() error }
	switch w.Topic {
	case TopicPaymentAuthorisation, TopicPaymentCapture:
		w.Dunning = &DunningData{}
		target = w.Dunning
	case TopicTermination:
		w.Termination = &TerminationData{}
		target = w.Termination
	case TopicRefundPayment:
		w.Refund = &RefundData{}
		target = w.Refund
	case TopicPaymentDetailsDeactivated:
		w.Deactivation = &DeactivationData{}
		target = w.Deactivation
	default: // TopicCapturePayment: shape unpublished, kept compact for a stable dedup id.
		var buf bytes.Buffer
		if err := json.Compact(&buf, data); err != nil {
			return jsonFieldError("data", err)
		}
		w.Unparsed = buf.Bytes()
		return nil
	}
	if err := json.Unmarshal(data, target); err != nil {
		return jsonFieldError("data", err)
	}
	if w.Refund != nil {
		var probe struct {
			Amount json.RawMessage `json:"amount"`
		}
		_ = json.Unmarshal(data, &probe)
		w.Refund.amountSet = len(probe.Amount) > 0 && string(probe.Amount) != "null"
	}
	return target.validate()
}

// Flow returns the flow that handles the webhook; FlowNone for capturePayment.
func (w Webhook) Flow() Flow { return FlowOf(w.Topic) }

// DedupID identifies the webhook by its content, since Cleeng's webhooks
// carry no event id [decided]: a hash of the topic and the fields that
// identify the event. A re-sent copy has the same id; the next dunning
// attempt (a new dunningAttemptDate) has a new one.
func (w Webhook) DedupID() string {
	parts := []string{"cleeng", string(w.Topic)}
	switch {
	case w.Dunning != nil:
		parts = append(parts, string(w.Dunning.SubscriptionID), w.Dunning.DunningAttemptDate)
	case w.Termination != nil:
		parts = append(parts, string(w.Termination.SubscriptionID))
	case w.Refund != nil:
		parts = append(parts, string(w.Refund.PaymentID))
	case w.Deactivation != nil:
		parts = append(parts, string(w.Deactivation.PaymentDetailsID))
	default:
		parts = append(parts, string(w.Unparsed))
	}
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// AttemptWindow bounds the dunning attempts whose webhooks are taken: an
// attempt dated more than MaxAge before now, or more than MaxAhead after
// it, is refused. Cleeng sends an attempt's webhook when the attempt is
// due, so only a webhook held back or replayed is that old, and only a
// forged one or a clock far off dates it ahead. MaxAge shorter than the
// operation records' retention is what makes a replay harmless at any
// time: while a copy is accepted, the record of its attempt still exists
// and stops a second charge (DESIGN section 11).
type AttemptWindow struct {
	MaxAge, MaxAhead time.Duration
}

// ErrAttemptOutsideWindow is returned (wrapped) by CheckAttempt.
var ErrAttemptOutsideWindow = errors.New("dunning attempt outside the accepted window")

// CheckAttempt returns an error wrapping ErrAttemptOutsideWindow when the
// webhook is a dunning attempt dated outside window around now. Other
// topics, which charge nothing, pass.
func (w Webhook) CheckAttempt(now time.Time, window AttemptWindow) error {
	if w.Dunning == nil {
		return nil
	}
	at, err := w.Dunning.attemptTime()
	if err != nil {
		return err
	}
	switch age := now.Sub(at); {
	case age > window.MaxAge:
		return fmt.Errorf("%w: dunningAttemptDate %s is %s old, more than %s: a webhook held back or replayed is not charged",
			ErrAttemptOutsideWindow, w.Dunning.DunningAttemptDate, age.Round(time.Second), window.MaxAge)
	case -age > window.MaxAhead:
		return fmt.Errorf("%w: dunningAttemptDate %s is %s ahead of now, more than %s",
			ErrAttemptOutsideWindow, w.Dunning.DunningAttemptDate, (-age).Round(time.Second), window.MaxAhead)
	}
	return nil
}

// CheckBroadcaster returns an error wrapping ErrWrongBroadcaster unless
// the webhook's broadcasterId is expected: an empty expected id accepts none.
func (w Webhook) CheckBroadcaster(expected ID) error {
	if expected != "" && w.BroadcasterID == expected {
		return nil
	}
	return failure.Permanent(fmt.Errorf("broadcasterId %s: %w", w.BroadcasterID, ErrWrongBroadcaster))
}

type present struct {
	name string
	ok   bool
}

// requireAll returns a FieldError for the first field not present.
func requireAll(fields ...present) error {
	for _, f := range fields {
		if !f.ok {
			return &FieldError{Field: "data." + f.name, Problem: "required"}
		}
	}
	return nil
}

// jsonFieldError turns a JSON type error into a FieldError naming the
// field under prefix; other errors pass through.
func jsonFieldError(prefix string, err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		field := te.Field
		if prefix != "" {
			field = prefix + "." + field
		}
		return &FieldError{Field: field, Problem: "wrong type: " + te.Value}
	}
	var fe *FieldError
	if errors.As(err, &fe) {
		return err
	}
	return fmt.Errorf("malformed JSON: %w", err)
}
