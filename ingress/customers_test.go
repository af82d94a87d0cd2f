package ingress_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/cleeng-connector/connector/cleeng"
	cleengsandbox "github.com/cleeng-connector/connector/cleeng/sandbox"
)

// testPublisher is the publisher the tests' customer tokens name.
const testPublisher = "100001"

// customers is a Cleeng sandbox serving its JWKS over HTTP, and a verifier
// of its customer tokens, as the ingress uses in production.
type customers struct {
	sandbox  *cleengsandbox.Sandbox
	verifier *cleeng.CustomerVerifier
}

func newCustomers(t testing.TB, ids ...cleeng.ID) *customers {
	t.Helper()
	sb := cleengsandbox.New(cleengsandbox.Options{PublisherID: testPublisher})
	for _, id := range ids {
		if err := sb.SeedCustomer(cleengsandbox.Customer{ID: id, Email: id.String() + "@example.com"}); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(sb.Handler())
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() {
		cancel()
		srv.Close()
		sb.Close()
	})
	v, err := cleeng.NewCustomerVerifier(ctx, cleeng.CustomerVerifierConfig{JWKSURL: srv.URL + "/.well-known/jwks.json", PublisherID: testPublisher})
	if err != nil {
		t.Fatal(err)
	}
	return &customers{sandbox: sb, verifier: v}
}

// token is a customer's JWT, as a login gives it.
func (c *customers) token(t testing.TB, id cleeng.ID) string {
	t.Helper()
	tok, err := c.sandbox.CustomerToken(id)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// frontEnd sets what every front-end call carries: a JSON body and the
// customer's token.
func frontEnd(req *http.Request, token string) *http.Request {
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	return req
}
