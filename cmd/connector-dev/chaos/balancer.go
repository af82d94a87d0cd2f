package chaos

import (
	"bytes"
	"io"
	"net/http"
	"sync/atomic"
	"time"
)

// balancer stands in front of the ingress replicas as a load balancer
// does: round robin, and a request whose replica cannot be reached (killed)
// goes to the next one. The sandboxes' webhooks and the population's
// front-end calls all go through it, so killing one ingress loses nothing a
// sender would not re-send.
type balancer struct {
	backends []string // base URLs
	next     atomic.Uint64
	client   *http.Client
}

func newBalancer(backends []string) *balancer {
	return &balancer{backends: backends, client: &http.Client{
		// Longer than the ingress's own waits (INGRESS_SYNC_WAIT), so the
		// balancer never cuts an answer the ingress is about to give.
		Timeout:   60 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 256},
	}}
}

func (b *balancer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
		return
	}
	start := b.next.Add(1)
	var lastErr error
	for i := range len(b.backends) {
		target := b.backends[(start+uint64(i))%uint64(len(b.backends))]
		req, err := http.NewRequestWithContext(r.Context(), r.Method, target+r.URL.RequestURI(), bytes.NewReader(body))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		req.Header = r.Header.Clone()
		resp, err := b.client.Do(req)
		if err != nil {
			// Not reached, or the replica died mid-request: a balancer
			// retries elsewhere; the ingress's de-duplication makes a
			// second store of the same event harmless.
			lastErr = err
			continue
		}
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
		resp.Body.Close()
		return
	}
	http.Error(w, "no ingress answered: "+lastErr.Error(), http.StatusBadGateway)
}
