package cleverbridge_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/cleeng-connector/connector/gateways"
	"github.com/cleeng-connector/connector/gateways/cleverbridge"
	"github.com/cleeng-connector/connector/gateways/cleverbridge/sandbox"
	"github.com/cleeng-connector/connector/gateways/gatewaytest"
	"github.com/cleeng-connector/connector/internal/money"
)

const (
	hookUser  = "cb-hook"
	hookPass  = "cb-hook-secret"
	productID = "226544"
)

// env is the gateway wired to its sandbox over real HTTP (mounted at
// /cleverbridge, as in dev), and a notification receiver that checks basic
// auth and records the decoded events.
type env struct {
	sb     *sandbox.Sandbox
	gw     *cleverbridge.Gateway
	cfg    cleverbridge.Config
	events *gatewaytest.Recorder
	base   string
}

func newEnv(t *testing.T, tune ...func(*sandbox.Options, *cleverbridge.Config)) *env {
	t.Helper()
	e := &env{events: &gatewaytest.Recorder{}}
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || u != hookUser || p != hookPass {
			http.Error(w, "unauthorised", http.StatusUnauthorized)
			return
		}
		body, _ := io.ReadAll(r.Body)
		ev, err := cleverbridge.DecodeEvent(body)
		if err != nil {
			t.Errorf("sandbox sent a notification the gateway cannot decode: %v", err)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		e.events.Add(ev)
	}))
	opts := sandbox.Options{NotifyURL: hook.URL, NotifyUsername: hookUser, NotifyPassword: hookPass, NotifyRetryBase: 10 * time.Millisecond}
	cfg := cleverbridge.Config{ProductID: productID, Timeout: 5 * time.Second}
	for _, f := range tune {
		f(&opts, &cfg)
	}
	e.sb = sandbox.New(opts)
	mux := http.NewServeMux()
	mux.Handle("/cleverbridge/", http.StripPrefix("/cleverbridge", e.sb))
	srv := httptest.NewServer(mux)
	e.base = srv.URL + "/cleverbridge"
	cfg.BaseURL, cfg.Username, cfg.Password = e.base, e.sb.Username(), e.sb.Password()
	e.cfg = cfg
	var err error
	if e.gw, err = cleverbridge.New(cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		srv.Close()
		e.sb.Close()
		hook.Close()
	})
	return e
}

func eur(t *testing.T, v string) money.Amount {
	t.Helper()
	a, err := money.New(v, "EUR")
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// renewal is a renewal of Cleverbridge subscription sub for Cleeng order orderID.
func renewal(t *testing.T, sub, orderID string) gateways.PayRequest {
	return gateways.PayRequest{
		IdempotencyKey: "capture-" + orderID, Reference: orderID, Amount: eur(t, "9.99"),
		ShopperReference: "927751142", Token: sub,
		Metadata: map[string]string{"customerId": "927751142", "subscriptionId": "555", "orderId": orderID},
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

// purchasesFor counts the sandbox's purchases carrying x-orderid orderID.
func (e *env) purchasesFor(orderID string) []sandbox.Purchase {
	var out []sandbox.Purchase
	for _, p := range e.sb.Purchases() {
		if p.Metadata()["orderId"] == orderID {
			out = append(out, p)
		}
	}
	return out
}
