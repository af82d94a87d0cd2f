package adyen_test

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
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
	calls  *calls // every request the sandbox answered
}

// call is one request to the sandbox and the status it was answered (0:
// the connection was closed without an answer).
type call struct {
	method, path, idempotencyKey string
	body                         []byte
	status                       int
}

// calls records the requests a handler answered. Safe for concurrent use.
type calls struct {
	mu   sync.Mutex
	list []call
}

func (c *calls) record(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rw := &statusWriter{ResponseWriter: w}
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		defer func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			c.list = append(c.list, call{r.Method, r.URL.Path, r.Header.Get("Idempotency-Key"), body, rw.status})
		}()
		next.ServeHTTP(rw, r)
	})
}

// to returns the calls to paths ending in suffix.
func (c *calls) to(suffix string) []call {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []call
	for _, cl := range c.list {
		if strings.HasSuffix(cl.path, suffix) {
			out = append(out, cl)
		}
	}
	return out
}

// statusWriter keeps the status written; it can be hijacked, as the
// sandbox's lost-response fault does.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

func newEnv(t *testing.T, tune ...func(*sandbox.Options, *adyen.Config)) *env {
	t.Helper()
	contract, err := sandbox.LoadContract()
	if err != nil {
		t.Fatal(err)
	}
	e := &env{events: &gatewaytest.Recorder{}, calls: &calls{}}
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
	mux.Handle("/adyen/", e.calls.record(http.StripPrefix("/adyen", e.sb)))
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
