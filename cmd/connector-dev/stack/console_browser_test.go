package stack_test

import (
	"context"
	"encoding/json"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/chromedp"

	"github.com/cleeng-connector/connector/cleeng"
	cleengsandbox "github.com/cleeng-connector/connector/cleeng/sandbox"
	"github.com/cleeng-connector/connector/cmd/connector-dev/demo"
	"github.com/cleeng-connector/connector/cmd/connector-dev/stack"
	"github.com/cleeng-connector/connector/cmd/connector/deadletter"
	"github.com/cleeng-connector/connector/cmd/connector/roles"
	"github.com/cleeng-connector/connector/gateways/adyen"
	"github.com/cleeng-connector/connector/internal/broker"
	"github.com/cleeng-connector/connector/internal/ops"
	"github.com/cleeng-connector/connector/internal/testkit"
	"github.com/cleeng-connector/connector/workers"
)

// unroutedMethod is a paymentMethodId missing from PAYMENT_METHODS until
// the operator adds it: its renewal is dead-lettered, then replayed.
const unroutedMethod = "777"

// chromium finds a headless-capable Chromium (Debian's package is
// "chromium"; .ci/run installs it).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	t.Skip("no chromium on PATH (apt-get install chromium): the console's browser test needs one")
	return ""
}

// screenshots is where the test keeps its pictures: CONSOLE_SCREENSHOTS_DIR
// (make test: bin/screenshots), else a directory the test removes.
func screenshots(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("CONSOLE_SCREENSHOTS_DIR")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// browser is headless Chromium driven over the DevTools protocol, logged
// in to the console: it answers the console's Basic challenge as a person
// typing the credentials would.
type browser struct {
	t    *testing.T
	ctx  context.Context
	dir  string
	base string
	// challenges counts the credential prompts the browser answered.
	challenges atomic.Int32
}

func newBrowser(t *testing.T, base, user, password string) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.NoSandbox, // the CI runs as root
		chromedp.WindowSize(1280, 900),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	b := &browser{t: t, ctx: ctx, dir: screenshots(t), base: base}
	// Every request pauses until it is let go; a Basic challenge is
	// answered with the credentials.
	auths, paused := chromedp.Events(ctx, fetch.AuthRequired), chromedp.Events(ctx, fetch.RequestPaused)
	go func() {
		for ev, err := range auths {
			if err != nil {
				return
			}
			b.challenges.Add(1)
			_, _ = chromedp.Call(ctx, fetch.ContinueWithAuth, fetch.ContinueWithAuthParams{RequestID: ev.RequestID,
				AuthChallengeResponse: &fetch.AuthChallengeResponse{Response: fetch.AuthChallengeResponseResponseProvideCredentials, Username: user, Password: password}})
		}
	}()
	go func() {
		for ev, err := range paused {
			if err != nil {
				return
			}
			_, _ = chromedp.Call(ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID})
		}
	}()
	handleAuth := true
	if _, err := chromedp.Call(ctx, fetch.Enable, fetch.EnableParams{HandleAuthRequests: &handleAuth}); err != nil {
		t.Fatal(err)
	}
	return b
}

// do runs the steps, each within the test's patience.
func (b *browser) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatal(err)
	}
}

// text returns the text of the element sel (CSS), once it is visible.
func (b *browser) text(sel string) string {
	b.t.Helper()
	b.do(chromedp.WaitVisible(chromedp.CSS(sel)))
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatal(err)
	}
	return s
}

// shot saves the whole page as name.png and says where.
func (b *browser) shot(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatal(err)
	}
	path := filepath.Join(b.dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot %s", path)
}

func mustSay(t *testing.T, what, got string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("%s does not say %q:\n%s", what, w, got)
		}
	}
}

// TestConsole_InChromium_ReplayADeadLetterAndFollowASubscription drives the
// dev stack's console as the operator on call would: after the demo ran
// and a renewal was dead-lettered for a paymentMethodId nobody routed, the
// operator routes it, logs in, finds the letter, replays it after the
// confirmation, sees it gone and the operation done in a second attempt,
// then reads a subscription's timeline and the health of NATS. Each page is
// kept as a screenshot.
func TestConsole_InChromium_ReplayADeadLetterAndFollowASubscription(t *testing.T) {
	t.Parallel()
	chromium(t)
	dev, err := stack.StartDev(context.Background(), stack.DevOptions{
		Broker:      broker.Options{StoreDir: t.TempDir()},
		IngressAddr: "127.0.0.1:0", SandboxAddr: "127.0.0.1:0", ConsoleAddr: "127.0.0.1:0",
		Runtime: workers.Config{Schedule: []time.Duration{20 * time.Millisecond, 100 * time.Millisecond}, AckWait: 2 * time.Second, DrainTimeout: time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dev.Close)
	if err := stack.SeedDemo(dev.Sandboxes); err != nil {
		t.Fatal(err)
	}
	res, err := demo.Run(t.Context(), stack.DemoTarget(dev.IngressURL, dev.SandboxURL), io.Discard)
	if err != nil {
		t.Fatal(err)
	}

	// A subscription paying with the demo customer's card under a
	// paymentMethodId the connector does not route: its renewal fails.
	var token string
	for _, d := range dev.Cleeng.State().PaymentDetails {
		if d.ID == res.Subscription.PaymentDetailsID {
			token = d.Token
		}
	}
	sub, err := dev.Cleeng.SeedSubscription(cleengsandbox.SubscriptionSeed{CustomerID: res.CustomerID, OfferID: stack.DemoOffer.ID, Country: "DE",
		PaymentDetails: &cleengsandbox.PaymentDetailsSeed{PaymentMethodID: unroutedMethod, Token: token}})
	if err != nil {
		t.Fatal(err)
	}
	const attempt = "2026-12-01T00:00:00Z"
	if _, err := dev.Cleeng.Emit(t.Context(), cleengsandbox.EmitRequest{Topic: string(cleeng.TopicPaymentAuthorisation),
		SubscriptionID: sub.SubscriptionID, DunningAttemptDate: attempt}); err != nil {
		t.Fatal(err)
	}
	var letter deadletter.Letter
	testkit.Eventually(t, 15*time.Second, "the renewal dead-lettered", func() bool {
		letters, err := deadletter.List(t.Context(), dev.Broker.JS, "")
		if err == nil && len(letters) == 1 {
			letter = letters[0]
		}
		return letter.Seq != 0
	})
	key := ops.Key("authorise", sub.SubscriptionID.String(), attempt)
	// The operator's fix: route the method, as PAYMENT_METHODS would.
	if err := dev.RestartWorkers(1, func(s *roles.WorkerSettings) { s.Methods[unroutedMethod] = adyen.Name }); err != nil {
		t.Fatal(err)
	}

	b := newBrowser(t, dev.ConsoleURL, stack.DevConsoleUser, stack.DevConsolePassword)
	b.do(chromedp.Navigate(dev.ConsoleURL + "/"))
	if got := b.text("#dead-letter-count"); got != "1" {
		t.Errorf("the overview counts %q dead letters, want 1", got)
	}
	if b.challenges.Load() == 0 {
		t.Error("the console let the browser in without asking for its credentials")
	}
	b.shot("01-overview")

	b.do(chromedp.Click(chromedp.CSS(`nav a[href="/dead-letters"]`)))
	mustSay(t, "the dead letters page", b.text("#letters"), "authorise", "cleeng.webhook.subscriptionReadyForPaymentAuthorisation", unroutedMethod+"=<gateway>")
	b.shot("02-dead-letters")

	b.do(chromedp.Click(chromedp.CSS(`#letters a[href^="/dead-letters/"]`)))
	mustSay(t, "the dead letter", b.text("#reason"), "PAYMENT_METHODS")
	mustSay(t, "the dead letter's payload", b.text("#payload"), sub.SubscriptionID.String())
	b.shot("03-dead-letter")

	b.do(chromedp.Click(chromedp.CSS(`a.button[href$="/replay"]`)))
	mustSay(t, "the confirmation", b.text("#confirm-text"), "re-opened as a new attempt")
	b.shot("04-replay-confirmation")

	b.do(chromedp.Click(chromedp.CSS("#confirm-replay")))
	mustSay(t, "the notice after the replay", b.text("#replayed"), "replayed to", "cleeng.webhook.subscriptionReadyForPaymentAuthorisation")
	mustSay(t, "the dead letters after the replay", b.text("#no-letters"), "No dead letters")
	b.shot("05-replayed")
	if _, err := deadletter.Show(t.Context(), dev.Broker.JS, letter.Seq); err == nil {
		t.Errorf("dead letter %d is still there after the replay", letter.Seq)
	}

	testkit.Eventually(t, 15*time.Second, "the re-opened renewal done", func() bool {
		rec, err := ops.Get[json.RawMessage](t.Context(), ops.NewStore(dev.Broker.Ops), key)
		return err == nil && rec.Status == ops.StatusDone
	})
	b.do(chromedp.Navigate(dev.ConsoleURL + "/operation?key=" + url.QueryEscape(key)))
	if got := b.text("#attempt"); got != "2" {
		t.Errorf("the re-opened operation is at attempt %q, want 2", got)
	}
	mustSay(t, "the operation's condition", b.text("#condition"), "done")
	mustSay(t, "the operation's attempts", b.text("#history"), "failed", unroutedMethod, "dead letter")
	b.shot("06-operation")

	b.do(chromedp.Navigate(dev.ConsoleURL+"/operations?status=all"), chromedp.WaitVisible(chromedp.CSS("#operations")))
	b.shot("07-operations")

	b.do(chromedp.Click(chromedp.CSS(`nav a[href="/timeline"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="id"]`), res.SubscriptionID.String()),
		chromedp.Submit(chromedp.CSS(`input[name="id"]`)))
	events := b.text("#events")
	mustSay(t, "the subscription's timeline", events, "initial.", "authorise."+res.SubscriptionID.String(), "payment.adyen.", "started it", "done at step")
	b.shot("08-timeline")

	b.do(chromedp.Click(chromedp.CSS(`nav a[href="/nats"]`)))
	mustSay(t, "the streams", b.text("#streams"), broker.InboxStream, broker.DLQStream, "KV_"+broker.OpsBucket, "KV_"+broker.IndexBucket)
	mustSay(t, "the consumers", b.text("#consumers"), "authorise", "initial-purchase")
	b.shot("09-nats")
}
