package adyen

import (
	"crypto/hmac"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/adyen/adyen-go-api-library/v9/src/hmacvalidator"
	"github.com/adyen/adyen-go-api-library/v9/src/webhook"

	"github.com/cleeng-connector/connector/gateways"
	"github.com/cleeng-connector/connector/internal/money"
)

// Item is one item of an Adyen standard notification.
type Item = webhook.NotificationRequestItem

// ErrInvalidSignature: an item's hmacSignature is missing or matches no key.
var ErrInvalidSignature = errors.New("adyen notification: invalid HMAC signature")

// ParseNotification decodes a notification body into its items. Items are
// read by index: v9's GetNotificationItems returns the last item repeated.
func ParseNotification(body []byte) ([]Item, error) {
	var wh webhook.Webhook
	if err := json.Unmarshal(body, &wh); err != nil {
		return nil, fmt.Errorf("adyen notification: %w", err)
	}
	if wh.NotificationItems == nil || len(*wh.NotificationItems) == 0 {
		return nil, errors.New("adyen notification: no notificationItems")
	}
	wrappers := *wh.NotificationItems
	items := make([]Item, len(wrappers))
	for i := range wrappers {
		items[i] = wrappers[i].NotificationRequestItem
	}
	return items, nil
}

// Verifier checks the per-item HMAC signature. It holds one or two keys:
// during a rotation Adyen still delivers queued events signed with the old
// key. Keys are never part of an error string.
type Verifier struct {
	keys []string // hex, as shown in Adyen's Customer Area
}

// NewVerifier accepts hex HMAC keys; empty strings are skipped (so a config
// value "new,old" or just "new" both work). At least one key is required.
func NewVerifier(hexKeys ...string) (*Verifier, error) {
	v := &Verifier{}
	for i, k := range hexKeys {
		k = strings.TrimSpace(k)
		if k == "" {
			continue
		}
		if _, err := hex.DecodeString(k); err != nil {
			return nil, fmt.Errorf("adyen: HMAC key %d is not hex", i+1)
		}
		v.keys = append(v.keys, k)
	}
	if len(v.keys) == 0 {
		return nil, errors.New("adyen: at least one HMAC key is required")
	}
	return v, nil
}

// Valid reports whether item carries a signature made with one of the keys.
// It never panics (hmacvalidator.ValidateHmac does on a nil additionalData)
// and compares in constant time.
func (v *Verifier) Valid(item Item) bool {
	if v == nil || item.AdditionalData == nil {
		return false
	}
	got, ok := (*item.AdditionalData)["hmacSignature"].(string)
	if !ok || got == "" {
		return false
	}
	valid := false
	for _, k := range v.keys {
		want, err := hmacvalidator.CalculateHmac(item, k)
		if err == nil && hmac.Equal([]byte(want), []byte(got)) {
			valid = true // no early return: try every key in the same time
		}
	}
	return valid
}

// Decode parses body and verifies every item; any invalid item rejects the
// whole body with ErrInvalidSignature (Adyen then re-sends it).
func (v *Verifier) Decode(body []byte) ([]Item, error) {
	items, err := ParseNotification(body)
	if err != nil {
		return nil, err
	}
	for i := range items {
		if !v.Valid(items[i]) {
			return nil, fmt.Errorf("item %d: %w", i, ErrInvalidSignature)
		}
	}
	return items, nil
}

// Sign returns the item's HMAC signature with a hex key (the sandbox signs
// with it; Adyen's own algorithm, hmacvalidator.CalculateHmac).
func Sign(item Item, hexKey string) (string, error) {
	return hmacvalidator.CalculateHmac(item, hexKey)
}

// DedupID identifies an event across Adyen's re-deliveries:
// pspReference + eventCode + success.
func DedupID(item Item) string {
	return "adyen:" + item.PspReference + ":" + item.EventCode + ":" + item.Success
}

// ItemSubject is the JetStream subject of an item: gateway.adyen.<eventCode>.
// Characters a subject token cannot hold are replaced by '_'.
func ItemSubject(item Item) string {
	code := strings.Map(func(r rune) rune {
		if r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-' {
			return r
		}
		return '_'
	}, item.EventCode)
	if code == "" {
		code = "_"
	}
	return "gateway." + Name + "." + code
}

// eventKinds maps Adyen's event codes to the normalised kinds.
var eventKinds = map[string]gateways.EventKind{
	webhook.EventCodeAuthorisation:    gateways.EventAuthorisation,
	webhook.EventCodeCapture:          gateways.EventCapture,
	webhook.EventCodeCaptureFailed:    gateways.EventCaptureFailed,
	webhook.EventCodeRefund:           gateways.EventRefund,
	webhook.EventCodeRefundFailed:     gateways.EventRefundFailed,
	webhook.EventCodeRefundedReversed: gateways.EventRefundReversed,
	webhook.EventCodeCancellation:     gateways.EventCancellation,
	"RECURRING_CONTRACT":              gateways.EventRecurringContract, // no constant in v9
	webhook.EventCodeCancelOrRefund:   gateways.EventOther,
}

// ToEvent maps an item to a gateways.Event.
func ToEvent(item Item) (gateways.Event, error) {
	kind, ok := eventKinds[item.EventCode]
	if !ok {
		kind = gateways.EventOther
	}
	var amount money.Amount
	if item.Amount.Currency != "" { // some events (reports, RECURRING_CONTRACT) carry no amount
		// Adyen's minor units, as in its requests: one table both ways.
		var err error
		if amount, err = currencyTable.FromMinor(item.Amount.Value, item.Amount.Currency); err != nil {
			return gateways.Event{}, fmt.Errorf("adyen notification %s: amount: %w", item.PspReference, err)
		}
		if item.Amount.Value < 0 {
			return gateways.Event{}, fmt.Errorf("adyen notification %s: amount: negative value %d", item.PspReference, item.Amount.Value)
		}
	}
	ev := gateways.Event{
		Gateway:           Name,
		Code:              item.EventCode,
		Kind:              kind,
		Success:           item.Success == "true",
		PaymentReference:  item.PspReference,
		OriginalReference: item.OriginalReference,
		MerchantReference: item.MerchantReference,
		Amount:            amount,
		Reason:            item.Reason,
	}
	if item.AdditionalData != nil {
		ad := *item.AdditionalData
		ev.Token = connectorToken(item.PaymentMethod, stringValue(ad["recurring.recurringDetailReference"]))
		ev.Modification = stringValue(ad["modification.action"])
		for k, v := range ad {
			if name, ok := strings.CutPrefix(k, "metadata."); ok {
				if ev.Metadata == nil {
					ev.Metadata = map[string]string{}
				}
				ev.Metadata[name] = stringValue(v)
			}
		}
	}
	if kind == gateways.EventRecurringContract && ev.Token == "" {
		// RECURRING_CONTRACT's pspReference is the recurringDetailReference.
		ev.Token = connectorToken(item.PaymentMethod, item.PspReference)
	}
	return ev, nil
}

func stringValue(v any) string {
	switch s := v.(type) {
	case nil:
		return ""
	case string:
		return s
	default:
		return fmt.Sprint(s)
	}
}
