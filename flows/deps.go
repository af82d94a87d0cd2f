package flows

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/cleeng-connector/connector/cleeng"
	"github.com/cleeng-connector/connector/gateways"
	"github.com/cleeng-connector/connector/internal/failure"
	"github.com/cleeng-connector/connector/internal/ops"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// Cleeng is the part of Cleeng's Payment API the flows use (*cleeng.Client).
type Cleeng interface {
	GetOrder(ctx context.Context, orderID cleeng.ID) (cleeng.Order, error)
	CreateOrder(ctx context.Context, req cleeng.CreateOrderRequest) (cleeng.Order, error)
	CreatePayment(ctx context.Context, req cleeng.CreatePaymentRequest) (cleeng.Payment, error)
	UpdatePayment(ctx context.Context, paymentID cleeng.ID, req cleeng.UpdatePaymentRequest) (cleeng.Payment, error)
	CancelPayment(ctx context.Context, paymentID cleeng.ID) (cleeng.Payment, error)
	CreatePaymentDetails(ctx context.Context, req cleeng.CreatePaymentDetailsRequest) (cleeng.PaymentDetails, error)
	DeletePaymentDetails(ctx context.Context, paymentDetailsID cleeng.ID) error
	AuthorisedPayments(ctx context.Context, paymentDetailsID cleeng.ID) ([]cleeng.Payment, error)
	TerminateSubscription(ctx context.Context, subscriptionID cleeng.ID) (cleeng.Subscription, error)
	// Externally-managed subscriptions (external.go).
	CreateSubscription(ctx context.Context, req cleeng.CreateSubscriptionRequest) (cleeng.Subscription, error)
	UpdateSubscription(ctx context.Context, subscriptionID cleeng.ID, req cleeng.UpdateSubscriptionRequest) (cleeng.Subscription, error)
	CreateExternalPayment(ctx context.Context, req cleeng.ExternalPaymentRequest) (cleeng.Payment, error)
}

// Router chooses the gateway of a Cleeng paymentMethodId (PAYMENT_METHODS).
type Router struct {
	byMethod map[string]gateways.Gateway
	byName   map[string]gateways.Gateway
}

// NewRouter maps payment method ids to gateway names, checking every name
// is a configured gateway.
func NewRouter(methods map[string]string, gws ...gateways.Gateway) (*Router, error) {
	r := &Router{byMethod: map[string]gateways.Gateway{}, byName: map[string]gateways.Gateway{}}
	for _, g := range gws {
		r.byName[g.Name()] = g
	}
	for method, name := range methods {
		g, ok := r.byName[name]
		if !ok {
			return nil, fmt.Errorf("PAYMENT_METHODS: %s=%s: no gateway %q is configured (have: %s)", method, name, name, strings.Join(r.names(), ", "))
		}
		r.byMethod[method] = g
	}
	return r, nil
}

func (r *Router) names() []string {
	out := make([]string, 0, len(r.byName))
	for n := range r.byName {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// ForMethod returns the gateway serving paymentMethodId. An unknown id is a
// permanent failure whose reason tells the operator what to configure.
func (r *Router) ForMethod(paymentMethodID cleeng.ID) (gateways.Gateway, error) {
	if g, ok := r.byMethod[paymentMethodID.String()]; ok {
		return g, nil
	}
	return nil, failure.Permanentf("paymentMethodId %s is not routed to a gateway: add %s=<gateway> to PAYMENT_METHODS (gateways: %s)",
		paymentMethodID, paymentMethodID, strings.Join(r.names(), ", "))
}

// ByName returns a configured gateway.
func (r *Router) ByName(name string) (gateways.Gateway, error) {
	if g, ok := r.byName[name]; ok {
		return g, nil
	}
	return nil, failure.Permanentf("gateway %q is not configured (have: %s)", name, strings.Join(r.names(), ", "))
}

// Options are the flows' settings.
type Options struct {
	// DeleteDeactivatedDetails deletes the old token at the gateway and the
	// old payment details in Cleeng when details are deactivated.
	DeleteDeactivatedDetails bool
	// ZeroAuthCurrency is the currency of the zero-amount authorisation that
	// validates a new card when the request names none. Default EUR.
	ZeroAuthCurrency string
	// NotificationTimeout is how long a renewal at a gateway without
	// idempotency keys waits for the notification that settles a lost answer
	// or a pending payment. Default 1h.
	NotificationTimeout time.Duration
	// EventDecoders decode each gateway's stored notifications, by gateway name.
	EventDecoders map[string]EventDecoder
	// Metrics receives the flows' metrics (the worker's registry); nil:
	// counted, not exported.
	Metrics prometheus.Registerer
	// AllowedPaymentMethods are, by gateway name, the method types the
	// payment-methods query offers (Adyen's "scheme", "ideal"); none: every
	// type the gateway's account has.
	AllowedPaymentMethods map[string][]string
	// PaymentMethodTypes are, by Cleeng paymentMethodId, the gateway's
	// method types that id pays with (Adyen's "applepay"), so each method
	// has an id of its own in Cleeng: an order's payment-methods answer
	// offers only those, and a payment of another type is refused before
	// the gateway is called. An id without types takes every type.
	PaymentMethodTypes map[string][]string
	// ExternallyManagedMethods are the Cleeng paymentMethodIds whose
	// gateway bills by itself (EXTERNALLY_MANAGED_METHODS): the connector
	// only mirrors their events in Cleeng (external.go).
	ExternallyManagedMethods []string
}

// Stores are where the flows keep their records.
type Stores struct {
	// Operations holds the operation records and the pending index, which
	// only means something while its operation record exists
	// (broker.Broker.Ops).
	Operations *ops.Store
	// PaymentIndex holds the payment index, which refunds and chargebacks
	// read long after the payment's operation record expired
	// (broker.Broker.Index).
	PaymentIndex *ops.Store
}

// Flows holds what every flow needs.
type Flows struct {
	cleeng Cleeng
	router *Router
	ops    *ops.Store
	index  *ops.Store
	log    zerolog.Logger
	opts   Options
	// metrics count the gateway events an operator must act on.
	metrics *eventMetrics
}

// New builds the flows.
func New(c Cleeng, r *Router, stores Stores, log zerolog.Logger, opts Options) *Flows {
	if opts.ZeroAuthCurrency == "" {
		opts.ZeroAuthCurrency = "EUR"
	}
	if opts.NotificationTimeout <= 0 {
		opts.NotificationTimeout = time.Hour
	}
	return &Flows{cleeng: c, router: r, ops: stores.Operations, index: stores.PaymentIndex, log: log, opts: opts,
		metrics: newEventMetrics(opts.Metrics)}
}
