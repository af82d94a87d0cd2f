package adyen

import (
	"testing"

	"github.com/cleeng-connector/connector/internal/failure"
	"github.com/cleeng-connector/connector/internal/money"
)

// adyenAmounts pairs a decimal amount (as Cleeng gives it) with the value
// Adyen reads for it. The values are Adyen's, from
// docs.adyen.com/development-resources/currency-codes, where CLP, CVE, IDR
// and ISK are marked "differs from standard" (ISO 4217: CLP 0, CVE 2, IDR 2,
// ISK 0); EUR, JPY and KWD show that the other currencies keep ISO's exponent.
var adyenAmounts = []struct {
	Decimal, Currency string
	Value             int64
}{
	{"1000", "CLP", 100000}, // Adyen 2
	{"1000", "CVE", 1000},   // Adyen 0
	{"99000", "IDR", 99000}, // Adyen 0
	{"1990", "ISK", 199000}, // Adyen 2
	{"9.99", "EUR", 999},
	{"1500", "JPY", 1500},
	{"1.234", "KWD", 1234},
}

func TestAdyenAmount_SentInAdyensMinorUnits(t *testing.T) {
	for _, c := range adyenAmounts {
		t.Run(c.Currency, func(t *testing.T) {
			a, err := money.New(c.Decimal, c.Currency)
			if err != nil {
				t.Fatal(err)
			}
			got, err := minorAmount(a)
			if err != nil || got.Value != c.Value || got.Currency != c.Currency {
				t.Fatalf("%s %s sent as %d %s (%v), want value %d", c.Decimal, c.Currency, got.Value, got.Currency, err, c.Value)
			}
		})
	}
}

func TestAdyenAmount_NotificationValueReadInAdyensMinorUnits(t *testing.T) {
	for _, c := range adyenAmounts {
		t.Run(c.Currency, func(t *testing.T) {
			item := Item{PspReference: "P1", EventCode: "CAPTURE", Success: "true"}
			item.Amount.Value, item.Amount.Currency = c.Value, c.Currency
			ev, err := ToEvent(item)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := money.New(c.Decimal, c.Currency)
			if !ev.Amount.Value.Equal(want.Value) || ev.Amount.Currency != c.Currency {
				t.Fatalf("value %d %s read as %s, want %s %s", c.Value, c.Currency, ev.Amount, c.Decimal, c.Currency)
			}
		})
	}
}

// finerThanAdyensUnit are amounts Adyen cannot take without rounding: CVE
// and IDR have decimals in ISO 4217 but none at Adyen.
var finerThanAdyensUnit = []struct{ Decimal, Currency string }{
	{"10.50", "CVE"}, {"99000.5", "IDR"}, {"9.999", "EUR"}, {"1.2345", "KWD"},
}

func TestAdyenAmount_FinerThanAdyensUnitRefusedPermanently(t *testing.T) {
	for _, c := range finerThanAdyensUnit {
		t.Run(c.Currency, func(t *testing.T) {
			a, err := money.New(c.Decimal, c.Currency)
			if err != nil {
				t.Fatal(err)
			}
			got, err := minorAmount(a)
			if !failure.Is(err, failure.ClassPermanent) {
				t.Fatalf("%s %s: sent as value %d (%v), want a permanent error", c.Decimal, c.Currency, got.Value, err)
			}
		})
	}
}
