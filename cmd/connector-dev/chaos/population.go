package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/cleeng-connector/connector/cleeng"
	cleengsandbox "github.com/cleeng-connector/connector/cleeng/sandbox"
	"github.com/cleeng-connector/connector/cmd/connector-dev/stack"
	adyensandbox "github.com/cleeng-connector/connector/gateways/adyen/sandbox"
)

// The population's offers: renewing every day, so a subscription's due
// dates stay within the ingress's CLEENG_DUNNING_MAX_AHEAD over a few
// renewals, priced in currencies of three exponents (EUR 2, JPY 0, KWD 3)
// so that an amount converted wrongly shows; and a free trial.
var (
	chaosOffer = cleengsandbox.Offer{ID: "S900000001_DE", Title: "Daily pass", PeriodDays: 1, Prices: map[string]cleengsandbox.Price{
		"DE": {Amount: cleeng.MustDecimal("9.99"), Currency: "EUR", TaxRate: cleeng.MustDecimal("0.19")},
		"JP": {Amount: cleeng.MustDecimal("1200"), Currency: "JPY", TaxRate: cleeng.MustDecimal("0.10")},
		"KW": {Amount: cleeng.MustDecimal("3.125"), Currency: "KWD", TaxRate: cleeng.MustDecimal("0")},
	}}
	trialOffer = cleengsandbox.Offer{ID: "S900000002_DE", Title: "Free trial", PeriodDays: 1, Prices: map[string]cleengsandbox.Price{
		"DE": {Amount: cleeng.MustDecimal("0"), Currency: "EUR", TaxRate: cleeng.MustDecimal("0")},
	}}
	countries = []string{"DE", "DE", "JP", "KW"}
)

// Story counters: what the population did, for the table.
const (
	storyPurchase      = "initial purchases (card)"
	storyThreeDS       = "initial purchases (3-D Secure)"
	storyRefused       = "initial purchases refused"
	storyTrial         = "free trials"
	storyCleverbridge  = "Cleverbridge subscriptions"
	storyAuthCapture   = "dunning cycles, authorise + capture"
	storyCaptureOnly   = "dunning cycles, capture only"
	storyRenewRefused  = "dunning cycles, card refusing"
	storyRefund        = "refunds"
	storyCardUpdate    = "card updates with deactivation"
	storyTermination   = "terminations"
	storyDriverFailure = "stories cut short (driver call failed)"
	// storyStatusNotFound counts status polls answered 404 for a purchase
	// the ingress had answered pending: a finding, not a broken promise.
	storyStatusNotFound = "checkout status answered 404 after pending (polled on)"
)

// population drives subscriptions through their stories, many at once.
type population struct {
	api  *api
	seed uint64
	// copies is the schedule's choice of Cleeng re-sending a webhook.
	faults *schedule

	mu       sync.Mutex
	counts   map[string]int
	failures []string // the first few driver failures, for the report
	done     int
}

func (p *population) count(story string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.counts[story]++
}

func (p *population) failed(i int, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.counts[storyDriverFailure]++
	if len(p.failures) < 10 {
		p.failures = append(p.failures, fmt.Sprintf("subscription %d: %v", i, err))
	}
}

// seedOffers creates the population's offers in the Cleeng sandbox.
func (p *population) seedOffers(ctx context.Context) error {
	for _, o := range []cleengsandbox.Offer{chaosOffer, trialOffer} {
		if _, err := p.api.call(ctx, http.MethodPost, p.api.sandboxURL+"/cleeng/sandbox/offers", "", o, nil); err != nil {
			return err
		}
	}
	return nil
}

// run drives n subscriptions, concurrency of them at once, and returns
// when every story ended (or ctx did). Stories run in two halves: every
// subscription is bought first, then one look at Cleeng's state finds what
// the purchases made (the sandbox has no cheaper query, and one look per
// story would cost the machine more than the connector does), then each
// subscription lives on: renewals, a refund, a card update, a termination.
func (p *population) run(ctx context.Context, n, concurrency int) {
	subs := make([]*subscriber, n)
	p.each(ctx, n, concurrency, func(i int) error {
		c := &subscriber{rng: rand.New(rand.NewPCG(p.seed, uint64(i)))}
		subs[i] = c
		return p.begin(ctx, i, c)
	})
	st, err := p.cleengState(ctx)
	if err != nil {
		p.failed(-1, fmt.Errorf("the Cleeng state after the purchases: %w", err))
		return
	}
	for _, c := range subs {
		if c != nil && c.sub == "" && c.initialPayment != "" {
			if pay, ok := st.Payment(c.initialPayment); ok {
				c.sub = pay.SubscriptionID
			}
		}
		if c != nil && c.sub != "" {
			s, _ := st.Subscription(c.sub)
			c.details = s.PaymentDetailsID
			c.token, _ = detailsToken(st, c.sub)
		}
	}
	p.each(ctx, n, concurrency, func(i int) error { return p.live(ctx, subs[i]) })
}

// each runs f(0..n-1), concurrency at once, counting failures.
func (p *population) each(ctx context.Context, n, concurrency int, f func(int) error) {
	work := make(chan int)
	var wg sync.WaitGroup
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				if err := f(i); err != nil && ctx.Err() == nil {
					p.failed(i, err)
				}
				p.mu.Lock()
				p.done++
				p.mu.Unlock()
			}
		}()
	}
	for i := range n {
		select {
		case work <- i:
		case <-ctx.Done():
		}
	}
	close(work)
	wg.Wait()
}

// subscriber is one story: its customer, its subscription and its choices,
// drawn from a generator of its own (seed, i): the same seed makes the same
// population, whatever order the stories run in.
type subscriber struct {
	rng     *rand.Rand
	id      cleeng.ID
	email   string
	country string
	jwt     string
	gateway string
	// live: the purchase made a subscription to renew.
	live           bool
	initialPayment cleeng.ID
	sub            cleeng.ID
	details        cleeng.ID
	token          string // the gateway's token of details
	// captured are the subscription's captured, non-free payments, oldest first.
	captured []cleeng.ID
}

// begin makes the customer and buys the subscription.
func (p *population) begin(ctx context.Context, i int, c *subscriber) error {
	c.id = cleeng.ID(strconv.Itoa(500_000_000 + i))
	c.country = countries[c.rng.IntN(len(countries))]
	c.email = "chaos-" + c.id.String() + "@example.com"
	if err := p.newCustomer(ctx, c); err != nil {
		return err
	}
	roll := c.rng.Float64()
	switch {
	case roll < 0.25:
		p.count(storyCleverbridge)
		return p.cleverbridgeSubscription(ctx, c)
	case roll < 0.35:
		return p.purchase(ctx, c, chaosOffer.ID, adyensandbox.CardVisa, adyensandbox.HolderDeclined, storyRefused)
	case roll < 0.45:
		c.country = "DE"
		return p.purchase(ctx, c, trialOffer.ID, adyensandbox.CardVisa, "Chaos Monkey", storyTrial)
	case roll < 0.55:
		return p.purchase(ctx, c, chaosOffer.ID, adyensandbox.CardVisa3DS, "Chaos Monkey", storyThreeDS)
	default:
		return p.purchase(ctx, c, chaosOffer.ID, adyensandbox.CardVisa, "Chaos Monkey", storyPurchase)
	}
}

// live is the rest of a bought subscription's story.
func (p *population) live(ctx context.Context, c *subscriber) error {
	if c == nil || c.sub == "" {
		return nil
	}
	rng := c.rng
	if c.live {
		for cycle := range 1 + rng.IntN(3) {
			refusing := c.gateway == "adyen" && cycle > 0 && rng.Float64() < 0.15
			// Cleverbridge cannot authorise without capturing: Cleeng's
			// dunning for it is capture-only.
			authorizeFirst := rng.Float64() < 0.5 && c.gateway == "adyen"
			renewed, err := p.dunning(ctx, c, authorizeFirst, refusing, p.faults.copies(rng))
			if err != nil {
				return err
			}
			if !renewed {
				break
			}
		}
	}
	var steps []func() error
	// Cleverbridge payments are refunded in Cleverbridge's own tools
	// (its API cannot): the connector dead-letters such a refund.
	if c.live && c.gateway == "adyen" && rng.Float64() < 0.3 {
		steps = append(steps, func() error { return p.refundLast(ctx, c) })
	}
	if c.live && c.gateway == "adyen" && rng.Float64() < 0.25 {
		steps = append(steps, func() error { return p.cardUpdate(ctx, c) })
	}
	if rng.Float64() < 0.3 {
		steps = append(steps, func() error { return p.terminate(ctx, c) })
	}
	for _, step := range p.storyOrder(steps, rng.Float64() < 0.3) {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

func (p *population) newCustomer(ctx context.Context, c *subscriber) error {
	sb := p.api.sandboxURL
	if _, err := p.api.call(ctx, http.MethodPost, sb+"/cleeng/sandbox/customers", "",
		cleengsandbox.Customer{ID: c.id, Email: c.email, Country: c.country}, nil); err != nil {
		return err
	}
	return p.login(ctx, c)
}

// login signs the customer in to Cleeng, as the front end does before a
// checkout call: its JWT expires (15 minutes), and a card update comes
// long after the purchase in a run of 10,000 subscriptions.
func (p *population) login(ctx context.Context, c *subscriber) error {
	var login struct {
		ResponseData cleengsandbox.LoginResult `json:"responseData"`
	}
	if _, err := p.api.call(ctx, http.MethodPost, p.api.sandboxURL+"/cleeng/auths", "",
		cleengsandbox.Login{Email: c.email, Password: "chaos", PublisherID: stack.DevPublisherID}, &login); err != nil {
		return err
	}
	c.jwt = login.ResponseData.JWT
	return nil
}

// outcome is the ingress's answer to a checkout call.
type outcome struct {
	Status           string          `json:"status"`
	PaymentID        cleeng.ID       `json:"paymentId"`
	Action           json.RawMessage `json:"action"`
	PaymentDetailsID cleeng.ID       `json:"paymentDetailsId"`
}

// purchase buys offer with a card, completing 3-D Secure when asked, and
// records the subscription it made.
func (p *population) purchase(ctx context.Context, c *subscriber, offer, card, holder, story string) error {
	var order cleeng.Order
	price := chaosOffer.Prices[c.country]
	if offer == trialOffer.ID {
		price = trialOffer.Prices[c.country]
	}
	if _, err := p.api.call(ctx, http.MethodPost, p.api.sandboxURL+"/cleeng/3.1/orders", "", cleeng.CreateOrderRequest{
		CustomerID: c.id, OfferID: offer, Currency: price.Currency, Country: c.country, PaymentMethodID: stack.DevPaymentMethodAdyen,
	}, &order); err != nil {
		return err
	}
	out, err := p.checkout(ctx, c, "/v1/checkout/payments", order.ID, map[string]any{
		"orderId": json.Number(order.ID), "paymentMethod": adyensandbox.EncryptedCardMethod(card, holder),
		"returnUrl": p.api.ingressURL + "/return",
	})
	if err != nil {
		return err
	}
	if out.Status == "action_required" {
		details, err := adyensandbox.ThreeDSResult(out.Action, true)
		if err != nil {
			return fmt.Errorf("3-D Secure action %s: %w", out.Action, err)
		}
		if out, err = p.checkout(ctx, c, "/v1/checkout/payments/details", order.ID, map[string]any{
			"orderId": json.Number(order.ID), "details": details}); err != nil {
			return err
		}
	}
	p.count(story)
	if out.Status != "captured" {
		return nil
	}
	c.gateway, c.initialPayment = "adyen", out.PaymentID
	c.live = offer != trialOffer.ID
	if c.live {
		c.captured = append(c.captured, out.PaymentID)
	}
	return nil
}

// checkout posts a front-end call and returns its settled outcome: the
// answer, or, when the ingress answered "pending" (the flow outlasted its
// wait), the status URL's once settled.
func (p *population) checkout(ctx context.Context, c *subscriber, path string, order cleeng.ID, body any) (outcome, error) {
	var out outcome
	if _, err := p.api.call(ctx, http.MethodPost, p.api.ingressURL+path, c.jwt, body, &out); err != nil {
		return out, err
	}
	deadline := time.Now().Add(5 * time.Minute)
	for out.Status == "pending" || out.Status == "processing" {
		if time.Now().After(deadline) {
			return out, fmt.Errorf("order %s still %s after 5 minutes", order, out.Status)
		}
		select {
		case <-ctx.Done():
			return out, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
		status, err := p.api.call(ctx, http.MethodGet, p.api.ingressURL+"/v1/checkout/payments/"+order.String(), c.jwt, nil, &out)
		if status == http.StatusNotFound {
			// The ingress answered "pending" for a stored purchase, but its
			// status URL knows the purchase only once a worker claimed it:
			// until then it answers 404. A front-end polls on.
			p.count(storyStatusNotFound)
			out.Status = "pending"
			continue
		}
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// cleverbridgeSubscription seeds a subscription paid through Cleverbridge
// (the connector does not make Cleverbridge's initial purchases: the
// shopper buys in Cleverbridge's own checkout).
func (p *population) cleverbridgeSubscription(ctx context.Context, c *subscriber) error {
	var sub cleengsandbox.Subscription
	if _, err := p.api.call(ctx, http.MethodPost, p.api.sandboxURL+"/cleeng/sandbox/subscriptions", "", cleengsandbox.SubscriptionSeed{
		CustomerID: c.id, OfferID: chaosOffer.ID, ExpiresAt: time.Now().Add(time.Minute).UTC().Format(time.RFC3339),
		PaymentDetails: &cleengsandbox.PaymentDetailsSeed{PaymentMethodID: stack.DevPaymentMethodCleverbridge, Token: "S-CHAOS-" + c.id.String()},
	}, &sub); err != nil {
		return err
	}
	c.sub, c.gateway, c.live = sub.SubscriptionID, "cleverbridge", true
	return nil
}

// dunning runs one attempt of a dunning cycle; refusing makes the card
// refuse it first.
func (p *population) dunning(ctx context.Context, c *subscriber, authorizeFirst, refusing bool, copies int) (bool, error) {
	if refusing && c.token != "" {
		if _, err := p.api.call(ctx, http.MethodPost, p.api.sandboxURL+"/adyen/sandbox/tokens/"+c.token+"/refuse", "",
			map[string]string{"holderName": adyensandbox.HolderNotEnoughBalance}, nil); err != nil {
			return false, err
		}
		p.count(storyRenewRefused)
	}
	var res cleengsandbox.DunningResult
	if _, err := p.api.call(ctx, http.MethodPost, p.api.sandboxURL+"/cleeng/sandbox/subscriptions/"+c.sub.String()+"/dunning", "",
		cleengsandbox.DunningOptions{AuthorizedFirst: authorizeFirst, Attempts: 1, NoTermination: true, Copies: copies}, &res); err != nil {
		return false, err
	}
	if authorizeFirst {
		p.count(storyAuthCapture)
	} else {
		p.count(storyCaptureOnly)
	}
	for _, a := range res.Attempts {
		p.faults.remember(lateWebhook{topic: a.Topic, subscription: c.sub, date: a.DunningAttemptDate})
		if a.Status == cleeng.StatusCaptured && (len(c.captured) == 0 || c.captured[len(c.captured)-1] != a.PaymentID) {
			c.captured = append(c.captured, a.PaymentID)
		}
	}
	c.details = res.Subscription.PaymentDetailsID
	return res.Renewed, nil
}

func detailsToken(st cleengsandbox.State, sub cleeng.ID) (string, error) {
	s, _ := st.Subscription(sub)
	for _, d := range st.PaymentDetails {
		if d.ID == s.PaymentDetailsID {
			return d.Token, nil
		}
	}
	return "", fmt.Errorf("subscription %s has no payment details", sub)
}

// refundLast refunds the subscription's last captured payment.
func (p *population) refundLast(ctx context.Context, c *subscriber) error {
	if len(c.captured) == 0 {
		return nil
	}
	last := c.captured[len(c.captured)-1]
	if err := p.emit(ctx, cleengsandbox.EmitRequest{Topic: string(cleeng.TopicRefundPayment), PaymentID: last, Reason: "chaos"}); err != nil {
		return err
	}
	p.count(storyRefund)
	return nil
}

// cardUpdate pays for new details through the connector, then has Cleeng
// deactivate the old ones.
func (p *population) cardUpdate(ctx context.Context, c *subscriber) error {
	if err := p.login(ctx, c); err != nil {
		return err
	}
	var out outcome
	if _, err := p.api.call(ctx, http.MethodPost, p.api.ingressURL+"/v1/payment-details", c.jwt, map[string]any{
		"paymentMethodId": json.Number(stack.DevPaymentMethodAdyen),
		"paymentMethod":   adyensandbox.EncryptedCardMethod(adyensandbox.CardMastercard, "Chaos Monkey"),
	}, &out); err != nil {
		return err
	}
	if out.Status != "active" {
		return nil
	}
	if c.details == "" {
		return nil
	}
	if err := p.emit(ctx, cleengsandbox.EmitRequest{Topic: string(cleeng.TopicPaymentDetailsDeactivated), PaymentDetailsID: c.details}); err != nil {
		return err
	}
	p.count(storyCardUpdate)
	return nil
}

func (p *population) terminate(ctx context.Context, c *subscriber) error {
	if c.sub == "" {
		return nil
	}
	if err := p.emit(ctx, cleengsandbox.EmitRequest{Topic: string(cleeng.TopicTermination), SubscriptionID: c.sub}); err != nil {
		return err
	}
	p.count(storyTermination)
	p.faults.remember(lateWebhook{topic: cleeng.TopicTermination, subscription: c.sub})
	return nil
}

func (p *population) emit(ctx context.Context, req cleengsandbox.EmitRequest) error {
	_, err := p.api.call(ctx, http.MethodPost, p.api.sandboxURL+"/cleeng/sandbox/webhooks", "", req, nil)
	return err
}

func (p *population) cleengState(ctx context.Context) (cleengsandbox.State, error) {
	var st cleengsandbox.State
	_, err := p.api.call(ctx, http.MethodGet, p.api.sandboxURL+"/cleeng/sandbox/state", "", nil, &st)
	return st, err
}
