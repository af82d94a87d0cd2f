package flows

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/cleeng-connector/connector/cleeng"
	"github.com/cleeng-connector/connector/internal/broker"
	"github.com/cleeng-connector/connector/internal/messages"
	"github.com/cleeng-connector/connector/workers"
)

const flowGatewayEvents = "gateway-events"

// Names lists every flow, in the order of DESIGN section 1.
var Names = []string{flowInitial, flowAuthorise, flowCapture, flowTerminate, flowRefund, flowDeactivate, flowUpdateDetails, flowGatewayEvents}

func webhookSubject(t cleeng.Topic) string { return broker.SubjectCleengWebhook + "." + string(t) }

// Definitions binds the named flows (all when none is named) to their
// inbox subjects, for the worker runtime.
func (f *Flows) Definitions(names ...string) ([]workers.Flow, error) {
	if len(names) == 0 {
		names = Names
	}
	data := func(h func(context.Context, []byte) error) workers.Handler {
		return func(ctx context.Context, m workers.Message) error { return h(ctx, m.Data) }
	}
	all := map[string]workers.Flow{
		flowInitial: {Subjects: []string{messages.SubjectCheckoutPayment, messages.SubjectCheckoutDetails},
			Handler: func(ctx context.Context, m workers.Message) error {
				if m.Subject == messages.SubjectCheckoutDetails {
					return f.PaymentActionDetails(ctx, m.Data)
				}
				return f.InitialPayment(ctx, m.Data)
			}, Letter: messages.Letter},
		flowAuthorise:  {Subjects: []string{webhookSubject(cleeng.TopicPaymentAuthorisation)}, Handler: data(f.Authorise)},
		flowCapture:    {Subjects: []string{webhookSubject(cleeng.TopicPaymentCapture)}, Handler: data(f.Capture)},
		flowTerminate:  {Subjects: []string{webhookSubject(cleeng.TopicTermination)}, Handler: data(f.Terminate)},
		flowRefund:     {Subjects: []string{webhookSubject(cleeng.TopicRefundPayment)}, Handler: data(f.Refund)},
		flowDeactivate: {Subjects: []string{webhookSubject(cleeng.TopicPaymentDetailsDeactivated)}, Handler: data(f.DeactivateDetails)},
		flowUpdateDetails: {Subjects: []string{messages.SubjectCheckoutPaymentDetails, messages.SubjectCheckoutPaymentDetailsAction},
			Handler: func(ctx context.Context, m workers.Message) error {
				if m.Subject == messages.SubjectCheckoutPaymentDetailsAction {
					return f.UpdateDetailsAction(ctx, m.Data)
				}
				return f.UpdateDetails(ctx, m.Data)
			}, Letter: messages.Letter},
		flowGatewayEvents: {Subjects: []string{broker.SubjectGateway + ".>"},
			Handler: func(ctx context.Context, m workers.Message) error { return f.GatewayEvent(ctx, m.Subject, m.Data) }},
	}
	out := make([]workers.Flow, 0, len(names))
	for _, name := range names {
		def, ok := all[name]
		if !ok {
			return nil, fmt.Errorf("WORKER_FLOWS: unknown flow %q (flows: %s)", name, strings.Join(Names, ", "))
		}
		if slices.ContainsFunc(out, func(w workers.Flow) bool { return w.Name == name }) {
			continue
		}
		def.Name = name
		def.Handler = f.replayable(delivered(def.Handler))
		out = append(out, def)
	}
	return out, nil
}
