package roles_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/cleeng-connector/connector/cmd/connector/roles"
	"github.com/cleeng-connector/connector/internal/testkit"
	"github.com/prometheus/client_golang/prometheus"
)

func TestProbes_WorkerServesHealthReadinessAndMetrics(t *testing.T) {
	t.Parallel()
	b := testkit.Broker(t)
	srv := httptest.NewServer(roles.Probes(prometheus.NewRegistry(), b.Ready))
	defer srv.Close()
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s = %d, want 200", path, resp.StatusCode)
		}
	}
	b.Server.Shutdown()
	resp, err := http.Get(srv.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("readyz with NATS down = %d, want 503", resp.StatusCode)
	}
}
