// Package money converts between Cleeng's decimal major units and the integer
// minor units gateways charge in, by ISO 4217 exponent, with decimal
// arithmetic only (DESIGN section 5: never float * 100).
package money

import (
	"fmt"
	"strings"

	"github.com/shopspring/decimal"
)

// Amount is a sum of money in major units (9.99 EUR) with its currency.
type Amount struct {
	Value    decimal.Decimal
	Currency string
}

// exponents lists ISO 4217 currencies whose minor unit is not 2 digits.
// Every other well-formed code has exponent 2.
var exponents = map[string]int32{
	// 0 decimals
	"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
	"PYG": 0, "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
	// 3 decimals
	"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
	// 4 decimals
	"CLF": 4, "UYW": 4,
}

// Exponent returns the ISO 4217 minor-unit exponent of currency.
func Exponent(currency string) (int32, error) {
	if len(currency) != 3 || strings.ToUpper(currency) != currency {
		return 0, fmt.Errorf("currency %q: not an ISO 4217 code", currency)
	}
	for _, r := range currency {
		if r < 'A' || r > 'Z' {
			return 0, fmt.Errorf("currency %q: not an ISO 4217 code", currency)
		}
	}
	if e, ok := exponents[currency]; ok {
		return e, nil
	}
	return 2, nil
}

// New builds an Amount from a decimal string such as "9.99".
func New(value, currency string) (Amount, error) {
	d, err := decimal.NewFromString(value)
	if err != nil {
		return Amount{}, fmt.Errorf("amount %q: %w", value, err)
	}
	return Amount{Value: d, Currency: currency}, nil
}

// Minor returns the amount in integer minor units. An amount with more
// decimals than its currency allows is an error, never silently rounded:
// the charge must equal the order.
func (a Amount) Minor() (int64, error) {
	exp, err := Exponent(a.Currency)
	if err != nil {
		return 0, err
	}
	if a.Value.IsNegative() {
		return 0, fmt.Errorf("amount %s %s: negative", a.Value, a.Currency)
	}
	scaled := a.Value.Shift(exp)
	if !scaled.Equal(scaled.Truncate(0)) {
		return 0, fmt.Errorf("amount %s %s: more than %d decimals", a.Value, a.Currency, exp)
	}
	if !scaled.IsInteger() || scaled.Cmp(decimal.NewFromInt(1<<62)) > 0 {
		return 0, fmt.Errorf("amount %s %s: out of range", a.Value, a.Currency)
	}
	return scaled.IntPart(), nil
}

// FromMinor is the inverse of Minor.
func FromMinor(minor int64, currency string) (Amount, error) {
	exp, err := Exponent(currency)
	if err != nil {
		return Amount{}, err
	}
	return Amount{Value: decimal.New(minor, -exp), Currency: currency}, nil
}

// IsZero reports a zero amount (a free trial).
func (a Amount) IsZero() bool { return a.Value.IsZero() }

// String renders "9.99 EUR" with the currency's number of decimals.
func (a Amount) String() string {
	exp, err := Exponent(a.Currency)
	if err != nil {
		return a.Value.String() + " " + a.Currency
	}
	return a.Value.StringFixed(exp) + " " + a.Currency
}
