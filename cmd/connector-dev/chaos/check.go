package chaos

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/shopspring/decimal"

	"github.com/cleeng-connector/connector/cleeng"
	cleengsandbox "github.com/cleeng-connector/connector/cleeng/sandbox"
	adyensandbox "github.com/cleeng-connector/connector/gateways/adyen/sandbox"
	cbsandbox "github.com/cleeng-connector/connector/gateways/cleverbridge/sandbox"
	"github.com/cleeng-connector/connector/internal/broker"
	"github.com/cleeng-connector/connector/internal/money"
	"github.com/cleeng-connector/connector/internal/ops"
	"github.com/cleeng-connector/connector/workers"
)

// records is what the connector holds in NATS.
type records struct {
	// unacked counts the inbox messages a flow has not acknowledged yet
	// (not delivered, or delivered and not acknowledged), and unackedBy
	// names the flows' consumers holding them: the work left.
	unacked   uint64
	unackedBy []string
	// inbox counts the messages the inbox stores; inboxSubjects name a
	// few. After a node kill a replica may store for a while a message
	// its consumer has acknowledged, until the server's periodic interest
	// check removes it: no work is left in it.
	inbox         uint64
	inboxSubjects []string
	inProgress    []*ops.Record[json.RawMessage]
	operations    int
	// deadLetters counts letters by flow and reason; inDoubtOrders are
	// the Cleeng orders of the renewals left in doubt (inDoubtLetter).
	deadLetters   map[string]int
	inDoubtOrders []string
	// lateForTerminated are the subscriptions of renewals that reached
	// Cleeng only after the subscription was terminated (terminatedLetter).
	lateForTerminated []cleeng.ID
	// captureGone are the subscriptions of captures that found their
	// authorisation gone (captureGoneLetter).
	captureGone []cleeng.ID
}

// readRecords reads the inbox's depth, the operation records and the dead letters.
func readRecords(ctx context.Context, natsURL string) (records, error) {
	var r records
	nc, err := nats.Connect(natsURL)
	if err != nil {
		return r, err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return r, err
	}
	inbox, err := js.Stream(ctx, broker.InboxStream)
	if err != nil {
		return r, err
	}
	info, err := inbox.Info(ctx)
	if err != nil {
		return r, err
	}
	r.inbox = info.State.Msgs
	consumers := inbox.ListConsumers(ctx)
	for c := range consumers.Info() {
		if left := c.NumPending + uint64(c.NumAckPending); left > 0 {
			r.unacked += left
			r.unackedBy = append(r.unackedBy, fmt.Sprintf("%s: %d not delivered, %d not acknowledged, %d pull requests waiting on %s",
				c.Name, c.NumPending, c.NumAckPending, c.NumWaiting, leaderOf(c.Cluster)))
		}
	}
	if err := consumers.Err(); err != nil {
		return r, err
	}
	for seq := info.State.FirstSeq; r.inbox > 0 && seq <= info.State.LastSeq && len(r.inboxSubjects) < 5; seq++ {
		if m, err := inbox.GetMsg(ctx, seq); err == nil {
			r.inboxSubjects = append(r.inboxSubjects, fmt.Sprintf("%s (stored %s)", m.Subject, m.Time.Format(time.TimeOnly)))
		}
	}
	kv, err := js.KeyValue(ctx, broker.OpsBucket)
	if err != nil {
		return r, err
	}
	recs, err := ops.List[json.RawMessage](ctx, ops.NewStore(kv), "")
	if err != nil {
		return r, err
	}
	for _, rec := range recs {
		// The bucket holds index-like entries beside the records
		// (pending., charging., late-letter.): only records have a flow.
		if rec.Flow == "" {
			continue
		}
		r.operations++
		if rec.Status == ops.StatusInProgress {
			r.inProgress = append(r.inProgress, rec)
		}
	}
	err = r.readDeadLetters(ctx, js)
	return r, err
}

func (r *records) readDeadLetters(ctx context.Context, js jetstream.JetStream) error {
	r.deadLetters = map[string]int{}
	dlq, err := js.Stream(ctx, broker.DLQStream)
	if err != nil {
		return err
	}
	info, err := dlq.Info(ctx)
	if err != nil || info.State.Msgs == 0 {
		return err
	}
	// Read by sequence rather than through a consumer: on a cluster, a
	// consumer just created may not yet be known on the node a pull reaches.
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq; seq++ {
		msg, err := dlq.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("read dead letter %d: %w", seq, err)
		}
		raw := msg.Header.Get(workers.HeaderError)
		if m := inDoubtLetter.FindStringSubmatch(raw); m != nil {
			r.inDoubtOrders = append(r.inDoubtOrders, m[1])
			continue
		}
		if m := terminatedLetter.FindStringSubmatch(raw); m != nil {
			r.lateForTerminated = append(r.lateForTerminated, cleeng.ID(m[1]))
			continue
		}
		if m := captureGoneLetter.FindStringSubmatch(raw); m != nil {
			r.captureGone = append(r.captureGone, cleeng.ID(m[1]))
			continue
		}
		// Letters for the same reason differ in ids and amounts: one row each reason.
		reason := letterIDs.ReplaceAllString(raw, "…")
		if len(reason) > 160 {
			reason = reason[:160] + "…"
		}
		r.deadLetters[msg.Header.Get(workers.HeaderFlow)+": "+reason]++
	}
	return nil
}

// letterIDs are the parts of a dead letter's reason naming one payment.
var letterIDs = regexp.MustCompile(`\([^)]*\)|[A-Z]?[0-9][0-9.:+TZ-]*`)

// ledgers are the sandboxes' states.
type ledgers struct {
	cleeng       cleengsandbox.State
	adyen        adyensandbox.State
	cleverbridge cbsandbox.State
}

func readLedgers(ctx context.Context, a *api) (ledgers, error) {
	var l ledgers
	for _, s := range []struct {
		path string
		into any
	}{{"/cleeng/sandbox/state", &l.cleeng}, {"/adyen/sandbox/state", &l.adyen}, {"/cleverbridge/sandbox/state", &l.cleverbridge}} {
		if _, err := a.call(ctx, http.MethodGet, a.sandboxURL+s.path, "", nil, s.into); err != nil {
			return l, err
		}
	}
	return l, nil
}

// row is one line of the verdict: a measure, its value, and the bound it
// must keep (empty: reported, not checked).
type row struct {
	what, value, bound string
	violated           bool
	details            []string
}

// verdict is the table of a run.
type verdict struct {
	rows []row
}

func (v *verdict) report(what string, value any) {
	v.rows = append(v.rows, row{what: what, value: fmt.Sprint(value)})
}

func (v *verdict) check(what string, value int, bound string, ok bool, details []string) {
	if len(details) > 5 {
		details = append(details[:5:5], fmt.Sprintf("… and %d more", len(details)-5))
	}
	v.rows = append(v.rows, row{what: what, value: fmt.Sprint(value), bound: bound, violated: !ok, details: details})
}

// note is a row that is no check, with the details it lists below the table.
func (v *verdict) note(what string, value int, details []string) {
	v.rows = append(v.rows, row{what: what, value: fmt.Sprint(value), details: details})
}

// Failed tells whether any checked row was violated.
func (v verdict) Failed() bool {
	return slices.ContainsFunc(v.rows, func(r row) bool { return r.violated })
}

func (v verdict) print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MEASURE\tVALUE\tMUST BE\tVERDICT")
	for _, r := range v.rows {
		verdict := ""
		if r.bound != "" {
			verdict = "ok"
			if r.violated {
				verdict = "VIOLATED"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.what, r.value, r.bound, verdict)
	}
	_ = tw.Flush()
	for _, r := range v.rows {
		if r.violated || (r.bound == "" && len(r.details) > 0) {
			fmt.Fprintf(w, "\n%s:\n", r.what)
			for _, d := range r.details {
				fmt.Fprintf(w, "  %s\n", d)
			}
		}
	}
}

// checkInvariants holds DESIGN section 4's promise to the ledgers and records.
// inDoubtLetter is the reason of a renewal at a gateway without
// idempotency keys whose call failed without a known outcome (an error
// answer, or its worker killed mid-call): it may have charged, so once no
// notification came the connector leaves it to an operator.
var inDoubtLetter = regexp.MustCompile(`renewal order (\S+): \S+ answer was lost .* no notification came within`)

// terminatedLetter is the reason of a renewal whose Cleeng order was
// refused because the subscription was terminated meanwhile: the
// population terminates a subscription whose last dunning webhook the
// connector may still hold (a killed worker's message waits its AckWait).
// Nothing was charged; the letter tells the operator why.
var terminatedLetter = regexp.MustCompile(`POST /orders: .*subscription_not_active: subscription (\S+) is terminated`)

// captureGoneLetter is the reason of a capture webhook whose authorised
// payment was no longer authorised when the capture looked: the
// population updated the card, and the deactivation of the old details
// cancelled the open authorisation, while the capture webhook was still
// being handled (a dunning cycle it watched for 10 s, slowed by faults
// and kills). Nothing was captured; the letter tells the operator why.
var captureGoneLetter = regexp.MustCompile(`subscription (\S+), dunning attempt \S+: the capture found an authorised payment in Cleeng, and it is gone`)

func checkInvariants(v *verdict, l ledgers, r records) {
	orders := map[cleeng.ID]cleengsandbox.Order{}
	for _, o := range l.cleeng.Orders {
		orders[o.ID] = o
	}

	// Charges per order: every gateway payment names its Cleeng order (a
	// card update's zero authorisation names the request instead).
	perOrder := map[string]int{}
	for _, p := range l.adyen.PaymentList {
		if !strings.HasPrefix(p.Reference, "details-") {
			perOrder[p.Reference]++
		}
	}
	for _, p := range l.cleverbridge.Purchases {
		perOrder[p.Metadata()["orderId"]]++
	}
	maxPerOrder, overOrders := maxOver(perOrder, 1, "order %s charged %d times")
	v.check("largest number of gateway charges per order", maxPerOrder, "≤ 1", len(overOrders) == 0, overOrders)

	// Successful charges per (subscription, dunning attempt): each attempt
	// the population ran is one webhook date; a subscription never holds
	// more successful renewal charges than dunning attempts.
	attempts := map[cleeng.ID]map[string]bool{}
	for _, d := range l.cleeng.Webhooks {
		if d.Topic != string(cleeng.TopicPaymentAuthorisation) && d.Topic != string(cleeng.TopicPaymentCapture) {
			continue
		}
		var w struct {
			Data cleeng.DunningData `json:"data"`
		}
		if json.Unmarshal(d.Body, &w) != nil {
			continue
		}
		if attempts[w.Data.SubscriptionID] == nil {
			attempts[w.Data.SubscriptionID] = map[string]bool{}
		}
		attempts[w.Data.SubscriptionID][w.Data.DunningAttemptDate] = true
	}
	// An authorisation cancelled took nothing: a card update's deactivation
	// cancels the attempt's, which the capture then charges directly.
	renewals := map[cleeng.ID]int{}
	for _, p := range l.adyen.PaymentList {
		o, ok := orders[cleeng.ID(p.Reference)]
		if ok && p.Recurring && p.Status != adyensandbox.StatusRefused && p.Status != adyensandbox.StatusCancelled &&
			o.PaymentOperation == cleeng.OperationRecurringPayment {
			renewals[o.SubscriptionID]++
		}
	}
	for _, p := range l.cleverbridge.Purchases {
		if p.Status == "Paid" {
			renewals[cleeng.ID(p.Metadata()["subscriptionId"])]++
		}
	}
	var overAttempts []string
	worst := 0
	for sub, n := range renewals {
		per := (n + max(len(attempts[sub]), 1) - 1) / max(len(attempts[sub]), 1)
		worst = max(worst, per)
		if n > len(attempts[sub]) {
			overAttempts = append(overAttempts, fmt.Sprintf("subscription %s: %d successful renewal charges for %d dunning attempts", sub, n, len(attempts[sub])))
		}
	}
	v.check("largest number of successful charges per (subscription, dunning attempt)", worst, "≤ 1", len(overAttempts) == 0, overAttempts)

	// Cleeng payments per externalPaymentId.
	perExternal := map[string]int{}
	for _, p := range l.cleeng.Payments {
		if p.ExternalPaymentID != "" {
			perExternal[p.ExternalPaymentID]++
		}
	}
	maxPerExternal, overExternal := maxOver(perExternal, 1, "externalPaymentId %s has %d Cleeng payments")
	v.check("largest number of Cleeng payments per externalPaymentId", maxPerExternal, "≤ 1", len(overExternal) == 0, overExternal)
	created := map[string]int{}
	for _, req := range l.cleeng.PaymentRequests {
		if req.Answer/100 == 2 && req.ExternalPaymentID != "" {
			created[req.ExternalPaymentID]++
		}
	}
	maxCreated, overCreated := maxOver(created, 1, "externalPaymentId %s: %d POST /payments answered 2xx")
	v.check("largest number of POST /payments created per externalPaymentId", maxCreated, "≤ 1", len(overCreated) == 0, overCreated)

	disagreements := agreement(l)
	v.check("payments where gateway and Cleeng disagree (amount, currency, status, externalPaymentId)", len(disagreements), "0", len(disagreements) == 0, disagreements)

	var open []string
	for _, rec := range r.inProgress {
		open = append(open, fmt.Sprintf("%s at step %q since %s", rec.Key, rec.Step, rec.Updated.Format(time.TimeOnly)))
	}
	v.report("operation records", r.operations)
	v.check("operations not in a terminal state", len(open), "0", len(open) == 0, open)
	v.check("inbox messages no flow has acknowledged", int(r.unacked), "0", r.unacked == 0, r.unackedBy)
	if r.unacked == 0 && r.inbox > 0 {
		v.note("inbox messages acknowledged, still stored by a replica (the server removes them later)", int(r.inbox), r.inboxSubjects)
	}
	// The population sends nothing the connector refuses by design, and
	// every fault of the schedule but one is one it must ride out: a
	// Process Cart call failing without an answer (an injected error, a
	// worker killed mid-call) leaves the renewal in doubt, for an operator.
	// Such a letter is explained when Cleverbridge indeed charged nothing
	// for the order; had it charged, its notification should have settled
	// the renewal. Any other letter is a broken promise.
	var charged []string
	for _, order := range r.inDoubtOrders {
		if perOrder[order] > 0 {
			charged = append(charged, "renewal order "+order+" left in doubt though Cleverbridge charged it")
		}
	}
	v.report("dead letters: renewals in doubt, Cleverbridge charged nothing (for an operator)", len(r.inDoubtOrders)-len(charged))
	v.check("dead letters: renewals in doubt that Cleverbridge charged", len(charged), "0", len(charged) == 0, charged)
	terminated, cancelled := map[cleeng.ID]bool{}, map[cleeng.ID]bool{}
	for _, sub := range l.cleeng.Subscriptions {
		terminated[sub.SubscriptionID] = sub.Status == cleeng.SubscriptionTerminated
	}
	for _, p := range l.cleeng.Payments {
		if p.Status == cleeng.StatusCancelled {
			cancelled[p.SubscriptionID] = true
		}
	}
	late, unexplainedLetters := explained(r.lateForTerminated, terminated, "renewal of subscription %s refused as terminated, but Cleeng holds it active")
	v.report("dead letters: renewals that reached Cleeng after the subscription's termination", late)
	gone, notCancelled := explained(r.captureGone, cancelled, "capture of subscription %s found its authorisation gone, but no payment of it was cancelled")
	unexplainedLetters = append(unexplainedLetters, notCancelled...)
	v.report("dead letters: captures whose authorisation a card update cancelled first", gone)
	unexplained := len(unexplainedLetters)
	reasons := unexplainedLetters
	for _, reason := range sortedKeys(r.deadLetters) {
		unexplained += r.deadLetters[reason]
		reasons = append(reasons, fmt.Sprintf("%d× %s", r.deadLetters[reason], reason))
	}
	v.check("dead letters the schedule does not explain", unexplained, "0", unexplained == 0, reasons)
}

// explained counts the letters about subs that the ledgers explain (by
// subscription), and names the others with unexplained.
func explained(subs []cleeng.ID, explains map[cleeng.ID]bool, unexplained string) (int, []string) {
	n := 0
	var others []string
	for _, sub := range subs {
		if explains[sub] {
			n++
		} else {
			others = append(others, fmt.Sprintf(unexplained, sub))
		}
	}
	return n, others
}

// agreement compares every Cleeng payment with the gateway's payment of
// its externalPaymentId, and finds gateway charges Cleeng never heard of.
func agreement(l ledgers) []string {
	adyen := map[string]adyensandbox.Payment{}
	for _, p := range l.adyen.PaymentList {
		adyen[p.PSPReference] = p
	}
	cb := map[string]cbsandbox.Purchase{}
	for _, p := range l.cleverbridge.Purchases {
		cb[p.ID] = p
	}
	var out []string
	known := map[string]bool{}
	for _, p := range l.cleeng.Payments {
		if p.ExternalPaymentID == "" {
			continue
		}
		known[p.ExternalPaymentID] = true
		if g, ok := adyen[p.ExternalPaymentID]; ok {
			if d := adyenDisagrees(p, g); d != "" {
				out = append(out, fmt.Sprintf("Cleeng payment %s / Adyen %s: %s", p.ID, g.PSPReference, d))
			}
			continue
		}
		if g, ok := cb[p.ExternalPaymentID]; ok {
			if d := cleverbridgeDisagrees(p, g); d != "" {
				out = append(out, fmt.Sprintf("Cleeng payment %s / Cleverbridge %s: %s", p.ID, g.ID, d))
			}
			continue
		}
		if p.Status == cleeng.StatusCaptured || p.Status == cleeng.StatusAuthorized || p.Status == cleeng.StatusRefunded {
			out = append(out, fmt.Sprintf("Cleeng payment %s (%s) names externalPaymentId %s no gateway holds", p.ID, p.Status, p.ExternalPaymentID))
		}
	}
	for _, g := range l.adyen.PaymentList {
		charged := g.Status == adyensandbox.StatusCaptured || (g.Status == adyensandbox.StatusAuthorised && g.Amount > 0)
		if charged && !strings.HasPrefix(g.Reference, "details-") && !known[g.PSPReference] {
			out = append(out, fmt.Sprintf("Adyen %s (%s %d %s, order %s) has no Cleeng payment", g.PSPReference, g.Status, g.Amount, g.Currency, g.Reference))
		}
	}
	for _, g := range l.cleverbridge.Purchases {
		if g.Status == "Paid" && !known[g.ID] {
			out = append(out, fmt.Sprintf("Cleverbridge purchase %s (%s %s) has no Cleeng payment", g.ID, g.Amount, g.Currency))
		}
	}
	sort.Strings(out)
	return out
}

func adyenDisagrees(p cleeng.Payment, g adyensandbox.Payment) string {
	if p.Currency != g.Currency {
		return fmt.Sprintf("currency %s vs %s", p.Currency, g.Currency)
	}
	minor, err := money.ISO4217.Minor(money.Amount{Value: p.Amount.Decimal, Currency: p.Currency})
	if err != nil {
		return err.Error()
	}
	if minor != g.Amount {
		return fmt.Sprintf("amount %s %s vs %d minor units", p.Amount, p.Currency, g.Amount)
	}
	want := map[cleeng.PaymentStatus]func() bool{
		cleeng.StatusCaptured:   func() bool { return g.Status == adyensandbox.StatusCaptured && g.Refunded == 0 },
		cleeng.StatusAuthorized: func() bool { return g.Status == adyensandbox.StatusAuthorised },
		cleeng.StatusRejected:   func() bool { return g.Status == adyensandbox.StatusRefused },
		cleeng.StatusCancelled:  func() bool { return g.Status == adyensandbox.StatusCancelled },
		cleeng.StatusRefunded:   func() bool { return g.Refunded > 0 },
	}[p.Status]
	// A free trial's zero authorisation stays authorised: Cleeng records
	// the trial as captured.
	if p.Status == cleeng.StatusCaptured && p.Amount.IsZero() && g.Status == adyensandbox.StatusAuthorised {
		return ""
	}
	if want == nil || !want() {
		return fmt.Sprintf("status %s vs %s (captured %d, refunded %d)", p.Status, g.Status, g.Captured, g.Refunded)
	}
	return ""
}

func cleverbridgeDisagrees(p cleeng.Payment, g cbsandbox.Purchase) string {
	if p.Currency != g.Currency {
		return fmt.Sprintf("currency %s vs %s", p.Currency, g.Currency)
	}
	if !p.Amount.Decimal.Equal(decimal.Decimal(g.Amount)) {
		return fmt.Sprintf("amount %s vs %s", p.Amount, g.Amount)
	}
	paid := g.Status == "Paid"
	if (p.Status == cleeng.StatusCaptured || p.Status == cleeng.StatusRefunded) != paid {
		return fmt.Sprintf("status %s vs %s", p.Status, g.Status)
	}
	return ""
}

// maxOver returns the largest count and a line for each key above bound.
func maxOver(counts map[string]int, bound int, format string) (int, []string) {
	worst := 0
	var over []string
	for _, k := range sortedKeys(counts) {
		worst = max(worst, counts[k])
		if counts[k] > bound {
			over = append(over, fmt.Sprintf(format, k, counts[k]))
		}
	}
	return worst, over
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// leaderOf names a consumer's leader node, for the quiescing line.
func leaderOf(c *jetstream.ClusterInfo) string {
	if c == nil || c.Leader == "" {
		return "no leader"
	}
	return c.Leader
}
