package sandbox

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	vErrors "github.com/pb33f/libopenapi-validator/errors"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"
)

//go:embed openapi/CheckoutService-v71.json
var checkoutSpec []byte

//go:embed openapi/Webhooks-v1.json
var webhooksSpec []byte

// Contract validates traffic against Adyen's own OpenAPI documents.
type Contract struct {
	mu       sync.Mutex // the validators are not documented as concurrency-safe
	checkout validator.Validator
	webhooks validator.Validator
	hooks    *v3.Document
}

var (
	contractOnce sync.Once
	contract     *Contract
	contractErr  error
)

// LoadContract parses the embedded specifications once per process (the
// Checkout document is 885 KB and takes most of a second to parse).
func LoadContract() (*Contract, error) {
	contractOnce.Do(func() { contract, contractErr = loadContract() })
	return contract, contractErr
}

func loadContract() (*Contract, error) {
	cdoc, err := libopenapi.NewDocument(checkoutSpec)
	if err != nil {
		return nil, fmt.Errorf("checkout spec: %w", err)
	}
	// Adyen's 3.1 documents still carry the 3.0 keyword `nullable` (e.g.
	// PaymentRefundRequest.merchantRefundReason), which the validator's
	// OpenAPI mode refuses to compile. Without OpenAPI mode the keyword is
	// ignored as JSON Schema 2020-12 ignores unknown keywords; types,
	// required fields, enums, formats and additionalProperties still apply.
	cv, errs := validator.NewValidator(cdoc, config.WithoutOpenAPIMode())
	if len(errs) > 0 {
		return nil, fmt.Errorf("checkout spec: %v", errs)
	}
	wdoc, err := libopenapi.NewDocument(webhooksSpec)
	if err != nil {
		return nil, fmt.Errorf("webhooks spec: %w", err)
	}
	wm, err := wdoc.BuildV3Model()
	if err != nil {
		return nil, fmt.Errorf("webhooks spec: %w", err)
	}
	return &Contract{checkout: cv, webhooks: validator.NewValidatorFromV3Model(&wm.Model, config.WithoutOpenAPIMode()), hooks: &wm.Model}, nil
}

// CheckRequest validates a Checkout request (path relative to the sandbox
// root, starting with /v71) and returns the violations.
func (c *Contract) CheckRequest(r *http.Request, body []byte) []string {
	u := "https://checkout-test.adyen.com" + r.URL.Path
	if r.URL.RawQuery != "" {
		u += "?" + r.URL.RawQuery
	}
	req, err := http.NewRequest(r.Method, u, bytes.NewReader(body))
	if err != nil {
		return []string{err.Error()}
	}
	req.Header = r.Header.Clone()
	c.mu.Lock()
	defer c.mu.Unlock()
	_, verrs := c.checkout.ValidateHttpRequestSync(req)
	return describe(r.Method+" "+r.URL.Path, verrs)
}

// CheckAnswer validates the answer (status and JSON body) to a Checkout
// request against the operation's response schema.
func (c *Contract) CheckAnswer(r *http.Request, status int, body []byte) []string {
	req, err := http.NewRequest(r.Method, "https://checkout-test.adyen.com"+r.URL.Path, nil)
	if err != nil {
		return []string{err.Error()}
	}
	resp := &http.Response{
		StatusCode: status,
		Header:     http.Header{"Content-Type": []string{"application/json"}},
		Body:       io.NopCloser(bytes.NewReader(body)),
		Request:    req,
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	_, verrs := c.checkout.ValidateHttpResponse(req, resp)
	return describe("answer to "+r.Method+" "+r.URL.Path, verrs)
}

// CheckNotification validates a notification body against the webhook of
// its event code. Adyen's spec omits two additionalData keys (and forbids
// unknown ones) that Adyen sends: hmacSignature, on every signed item, and
// modification.action, which its own example of CANCEL_OR_REFUND carries
// (unlistedKeys). They are removed before validation, and nothing else.
func (c *Contract) CheckNotification(eventCode string, body []byte) []string {
	item := c.hooks.Webhooks.GetOrZero("/" + eventCode)
	if item == nil {
		return []string{fmt.Sprintf("notification %s: no such webhook in Webhooks-v1.json", eventCode)}
	}
	unsigned, err := withoutSignature(body)
	if err != nil {
		return []string{fmt.Sprintf("notification %s: %v", eventCode, err)}
	}
	req, err := http.NewRequest(http.MethodPost, "https://example.invalid/webhooks/adyen", bytes.NewReader(unsigned))
	if err != nil {
		return []string{err.Error()}
	}
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth("sandbox", "sandbox")
	c.mu.Lock()
	defer c.mu.Unlock()
	_, verrs := c.webhooks.ValidateHttpRequestSyncWithPathItem(req, item, "/"+eventCode)
	return describe("notification "+eventCode, verrs)
}

// unlistedKeys are the additionalData keys Adyen sends that
// Webhooks-v1.json does not list.
var unlistedKeys = []string{"hmacSignature", "modification.action"}

// withoutSignature removes the unlistedKeys from every item's
// additionalData, working on the generic JSON so that nothing else changes.
func withoutSignature(body []byte) ([]byte, error) {
	var n map[string]any
	if err := json.Unmarshal(body, &n); err != nil {
		return nil, err
	}
	items, _ := n["notificationItems"].([]any)
	for _, w := range items {
		wrapper, _ := w.(map[string]any)
		item, _ := wrapper["NotificationRequestItem"].(map[string]any)
		if ad, ok := item["additionalData"].(map[string]any); ok {
			for _, k := range unlistedKeys {
				delete(ad, k)
			}
		}
	}
	return json.Marshal(n)
}

func describe(what string, verrs []*vErrors.ValidationError) []string {
	var out []string
	for _, e := range verrs {
		msg := what + ": " + e.Message
		if e.Reason != "" {
			msg += ": " + e.Reason
		}
		for _, s := range e.SchemaValidationErrors {
			msg += fmt.Sprintf(" [%s %s]", s.FieldPath, s.Reason)
		}
		out = append(out, msg)
	}
	return out
}
