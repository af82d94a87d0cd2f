package cleeng_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/cleeng-connector/connector/cleeng"
)

func sprintf(format string, v any) string { return fmt.Sprintf(format, v) }

func TestID_ReadsNumbersAndStrings(t *testing.T) {
	t.Parallel()
	var v struct {
		A, B, C, D cleeng.ID
	}
	if err := json.Unmarshal([]byte(`{"A": 343967543, "B": "927751142", "C": null, "D": "S619117184_US"}`), &v); err != nil {
		t.Fatal(err)
	}
	if v.A != "343967543" || v.B != "927751142" || v.C != "" || v.D != "S619117184_US" {
		t.Fatalf("decoded %+v", v)
	}
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != `{"A":343967543,"B":927751142,"C":"","D":"S619117184_US"}` {
		t.Fatalf("encoded %s", out)
	}
	if err := json.Unmarshal([]byte(`{"A": true}`), &v); err == nil {
		t.Fatal("a bool decoded as an id")
	}
}

// TestID_ReadsEveryLiteralAsTheDecoderDoes: the shortcuts for plain strings
// and numbers give the text encoding/json gives, and escapes, invalid UTF-8
// and non-literals still take the decoder's way.
func TestID_ReadsEveryLiteralAsTheDecoderDoes(t *testing.T) {
	t.Parallel()
	for _, literal := range []string{`"abc"`, `""`, `"a\"b"`, `"\u00e9t\u00e9"`, `"été"`, "\"\xff\"", `"tab\tx"`,
		`0`, `-12`, `1.5e3`, `343967543`} {
		var got cleeng.ID
		if err := json.Unmarshal([]byte(literal), &got); err != nil {
			t.Fatalf("%s: %v", literal, err)
		}
		var want string
		if literal[0] == '"' {
			_ = json.Unmarshal([]byte(literal), &want)
		} else {
			var n json.Number
			_ = json.Unmarshal([]byte(literal), &n)
			want = n.String()
		}
		if string(got) != want {
			t.Errorf("%s decoded as %q, want %q", literal, got, want)
		}
	}
	for _, bad := range []string{`"abc`, `-`, `1x`, `{}`} {
		var id cleeng.ID
		if err := id.UnmarshalJSON([]byte(bad)); err == nil {
			t.Errorf("%s decoded as %q", bad, id)
		}
	}
}

func TestDecimal_ExactWithoutFloat(t *testing.T) {
	t.Parallel()
	var o cleeng.Order
	if err := json.Unmarshal([]byte(`{"totalPrice": 0.1, "currency": "EUR", "taxRate": "0.21"}`), &o); err != nil {
		t.Fatal(err)
	}
	minor, err := o.Amount().Minor()
	if err != nil || minor != 10 {
		t.Fatalf("minor = %d, %v", minor, err)
	}
	out, _ := json.Marshal(struct{ P cleeng.Decimal }{cleeng.MustDecimal("9.99")})
	if string(out) != `{"P":9.99}` {
		t.Fatalf("encoded %s", out)
	}
}
