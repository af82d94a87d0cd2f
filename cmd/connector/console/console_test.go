package console_test

import (
	"context"
	"errors"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/cleeng-connector/connector/cmd/connector/console"
	"github.com/cleeng-connector/connector/cmd/connector/deadletter"
	"github.com/cleeng-connector/connector/internal/broker"
	"github.com/cleeng-connector/connector/internal/ops"
	"github.com/cleeng-connector/connector/internal/testkit"
	"github.com/cleeng-connector/connector/workers"
)

const (
	user     = "night-operator"
	password = "correct horse battery staple"
	// cardNumber and cvc are the front-end card data a checkout letter holds.
	cardNumber = "4111111111111111"
	cvc        = "737"
)

// site is a console over a real HTTP server on an embedded JetStream.
type site struct {
	t   *testing.T
	b   *broker.Broker
	url string
}

func newSite(t *testing.T) *site {
	t.Helper()
	b := testkit.Broker(t)
	c, err := console.New(console.Config{User: user, Password: password, Broker: b, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(c.Handler())
	t.Cleanup(srv.Close)
	return &site{t: t, b: b, url: srv.URL}
}

// get fetches path with the console's credentials and wants status.
func (s *site) get(path string, status int) string {
	s.t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.url+path, nil)
	if err != nil {
		s.t.Fatal(err)
	}
	req.SetBasicAuth(user, password)
	resp, body := testkit.Do(s.t, req)
	if resp.StatusCode != status {
		s.t.Fatalf("GET %s = %d, want %d:\n%s", path, resp.StatusCode, status, body)
	}
	return html.UnescapeString(string(body))
}

// post submits a form to path as a same-origin page of the console does,
// without following the redirect.
func (s *site) post(path string, form url.Values, header http.Header) (*http.Response, string) {
	s.t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.url+path, strings.NewReader(form.Encode()))
	if err != nil {
		s.t.Fatal(err)
	}
	req.SetBasicAuth(user, password)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return resp, string(body)
}

func contains(t *testing.T, what, got string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("%s lacks %q", what, w)
		}
	}
}

func lacks(t *testing.T, what, got string, unwanted ...string) {
	t.Helper()
	for _, u := range unwanted {
		if strings.Contains(got, u) {
			t.Errorf("%s shows %q", what, u)
		}
	}
}

// storeLetter stores a dead letter shaped as the workers runtime writes it.
func (s *site) storeLetter(flow, subject, reason, data string) uint64 {
	s.t.Helper()
	m := &nats.Msg{Subject: broker.SubjectDLQ + "." + flow, Data: []byte(data), Header: nats.Header{}}
	m.Header.Set("Connector-Received", "2025-01-02T03:04:05Z")
	m.Header.Set("X-Cleeng-Signature", "sig-must-not-show")
	m.Header.Set(workers.HeaderFlow, flow)
	m.Header.Set(workers.HeaderError, reason)
	m.Header.Set(workers.HeaderAttempts, "10")
	m.Header.Set(workers.HeaderOriginalSubject, subject)
	ack, err := s.b.JS.PublishMsg(s.t.Context(), m)
	if err != nil {
		s.t.Fatal(err)
	}
	return ack.Sequence
}

func TestConsole_EveryPageNeedsTheCredentials(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	for _, path := range []string{"/", "/dead-letters", "/dead-letters/1/replay", "/operations", "/timeline?id=S1", "/nats", "/static/console.css"} {
		for _, auth := range []func(*http.Request){
			func(*http.Request) {},
			func(r *http.Request) { r.SetBasicAuth(user, "wrong password of some length") },
			func(r *http.Request) { r.SetBasicAuth("someone", password) },
		} {
			req, _ := http.NewRequest(http.MethodGet, s.url+path, nil)
			auth(req)
			resp, body := testkit.Do(t, req)
			if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic ") {
				t.Errorf("GET %s with %q: %d %q, want 401 asking for Basic credentials", path, req.Header.Get("Authorization"), resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
			}
			lacks(t, "the 401 of "+path, string(body), "<table")
		}
	}
	req, _ := http.NewRequest(http.MethodGet, s.url+"/", nil)
	req.SetBasicAuth(user, password)
	resp, body := testkit.Do(t, req)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET / with the credentials: %d\n%s", resp.StatusCode, body)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("Content-Security-Policy %q: want nothing loaded but the console's own, never framed", csp)
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", resp.Header.Get("Cache-Control"))
	}
}

func TestCheckAddr_OnlyLoopback(t *testing.T) {
	t.Parallel()
	for _, addr := range []string{"127.0.0.1:8070", "localhost:8070", "[::1]:8070", "127.0.0.2:1"} {
		if err := console.CheckAddr(addr); err != nil {
			t.Errorf("CheckAddr(%q) = %v, want nil", addr, err)
		}
	}
	for _, addr := range []string{":8070", "0.0.0.0:8070", "10.0.0.5:8070", "console.example:8070", "8070"} {
		if err := console.CheckAddr(addr); err == nil {
			t.Errorf("CheckAddr(%q) = nil, want an error", addr)
		}
	}
}

func TestConsole_DeadLetterShowsTheReasonNotTheCardAndReplaysOnlyOnConfirmation(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	payload := `{"orderId":91,"paymentMethod":{"type":"scheme","number":"` + cardNumber + `","cvc":"` + cvc + `"},"browserInfo":{"encryptedData":"adyenjs_secret"},"returnUrl":"https://shop.example/r"}`
	seq := s.storeLetter("checkout", "checkout.payment", "flow checkout: add 777=<gateway> to PAYMENT_METHODS", payload)
	s.storeLetter("refund", "cleeng.webhook.refundPayment", "flow refund: several gateways", `{"topic":"refundPayment"}`)

	list := s.get("/dead-letters", http.StatusOK)
	contains(t, "the dead letters page", list, "checkout.payment", "add 777=<gateway> to PAYMENT_METHODS", "cleeng.webhook.refundPayment", "/dead-letters/1/replay")
	if only := s.get("/dead-letters?flow=refund", http.StatusOK); strings.Contains(only, "checkout.payment") {
		t.Error("the dead letters of flow refund show a checkout letter")
	}

	show := s.get("/dead-letters/1", http.StatusOK)
	contains(t, "the letter's page", show, "add 777=<gateway> to PAYMENT_METHODS", "Connector-Received", "2025-01-02T03:04:05Z",
		`"orderId": 91`, `"returnUrl": "https://shop.example/r"`, `"paymentMethod": "[redacted]"`, `"encryptedData": "[redacted]"`, "X-Cleeng-Signature")
	lacks(t, "the letter's page", show, cardNumber, `"`+cvc+`"`, "adyenjs_secret", "sig-must-not-show")

	confirm := s.get("/dead-letters/1/replay", http.StatusOK)
	contains(t, "the confirmation", confirm, "Replay dead letter 1", "re-opened as a new attempt")
	token := regexp.MustCompile(`name="token" value="([^"]+)"`).FindStringSubmatch(confirm)
	if token == nil {
		t.Fatalf("the confirmation has no token:\n%s", confirm)
	}

	path := "/dead-letters/1/replay"
	for name, attempt := range map[string]struct {
		form   url.Values
		header http.Header
		status int
	}{
		"no token":                     {url.Values{}, nil, http.StatusForbidden},
		"the token of another letter":  {url.Values{"token": {"AAAA" + token[1][4:]}}, nil, http.StatusForbidden},
		"a cross-site form with token": {url.Values{"token": {token[1]}}, http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"https://evil.example"}}, http.StatusForbidden},
	} {
		if resp, body := s.post(path, attempt.form, attempt.header); resp.StatusCode != attempt.status {
			t.Errorf("replay with %s: %d, want %d\n%s", name, resp.StatusCode, attempt.status, body)
		}
	}
	if _, err := deadletter.Show(t.Context(), s.b.JS, seq); err != nil {
		t.Fatalf("the letter after refused replays: %v, want it still there", err)
	}
	if n := testkit.StreamMsgs(t, s.b.JS, broker.InboxStream); n != 0 {
		t.Fatalf("refused replays stored %d inbox messages, want none", n)
	}

	resp, _ := s.post(path, url.Values{"token": {token[1]}}, http.Header{"Sec-Fetch-Site": {"same-origin"}})
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/dead-letters?") {
		t.Fatalf("confirmed replay: %d to %q, want 303 to the dead letters", resp.StatusCode, resp.Header.Get("Location"))
	}
	if _, err := deadletter.Show(t.Context(), s.b.JS, seq); !errors.Is(err, deadletter.ErrNotFound) {
		t.Errorf("the letter after its replay: %v, want it gone", err)
	}
	inbox, err := s.b.JS.Stream(t.Context(), broker.InboxStream)
	if err != nil {
		t.Fatal(err)
	}
	m, err := inbox.GetLastMsgForSubject(t.Context(), "checkout.payment")
	if err != nil {
		t.Fatalf("the replayed message: %v", err)
	}
	if string(m.Data) != payload || m.Header.Get(workers.HeaderReplay) == "" {
		t.Errorf("replayed message %q with %s %q, want the payload byte for byte, marked", m.Data, workers.HeaderReplay, m.Header.Get(workers.HeaderReplay))
	}
	after := s.get(resp.Header.Get("Location"), http.StatusOK)
	contains(t, "the dead letters after the replay", after, "Dead letter 1 of flow checkout replayed to <code>checkout.payment</code>, inbox message 1")
	lacks(t, "the dead letters after the replay", after, `id="letter-1"`)
	if resp, _ := s.post(path, url.Values{"token": {token[1]}}, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("replaying it again: %d, want 404 (already replayed)", resp.StatusCode)
	}
	s.get("/dead-letters/1", http.StatusNotFound)
	s.get("/dead-letters/x", http.StatusBadRequest)
}

// records stores operations in every condition the console tells apart.
func (s *site) records() {
	s.t.Helper()
	ctx := s.t.Context()
	st := ops.NewStore(s.b.Ops)
	claim := func(key, flow string) *ops.Record[map[string]any] {
		rec, err := ops.Claim[map[string]any](ctx, st, key, flow)
		if err != nil {
			s.t.Fatal(err)
		}
		rec.State = map[string]any{"order": map[string]any{"id": "O-" + key}, "recurringToken": "tok_must_not_show"}
		if err := rec.Save(ctx, st, "order"); err != nil {
			s.t.Fatal(err)
		}
		return rec
	}
	check := func(err error) {
		if err != nil {
			s.t.Fatal(err)
		}
	}
	claim("authorise.S1.2026-01-01", "authorise") // running
	check(claim("authorise.S2.2026-01-01", "authorise").Park(ctx, st, "awaiting-notification"))
	check(claim("charge.S1.2026-02-01", "charge").Fail(ctx, st, "gateway", "adyen: 422 Unsupported currency"))
	check(claim("terminate.S3", "terminate").Finish(ctx, st, "done"))
	reopened := claim("capture.S1.2026-03-01", "capture")
	check(reopened.Fail(ctx, st, "report", "cleeng: 400 bad request"))
	check(ops.Reopen(ctx, st, reopened, "dead letter 7 of 2026-03-01T00:00:00Z", "report"))
	check(reopened.Finish(ctx, st, "done"))
}

func TestConsole_OperationsByConditionWithTheirAttempts(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	s.records()

	unfinished := s.get("/operations", http.StatusOK)
	contains(t, "the unfinished operations", unfinished, "authorise.S1.2026-01-01", "authorise.S2.2026-01-01", "charge.S1.2026-02-01",
		"adyen: 422 Unsupported currency", ">running<", ">parked<", ">failed<")
	lacks(t, "the unfinished operations", unfinished, "terminate.S3", "capture.S1.2026-03-01")
	for filter, want := range map[string]string{"running": "authorise.S1.", "parked": "authorise.S2.", "failed": "charge.S1.", "done": "terminate.S3"} {
		page := s.get("/operations?status="+filter, http.StatusOK)
		contains(t, filter+" operations", page, want)
		if n := strings.Count(page, `<a href="/operation?key=`); filter != "done" && n != 1 {
			t.Errorf("%s operations: %d rows, want 1", filter, n)
		}
	}
	if page := s.get("/operations?status=all&prefix=authorise", http.StatusOK); strings.Contains(page, "key=charge.S1") || !strings.Contains(page, "key=authorise.S2") {
		t.Error("the operations under prefix authorise show others, or miss one")
	}
	s.get("/operations?status=sleeping", http.StatusBadRequest)

	op := s.get("/operation?key=capture.S1.2026-03-01", http.StatusOK)
	contains(t, "the re-opened operation", op, `id="attempt">2<`, "report", "cleeng: 400 bad request", "dead letter 7 of 2026-03-01T00:00:00Z",
		`"id": "O-capture.S1.2026-03-01"`, `"recurringToken": "[redacted]"`, `href="/timeline?id=S1"`)
	lacks(t, "the re-opened operation", op, "tok_must_not_show")
	s.get("/operation?key=refund.none", http.StatusNotFound)
}

func TestConsole_TimelineGathersWhatTheRecordsHoldAboutOneSubscription(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	s.records()
	ctx := s.t.Context()
	idx, st := ops.NewStore(s.b.Index), ops.NewStore(s.b.Ops)
	// The initial purchase: its key names the order, its index entry the subscription.
	if _, err := ops.Claim[struct{}](ctx, st, "initial.9001", "checkout"); err != nil {
		t.Fatal(err)
	}
	if err := ops.PutOnce(ctx, idx, "payment.adyen.PSP1", "payment-index", "done", map[string]any{
		"gateway": "adyen", "externalPaymentId": "PSP1", "paymentId": "P77", "opKey": "initial.9001", "orderId": "9001", "subscriptionId": "S1"}); err != nil {
		t.Fatal(err)
	}
	if err := ops.PutOnce(ctx, idx, "payment.adyen.PSP2", "payment-index", "done", map[string]any{
		"gateway": "adyen", "externalPaymentId": "PSP2", "paymentId": "P78", "orderId": "9002", "subscriptionId": "S2"}); err != nil {
		t.Fatal(err)
	}
	// The refund of its payment, keyed by the Cleeng payment id only.
	if _, err := ops.Claim[struct{}](ctx, st, "refund.P77", "refund"); err != nil {
		t.Fatal(err)
	}
	s.storeLetter("gateway-events", "gateway.adyen.REFUND_FAILED", "flow gateway-events: refund failed at the gateway",
		`{"pspReference":"R1","originalReference":"PSP1","success":false}`)
	s.storeLetter("authorise", "cleeng.webhook.subscriptionReadyForPaymentAuthorisation", "flow authorise: unrelated",
		`{"data":{"subscriptionId":"S2"}}`)

	page := s.get("/timeline?id=S1", http.StatusOK)
	contains(t, "the timeline of S1", page, "authorise.S1.2026-01-01", "charge.S1.2026-02-01", "capture.S1.2026-03-01",
		"initial.9001", "refund.P77", "payment.adyen.PSP1", "subscriptionId S1", "paymentId P77",
		"attempt 1 failed at step report", "attempt 2 started: re-opened by the replay of dead letter 7",
		"dead letter 1", "refund failed at the gateway")
	lacks(t, "the timeline of S1", page, "authorise.S2", "payment.adyen.PSP2", "terminate.S3", "unrelated")
	if first, last := strings.Index(page, "flow authorise started it"), strings.LastIndex(page, "dead letter 1"); first < 0 || last < first {
		t.Error("the timeline is not in time order: the first operation's start comes after the letter")
	}
	contains(t, "the timeline of an order", s.get("/timeline?id=9001", http.StatusOK), "initial.9001", "payment.adyen.PSP1", "refund.P77")
	contains(t, "the timeline of an unknown id", s.get("/timeline?id=S404", http.StatusOK), "No operation, index entry or dead letter names S404")
	s.get("/timeline", http.StatusOK)
}

func TestConsole_NATSHealthShowsStreamsConsumersAndBacklog(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	ctx, cancel := context.WithTimeout(s.t.Context(), 10*time.Second)
	defer cancel()
	if _, err := s.b.JS.CreateOrUpdateConsumer(ctx, broker.InboxStream, jetstream.ConsumerConfig{
		Durable: "refund", FilterSubject: "cleeng.webhook.refundPayment", AckPolicy: jetstream.AckExplicitPolicy, MaxDeliver: 10}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := s.b.JS.Publish(ctx, "cleeng.webhook.refundPayment", []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
	}
	s.storeLetter("refund", "cleeng.webhook.refundPayment", "flow refund: several gateways", `{}`)
	page := s.get("/nats", http.StatusOK)
	contains(t, "the NATS page", page, "CONNECTOR_INBOX", "CONNECTOR_DLQ", "KV_CONNECTOR_OPS", "KV_CONNECTOR_INDEX",
		`<td>refund</td><td class="num">3</td>`, `href="/dead-letters?flow=refund">refund</a></td><td class="num">1</td>`)
	overview := s.get("/", http.StatusOK)
	contains(t, "the overview", overview, `id="dead-letter-count">1<`, `<td>refund</td><td class="num">3</td>`)
}
