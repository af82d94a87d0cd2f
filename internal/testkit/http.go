package testkit

import (
	"io"
	"net/http"
	"testing"
)

// Do sends req with the default client and returns the answer with its
// body read (and closed). A request that gets no answer fails the test.
func Do(tb testing.TB, req *http.Request) (*http.Response, []byte) {
	tb.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("reading the answer to %s %s: %v", req.Method, req.URL.Path, err)
	}
	return resp, body
}
