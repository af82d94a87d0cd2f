// Package demo walks one subscription through the connector's functions
// over HTTP, as a broadcaster's front-end and Cleeng would: an initial
// purchase, two renewals, a refused renewal, a refund, a card update and a
// termination. It drives a running `connector-dev dev` (or any connector wired
// to the sandboxes) and reports what Cleeng and the gateway recorded.
//
// Each run starts from a customer of its own, so runs against one stack are
// independent: the gateway keeps one stored card per shopper and card, and
// the refused renewal leaves that card refusing.
package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cleeng-connector/connector/cleeng"
	cleengsandbox "github.com/cleeng-connector/connector/cleeng/sandbox"
	adyensandbox "github.com/cleeng-connector/connector/gateways/adyen/sandbox"
)

// Target is where the demo runs: the ingress and the sandboxes' base URLs,
// and the credentials and seeded data of the sandboxes. Country is the
// customer's and the order's.
type Target struct {
	IngressURL, SandboxURL string
	PublisherToken         string
	// PublisherID is the publisher the demo's customers log in to, for
	// the customer JWT every front-end call carries.
	PublisherID     cleeng.ID
	OfferID         string
	PaymentMethodID cleeng.ID
	Country         string
}

// Result is what the demo observed.
type Result struct {
	CustomerID     cleeng.ID
	SubscriptionID cleeng.ID
	// Payments are the subscription's Cleeng payments, in order.
	Payments []cleeng.Payment
	// Charges are the gateway's payments by reference (externalPaymentId).
	Charges      map[string]adyensandbox.Payment
	Subscription cleengsandbox.Subscription
	// DetailsChanged: the subscription renews on the new card.
	DetailsChanged bool
}

// Run walks the subscription and returns what was recorded. A failed step
// ends the run with an error naming the step and what went wrong.
func Run(ctx context.Context, t Target, log io.Writer) (Result, error) {
	d := &driver{t: t, client: &http.Client{Timeout: 30 * time.Second}, log: log}
	res, err := d.run(ctx)
	if err != nil {
		return res, fmt.Errorf("step %d (%s): %w", d.n, d.current, err)
	}
	return res, nil
}

func (d *driver) run(ctx context.Context) (Result, error) {
	t := d.t
	var res Result

	d.step("a new customer, logged in: a Cleeng customer JWT for the front-end calls")
	customer, err := d.newCustomer(ctx)
	if err != nil {
		return res, err
	}
	res.CustomerID = customer.ID
	var login struct {
		ResponseData cleengsandbox.LoginResult `json:"responseData"`
	}
	if err := d.call(ctx, http.MethodPost, t.SandboxURL+"/cleeng/auths", cleengsandbox.Login{
		Email: customer.Email, Password: "demo", PublisherID: t.PublisherID,
	}, &login); err != nil {
		return res, err
	}
	d.customerToken = login.ResponseData.JWT

	d.step("initial purchase with a test card")
	var order cleeng.Order
	if err := d.call(ctx, http.MethodPost, t.SandboxURL+"/cleeng/3.1/orders", cleeng.CreateOrderRequest{
		CustomerID: customer.ID, OfferID: t.OfferID, Currency: "EUR", Country: t.Country, PaymentMethodID: t.PaymentMethodID,
	}, &order); err != nil {
		return res, err
	}
	var paid struct {
		Status         string    `json:"status"`
		PaymentID      cleeng.ID `json:"paymentId"`
		RejectedReason string    `json:"rejectedReason"`
	}
	if err := d.call(ctx, http.MethodPost, t.IngressURL+"/v1/checkout/payments", map[string]any{
		"orderId": json.Number(order.ID), "paymentMethod": adyensandbox.EncryptedCardMethod(adyensandbox.CardVisa, "Matthew Brown"),
		"returnUrl": t.IngressURL + "/return",
	}, &paid); err != nil {
		return res, err
	}
	if paid.Status != "captured" {
		return res, fmt.Errorf("payment %s %s, want captured", paid.Status, paid.RejectedReason)
	}
	state, err := d.cleengState(ctx)
	if err != nil {
		return res, err
	}
	initial, _ := state.Payment(paid.PaymentID)
	res.SubscriptionID = initial.SubscriptionID

	for i := 1; i <= 2; i++ {
		d.step(fmt.Sprintf("renewal %d: authorise, then capture", i))
		if err := d.dunning(ctx, res.SubscriptionID, true, true); err != nil {
			return res, err
		}
	}

	d.step("refused renewal: the card now lacks funds")
	details, err := d.detailsOf(ctx, res.SubscriptionID)
	if err != nil {
		return res, err
	}
	if err := d.call(ctx, http.MethodPost, t.SandboxURL+"/adyen/sandbox/tokens/"+details.Token+"/refuse",
		map[string]string{"holderName": adyensandbox.HolderNotEnoughBalance}, nil); err != nil {
		return res, err
	}
	if err := d.dunning(ctx, res.SubscriptionID, true, false); err != nil {
		return res, err
	}

	d.step("refund of the first renewal")
	state, err = d.cleengState(ctx)
	if err != nil {
		return res, err
	}
	firstRenewal := subscriptionPayments(state, res.SubscriptionID)[1]
	if err := d.emit(ctx, cleengsandbox.EmitRequest{Topic: string(cleeng.TopicRefundPayment), PaymentID: firstRenewal.ID, Reason: "demo"}); err != nil {
		return res, err
	}
	if err := d.until(ctx, "the refund confirmed in Cleeng", func(s cleengsandbox.State) bool {
		p, _ := s.Payment(firstRenewal.ID)
		return p.Status == cleeng.StatusRefunded
	}); err != nil {
		return res, err
	}

	d.step("card update")
	var updated struct {
		Status           string    `json:"status"`
		PaymentDetailsID cleeng.ID `json:"paymentDetailsId"`
	}
	if err := d.call(ctx, http.MethodPost, t.IngressURL+"/v1/payment-details", map[string]any{
		"paymentMethodId": json.Number(t.PaymentMethodID),
		"paymentMethod":   adyensandbox.EncryptedCardMethod(adyensandbox.CardMastercard, "Matthew Brown"),
	}, &updated); err != nil {
		return res, err
	}
	if updated.Status != "active" {
		return res, fmt.Errorf("payment details %s, want active", updated.Status)
	}

	d.step("termination")
	if err := d.emit(ctx, cleengsandbox.EmitRequest{Topic: string(cleeng.TopicTermination), SubscriptionID: res.SubscriptionID}); err != nil {
		return res, err
	}
	if err := d.until(ctx, "the subscription terminated", func(s cleengsandbox.State) bool {
		sub, _ := s.Subscription(res.SubscriptionID)
		return sub.Status == cleeng.SubscriptionTerminated
	}); err != nil {
		return res, err
	}

	state, err = d.cleengState(ctx)
	if err != nil {
		return res, err
	}
	res.Payments = subscriptionPayments(state, res.SubscriptionID)
	res.Subscription, _ = state.Subscription(res.SubscriptionID)
	res.DetailsChanged = res.Subscription.PaymentDetailsID == updated.PaymentDetailsID
	var gateway adyensandbox.State
	if err := d.call(ctx, http.MethodGet, t.SandboxURL+"/adyen/sandbox/state", nil, &gateway); err != nil {
		return res, err
	}
	res.Charges = map[string]adyensandbox.Payment{}
	for _, p := range gateway.PaymentList {
		res.Charges[p.PSPReference] = p
	}
	return res, nil
}

// Table renders what Cleeng and the gateway recorded, one payment a row.
func (r Result) Table(w io.Writer) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CLEENG PAYMENT\tOPERATION\tSTATUS\tAMOUNT\tEXTERNAL ID\tADYEN STATUS\tCHARGED\tCAPTURED\tREFUNDED\tREASON")
	for _, p := range r.Payments {
		c := r.Charges[p.ExternalPaymentID]
		reason := p.RejectedReason
		if p.RefundedReason != "" {
			reason = "refund: " + p.RefundedReason
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s %s\t%s\t%s\t%d\t%d\t%d\t%s\n", p.ID, p.PaymentOperation, p.Status, p.Amount, p.Currency,
			p.ExternalPaymentID, c.Status, c.Amount, c.Captured, c.Refunded, reason)
	}
	_ = tw.Flush()
	fmt.Fprintf(w, "customer %s, subscription %s: %s, renews on payment details %s (card updated: %t)\n",
		r.CustomerID, r.SubscriptionID, r.Subscription.Status, r.Subscription.PaymentDetailsID, r.DetailsChanged)
}

func subscriptionPayments(s cleengsandbox.State, sub cleeng.ID) []cleeng.Payment {
	var out []cleeng.Payment
	for _, p := range s.Payments {
		if p.SubscriptionID == sub {
			out = append(out, p)
		}
	}
	return out
}

type driver struct {
	t      Target
	client *http.Client
	log    io.Writer
	// n and current are the step under way.
	n       int
	current string
	// customerToken authenticates the calls to the ingress's /v1/ routes.
	customerToken string
}

func (d *driver) step(what string) {
	d.n++
	d.current = what
	fmt.Fprintf(d.log, "%d. %s\n", d.n, what)
}

// newCustomer seeds a customer no other run uses, with a random id.
func (d *driver) newCustomer(ctx context.Context) (cleengsandbox.Customer, error) {
	id := cleeng.ID(strconv.FormatUint(100_000_000_000+rand.Uint64N(900_000_000_000), 10))
	c := cleengsandbox.Customer{ID: id, Email: "demo-" + id.String() + "@example.com", Country: d.t.Country}
	return c, d.call(ctx, http.MethodPost, d.t.SandboxURL+"/cleeng/sandbox/customers", c, nil)
}

// dunning runs one attempt of a dunning cycle in the Cleeng sandbox.
func (d *driver) dunning(ctx context.Context, sub cleeng.ID, authorizedFirst, wantRenewed bool) error {
	var res cleengsandbox.DunningResult
	if err := d.call(ctx, http.MethodPost, d.t.SandboxURL+"/cleeng/sandbox/subscriptions/"+sub.String()+"/dunning",
		cleengsandbox.DunningOptions{AuthorizedFirst: authorizedFirst, Attempts: 1, NoTermination: true}, &res); err != nil {
		return err
	}
	if res.Renewed != wantRenewed {
		return fmt.Errorf("dunning of subscription %s: renewed %t, want %t (%+v)", sub, res.Renewed, wantRenewed, res.Attempts)
	}
	return nil
}

func (d *driver) emit(ctx context.Context, req cleengsandbox.EmitRequest) error {
	return d.call(ctx, http.MethodPost, d.t.SandboxURL+"/cleeng/sandbox/webhooks", req, nil)
}

func (d *driver) cleengState(ctx context.Context) (cleengsandbox.State, error) {
	var s cleengsandbox.State
	err := d.call(ctx, http.MethodGet, d.t.SandboxURL+"/cleeng/sandbox/state", nil, &s)
	return s, err
}

// cleengStateAfter returns the Cleeng sandbox's state once it is past
// version (or unchanged, after the sandbox's longest wait).
func (d *driver) cleengStateAfter(ctx context.Context, version uint64) (cleengsandbox.State, error) {
	var s cleengsandbox.State
	err := d.call(ctx, http.MethodGet, d.t.SandboxURL+"/cleeng/sandbox/state?after="+strconv.FormatUint(version, 10), nil, &s)
	return s, err
}

func (d *driver) detailsOf(ctx context.Context, sub cleeng.ID) (cleengsandbox.PaymentDetails, error) {
	s, err := d.cleengState(ctx)
	if err != nil {
		return cleengsandbox.PaymentDetails{}, err
	}
	current, _ := s.Subscription(sub)
	for _, pd := range s.PaymentDetails {
		if pd.ID == current.PaymentDetailsID {
			return pd, nil
		}
	}
	return cleengsandbox.PaymentDetails{}, fmt.Errorf("subscription %s has no payment details", sub)
}

// until waits for cond to hold on the Cleeng sandbox's state, asking for
// each next version of it (the sandbox answers when the state changes), as
// long as ctx allows.
func (d *driver) until(ctx context.Context, what string, cond func(cleengsandbox.State) bool) error {
	s, err := d.cleengState(ctx)
	for ; err == nil; s, err = d.cleengStateAfter(ctx, s.Version) {
		if cond(s) {
			return nil
		}
	}
	return fmt.Errorf("waiting for %s: %w", what, err)
}

// call sends a JSON request and decodes a 2xx answer into out (may be nil).
func (d *driver) call(ctx context.Context, method, url string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if strings.Contains(url, "/cleeng/3.1/") {
		req.Header.Set(cleeng.HeaderPublisherToken, d.t.PublisherToken)
	}
	if strings.HasPrefix(url, d.t.IngressURL+"/v1/") {
		req.Header.Set("Authorization", "Bearer "+d.customerToken)
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, url, err)
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: HTTP %d: %s", method, url, resp.StatusCode, bytes.TrimSpace(raw))
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("%s %s: %w", method, url, err)
	}
	return nil
}
