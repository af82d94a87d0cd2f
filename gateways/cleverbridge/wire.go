package cleverbridge

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"
)

// The JSON shapes of Process Cart and of purchase notifications, shared by
// the gateway and its sandbox. How they were derived is in doc.go
// ("Wire format").

// ProcessCartMode values.
const (
	ProcessCartInteractive    = "Interactive"
	ProcessCartNonInteractive = "NonInteractive"
)

// Process Cart statuses: the "Message" column of the page's status table.
const (
	StatusPaid                     = "Paid"                     // 200
	StatusRefunded                 = "Refunded"                 // a paid purchase refunded (notifications only)
	StatusWaitingForOfflinePayment = "WaitingForOfflinePayment" // 200
	StatusPending                  = "Pending"                  // 200: payment declined, URL to fix it
	StatusCustomerActionNeeded     = "CustomerActionNeeded"     // 200: customer data invalid or incomplete
	StatusInvalidRequest           = "InvalidRequest"           // 400
	StatusInternalServerError      = "InternalServerError"      // 500
)

// ProcessCartPath is the endpoint, relative to the API base.
const ProcessCartPath = "/cart/processcart"

// ProcessCartBody is the request body: {"processCartRequest": {...}}.
type ProcessCartBody struct {
	ProcessCartRequest ProcessCartRequest `json:"processCartRequest"`
}

// ProcessCartRequest asks Cleverbridge to bill a cart with the customer's
// most recent payment details.
type ProcessCartRequest struct {
	Cart              Cart            `json:"cart"`
	DefaultCountryID  string          `json:"defaultCountryId,omitempty"`
	DefaultLanguageID string          `json:"defaultLanguageId"`
	ExtraParameters   ExtraParameters `json:"extraParameters,omitempty"`
	ProcessCartMode   string          `json:"processCartMode,omitempty"`
	Subscription      *Subscription   `json:"subscription,omitempty"`
}

// Cart holds the items billed.
type Cart struct {
	Items []CartItem `json:"items"`
}

// CartItem is one product of the cart.
type CartItem struct {
	ProductID          json.Number     `json:"productId"`
	Quantity           int             `json:"quantity"`
	AdditionalName     string          `json:"additionalName,omitempty"`
	DynamicProductName string          `json:"dynamicProductName,omitempty"`
	DynamicPrice       *DynamicPrice   `json:"dynamicPrice,omitempty"`
	ExtraParameters    ExtraParameters `json:"extraParameters,omitempty"`
}

// DynamicPrice overrides the product's price for this purchase.
type DynamicPrice struct {
	Amount     Decimal `json:"amount"`
	CurrencyID string  `json:"currencyId"`
	// IsGross: Amount includes taxes (Cleeng's order amount is what the customer pays).
	IsGross bool `json:"isGross"`
}

// Subscription references the "Handled by Client" subscription billed.
type Subscription struct {
	SubscriptionID string `json:"subscriptionId"`
}

// ProcessCartResponse is the answer, for every status. Go's decoder matches
// names case-insensitively, so "PurchaseId" reads as well as "purchaseId".
type ProcessCartResponse struct {
	Status                  string         `json:"status"`
	ResultMessage           string         `json:"resultMessage,omitempty"`
	PurchaseID              string         `json:"purchaseId,omitempty"`
	URL                     string         `json:"url,omitempty"`
	IsPaymentRetryScheduled bool           `json:"isPaymentRetryScheduled"`
	PaymentResult           *PaymentResult `json:"paymentResult,omitempty"`
	Error                   *PaymentResult `json:"error,omitempty"`
}

// PaymentResult is a Cleverbridge payment error code and message
// ({"code": "PAY_CLE", "message": "Credit card limit exceeded"}).
type PaymentResult struct {
	Code    string `json:"code"`
	Message string `json:"message,omitempty"`
}

// PaymentError is a documented payment provider error code.
type PaymentError struct{ Code, Message string }

// PaymentErrors are the payment provider codes of the Process Cart page,
// with their messages (the readable refusal reasons), and CCA_EXP, which
// the page names under PaymentResult.Code.
var PaymentErrors = []PaymentError{
	{"PAY_CEX", "Card expired"},
	{"PAY_CLE", "Credit card limit exceeded"},
	{"PAY_DEC", "General decline"},
	{"PAY_REJ", "Rejected by issuing bank"},
	{"FRA_REJ", "Rejected for fraud"},
	{"PAY_SCO", "Security code validation failed"},
	{"CCA_EXP", "Card expired and not updated by the Account Updater"},
}

// PaymentErrorMessage returns the documented message of a payment error code.
func PaymentErrorMessage(code string) (string, bool) {
	i := slices.IndexFunc(PaymentErrors, func(e PaymentError) bool { return e.Code == code })
	if i < 0 {
		return "", false
	}
	return PaymentErrors[i].Message, true
}

// Decimal is a JSON number carried as its decimal text, never through a
// float. It is written as a number and read from a number or a quoted one.
type Decimal string

// errNotDecimal: a Decimal that is not a decimal number.
var errNotDecimal = errors.New("want a decimal number")

// MarshalJSON writes the number unquoted.
func (d Decimal) MarshalJSON() ([]byte, error) {
	if _, err := decimal.NewFromString(string(d)); err != nil || !json.Valid([]byte(d)) {
		return nil, fmt.Errorf("%q: %w", string(d), errNotDecimal)
	}
	return []byte(d), nil
}

// UnmarshalJSON reads 9.99 or "9.99".
func (d *Decimal) UnmarshalJSON(b []byte) error {
	text := string(bytes.TrimSpace(b))
	if text == "null" {
		*d = ""
		return nil
	}
	if unquoted, err := strconv.Unquote(text); err == nil {
		text = unquoted
	}
	if _, err := decimal.NewFromString(text); err != nil {
		return errNotDecimal
	}
	*d = Decimal(text)
	return nil
}

// ExtraParameter is one x-parameter.
type ExtraParameter struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// ExtraParameters are x-parameters. They are written as
// {"extraParameter": [{"key": "x-…", "value": "…"}, …]}, the JSON form of
// the page's repeated "extraParameter" element, and read in that form or in
// the page's literal one (the "extraParameter" key repeated).
type ExtraParameters []ExtraParameter

// MarshalJSON writes {"extraParameter": [...]}.
func (p ExtraParameters) MarshalJSON() ([]byte, error) {
	list := []ExtraParameter(p)
	if list == nil {
		list = []ExtraParameter{}
	}
	return json.Marshal(struct {
		ExtraParameter []ExtraParameter `json:"extraParameter"`
	}{list})
}

// UnmarshalJSON reads {"extraParameter": [...]} or repeated
// "extraParameter" objects; other keys are ignored, null is empty.
func (p *ExtraParameters) UnmarshalJSON(b []byte) error {
	*p = nil
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return &FieldError{Field: "extraParameters", Problem: "want an object"}
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return &FieldError{Field: "extraParameters", Problem: err.Error()}
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return &FieldError{Field: "extraParameters", Problem: err.Error()}
		}
		if key, _ := tok.(string); !strings.EqualFold(key, "extraParameter") {
			continue
		}
		raw = bytes.TrimSpace(raw)
		if len(raw) > 0 && raw[0] == '[' {
			var list []ExtraParameter
			if err := json.Unmarshal(raw, &list); err != nil {
				return &FieldError{Field: "extraParameters.extraParameter", Problem: "want a list of {key, value}"}
			}
			*p = append(*p, list...)
			continue
		}
		var one ExtraParameter
		if err := json.Unmarshal(raw, &one); err != nil {
			return &FieldError{Field: "extraParameters.extraParameter", Problem: "want {key, value}"}
		}
		*p = append(*p, one)
	}
	return nil
}

// metadataKeys are the Cleeng keys the flows send as metadata; x-parameter
// keys are lower-case (as on the page: "x-customerid"), and reading them
// back restores these spellings.
var metadataKeys = []string{"customerId", "subscriptionId", "orderId", "offerId", "paymentMethodId", "country"}

// ExtraParametersFrom turns metadata into x-parameters: key k becomes
// "x-" + lower(k), sorted by key so the request is deterministic.
func ExtraParametersFrom(metadata map[string]string) ExtraParameters {
	var out ExtraParameters
	for k, v := range metadata {
		out = append(out, ExtraParameter{Key: "x-" + strings.ToLower(k), Value: v})
	}
	slices.SortFunc(out, func(a, b ExtraParameter) int { return strings.Compare(a.Key, b.Key) })
	return out
}

// Metadata turns x-parameters back into metadata: the "x-" prefix is
// removed and the Cleeng keys get their usual spelling. Parameters not
// starting with "x-" are not metadata.
func (p ExtraParameters) Metadata() map[string]string {
	out := map[string]string{}
	for _, e := range p {
		if len(e.Key) < 3 || !strings.EqualFold(e.Key[:2], "x-") {
			continue
		}
		key := e.Key[2:]
		if i := slices.IndexFunc(metadataKeys, func(k string) bool { return strings.EqualFold(k, key) }); i >= 0 {
			key = metadataKeys[i]
		}
		out[key] = e.Value
	}
	return out
}

// Notification event types.
const (
	EventPurchasePaid            = "PurchasePaid"            // the purchase is paid: charged
	EventPurchaseDeclined        = "PurchaseDeclined"        // the payment failed (error carries the code)
	EventPurchaseAwaitingPayment = "PurchaseAwaitingPayment" // waiting for an offline payment
	// Sent for subscriptions Cleverbridge bills by itself (externally
	// managed) [decided names: Cleverbridge's notification reference was
	// not readable; one constant each].
	EventPurchaseRefunded        = "PurchaseRefunded"        // support refunded the purchase
	EventSubscriptionDeactivated = "SubscriptionDeactivated" // the subscription renews no more
)

// Notification is a Cleverbridge purchase notification as POSTed to
// /webhooks/cleverbridge.
type Notification struct {
	// ID identifies the notification; a re-sent notification keeps it.
	ID        string               `json:"id"`
	EventType string               `json:"eventType"`
	CreatedAt string               `json:"createdAt,omitempty"` // RFC 3339
	Purchase  NotificationPurchase `json:"purchase"`
}

// NotificationPurchase is the purchase a notification reports.
type NotificationPurchase struct {
	ID         string  `json:"id"`
	Status     string  `json:"status,omitempty"`
	CurrencyID string  `json:"currencyId"`
	TotalGross Decimal `json:"totalGross"`
	// Items carry the Cleverbridge subscription id (recurringBilling).
	Items           []NotificationItem `json:"items,omitempty"`
	ExtraParameters ExtraParameters    `json:"extraParameters,omitempty"`
	// Error is the payment error of a declined purchase.
	Error *PaymentResult `json:"error,omitempty"`
}

// NotificationItem is one purchased item.
type NotificationItem struct {
	ProductID        json.Number       `json:"productId"`
	Quantity         int               `json:"quantity"`
	RecurringBilling *RecurringBilling `json:"recurringBilling,omitempty"`
}

// RecurringBilling names the subscription an item bills.
type RecurringBilling struct {
	SubscriptionID string `json:"subscriptionId"`
}
