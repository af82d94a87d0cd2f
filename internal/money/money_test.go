package money

import "testing"

func TestMinor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		value, currency string
		want            int64
		wantErr         bool
	}{
		{"9.99", "EUR", 999, false},
		{"0.1", "EUR", 10, false},
		{"0.29", "USD", 29, false}, // 0.29*100 is 28.999... in float64
		{"1000", "JPY", 1000, false},
		{"1000.5", "JPY", 0, true},
		{"12.345", "KWD", 12345, false},
		{"12.3456", "KWD", 0, true},
		{"0", "EUR", 0, false},
		{"-1", "EUR", 0, true},
		{"1", "eur", 0, true},
		{"1", "EURO", 0, true},
		{"1", "XXX", 0, true}, // well-formed, but "no currency"
		{"1", "ABC", 0, true},
		{"1", "VES", 100, false},
		{"1e300", "EUR", 0, true},
	}
	for _, tt := range tests {
		a, err := New(tt.value, tt.currency)
		if err != nil {
			t.Fatal(err)
		}
		got, err := a.Minor()
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("%s %s: got %d, %v; want %d, error %v", tt.value, tt.currency, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestFromMinorRoundTrip(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		minor    int64
		currency string
		str      string
	}{{999, "EUR", "9.99 EUR"}, {1000, "JPY", "1000 JPY"}, {12345, "KWD", "12.345 KWD"}} {
		a, err := FromMinor(c.minor, c.currency)
		if err != nil {
			t.Fatal(err)
		}
		if a.String() != c.str {
			t.Errorf("String() = %q, want %q", a.String(), c.str)
		}
		if m, _ := a.Minor(); m != c.minor {
			t.Errorf("round trip %d -> %d", c.minor, m)
		}
	}
}

func TestTableWith_OverridesOnlyItsCopy(t *testing.T) {
	gateway := ISO4217.With(map[string]int32{"ISK": 2, "IDR": 0})
	for _, c := range []struct {
		table    Table
		currency string
		want     int32
	}{
		{gateway, "ISK", 2}, {gateway, "IDR", 0}, {gateway, "JPY", 0}, {gateway, "KWD", 3}, {gateway, "EUR", 2},
		{ISO4217, "ISK", 0}, {ISO4217, "IDR", 2},
	} {
		if got, err := c.table.Exponent(c.currency); err != nil || got != c.want {
			t.Errorf("%s exponent = %d, %v; want %d", c.currency, got, err, c.want)
		}
	}
	a, _ := New("99000.5", "IDR")
	if m, err := gateway.Minor(a); err == nil {
		t.Errorf("99000.5 IDR in a table without IDR decimals = %d, want an error", m)
	}
	if _, err := gateway.Exponent("isk"); err == nil {
		t.Error("a malformed code has an exponent in a derived table")
	}
}

// An amount read in a gateway's finer unit (Adyen counts CLP in cents) is
// shown with its decimals, not rounded to ISO's.
func TestString_NeverRounds(t *testing.T) {
	clp := ISO4217.With(map[string]int32{"CLP": 2})
	a, err := clp.FromMinor(100050, "CLP")
	if err != nil {
		t.Fatal(err)
	}
	if got := a.String(); got != "1000.5 CLP" {
		t.Errorf("String() = %q, want 1000.5 CLP", got)
	}
	if b, _ := clp.FromMinor(100000, "CLP"); b.String() != "1000 CLP" {
		t.Errorf("String() = %q, want 1000 CLP", b.String())
	}
}
