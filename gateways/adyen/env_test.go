package adyen_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/cleeng-connector/connector/gateways/adyen"
	"github.com/cleeng-connector/connector/gateways/adyen/sandbox"
	"github.com/cleeng-connector/connector/gateways/gatewaytest"
)

const (
	hookUser = "adyen-hook"
	hookPass = "hook-secret"
	shopper  = "customer-123"
)

// env is the Adyen gateway wired to a strict (contract-validating) sandbox
// over real HTTP, and a notification receiver that checks basic auth and
// HMAC and records the decoded events.
type env struct {
	sb     *sandbox.Sandbox
	gw     *adyen.Gateway
	cfg    adyen.Config
	events *gatewaytest.Recorder
	url    string // the sandbox's checkout URL
}

func newEnv(t *testing.T, tune ...func(*sandbox.Options, *adyen.Config)) *env {
	t.Helper()
	contract, err := sandbox.LoadContract()
	if err != nil {
		t.Fatal(err)
	}
	e := &env{events: &gatewaytest.Recorder{}}
	opts := sandbox.Options{Contract: contract, NotifyUsername: hookUser, NotifyPassword: hookPass, NotifyRetryBase: 10 * time.Millisecond}
	cfg := adyen.Config{ReturnURL: "https://shop.example/return", Timeout: 5 * time.Second, RetryBase: 10 * time.Millisecond}
	for _, f := range tune {
		f(&opts, &cfg)
	}
	verifier, err := adyen.NewVerifier(sandbox.DefaultHMACKey)
	if err != nil {
		t.Fatal(err)
	}
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if u, p, ok := r.BasicAuth(); !ok || u != hookUser || p != hookPass {
			http.Error(w, "unauthorised", http.StatusUnauthorized)
			return
		}
		items, err := verifier.Decode(body)
		if err != nil {
			t.Errorf("sandbox sent a notification the gateway refuses: %v", err)
			http.Error(w, "bad notification", http.StatusUnauthorized)
			return
		}
		for _, it := range items {
			ev, err := adyen.ToEvent(it)
			if err != nil {
				t.Errorf("notification: %v", err)
				continue
			}
			e.events.Add(ev)
		}
		_, _ = io.WriteString(w, "[accepted]")
	}))
	opts.NotifyURL = hook.URL
	e.sb = sandbox.New(opts)
	mux := http.NewServeMux()
	mux.Handle("/adyen/", http.StripPrefix("/adyen", e.sb))
	srv := httptest.NewServer(mux)
	e.url = srv.URL + "/adyen/v71"

	cfg.APIKey, cfg.MerchantAccount, cfg.CheckoutURL = e.sb.APIKey(), e.sb.MerchantAccount(), e.url
	e.cfg = cfg
	if e.gw, err = adyen.New(cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		srv.Close()
		e.sb.Close()
		hook.Close()
		for _, v := range e.sb.Violations() {
			t.Errorf("contract violation: %s", v)
		}
	})
	return e
}
