package stack_test

import (
	"html"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/cleeng-connector/connector/cmd/connector-dev/stack"
)

// The dev stack's page shows the payment-methods answer a MediaStore SDK
// checkout gets for the seeded order, asked through the ingress.
func TestDropInPage_ShowsWhatDropInReceives(t *testing.T) {
	t.Parallel()
	dev := stack.StartSeeded(t)
	for range 2 { // the order is seeded once, then shown again
		resp, err := http.Get(dev.SandboxURL + stack.DropInPath)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		page := html.UnescapeString(string(raw))
		for _, want := range []string{"HTTP 200", `"clientKey": "` + stack.DevAdyenClientKey + `"`, `"value": 999`, `"currency": "EUR"`,
			`"countryCode": "NL"`, `"type": "scheme"`, `"type": "ideal"`, `"errors": []`} {
			if resp.StatusCode != http.StatusOK || !strings.Contains(page, want) {
				t.Fatalf("%d page lacks %s:\n%s", resp.StatusCode, want, page)
			}
		}
	}
}
