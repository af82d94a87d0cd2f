package main

import (
	"strings"
	"testing"
)

// TestTable_PutsFloorsAndRatiosBesideTheConnector: floor- metrics go to
// the floor column, ratios to theirs, the rest (bar the standard three) to
// the connector's, one row per result line, named by package.
func TestTable_PutsFloorsAndRatiosBesideTheConnector(t *testing.T) {
	t.Parallel()
	in := `goos: linux
pkg: github.com/cleeng-connector/connector/workers
BenchmarkConsume-2   	  100000	     46658 ns/op	     48631 floor-msgs/s	     38546.4 msgs/s	         1.29 p99-ratio	         0.7926 ratio	    5061 B/op	      72 allocs/op
PASS
pkg: github.com/cleeng-connector/connector/cmd/connector-dev/stack
BenchmarkRenewals_ZeroLatency/concurrency=16-2         	     900	   1000000 ns/op	       946.0 renewals/s
BenchmarkPlain-2 	 10	 1234 ns/op
ok  	github.com/cleeng-connector/connector/workers	3.8s
`
	var out strings.Builder
	if err := table(strings.NewReader(in), &out); err != nil {
		t.Fatal(err)
	}
	want := `| Benchmark | Connector | Floor in the same run | Ratio |
|---|---|---|---|
| workers BenchmarkConsume | 38,546 msgs/s | 48,631 msgs/s | rate 0.79, p99 1.29 |
| stack BenchmarkRenewals_ZeroLatency/concurrency=16 | 946 renewals/s | — | — |
| stack BenchmarkPlain | 1234 ns/op | — | — |
`
	if out.String() != want {
		t.Fatalf("table:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestTable_FailsWithoutResults(t *testing.T) {
	t.Parallel()
	if err := table(strings.NewReader("FAIL\n"), &strings.Builder{}); err == nil {
		t.Fatal("a table of nothing printed")
	}
}
