// Package money converts between Cleeng's decimal major units and the integer
// minor units gateways charge in, with decimal arithmetic only (DESIGN
// section 5: never float * 100). Minor units are counted in a Table of
// exponents: ISO 4217's, or a gateway's own where it differs from ISO
// (Adyen's, in gateways/adyen).
package money

import (
	"fmt"
	"maps"
	"strings"

	"github.com/shopspring/decimal"
)

// Amount is a sum of money in major units (9.99 EUR) with its currency.
type Amount struct {
	Value    decimal.Decimal
	Currency string
}

// Table gives each currency's minor-unit exponent as one party counts it.
// A code it does not list is not a currency it knows: amounts in it are
// refused, never counted in a guessed unit.
type Table struct {
	exponents map[string]int32
}

// iso4217Codes are the codes of ISO 4217's current list of currencies and
// funds (List One), less what no payment is made in: XXX (no currency), XTS
// (testing), the precious metals and the bond-market and SDR units. ANG and
// BGN, withdrawn in 2025 and 2026, stay while their last payments settle.
const iso4217Codes = `AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB
BOV BRL BSD BTN BWP BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUP CVE CZK DJF DKK DOP
DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR
ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK
MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG
QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND
TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES VND VUV WST XAF XCD XCG XOF XPF YER
ZAR ZMW ZWG`

// ISO4217 is the standard's table: Cleeng's and the connector's own. Most
// currencies have exponent 2; the others are listed.
var ISO4217 = func() Table {
	exponents := map[string]int32{}
	for _, code := range strings.Fields(iso4217Codes) {
		exponents[code] = 2
	}
	maps.Copy(exponents, map[string]int32{
		// 0 decimals
		"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
		"PYG": 0, "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
		// 3 decimals
		"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
		// 4 decimals
		"CLF": 4, "UYW": 4,
	})
	return Table{exponents: exponents}
}()

// With returns a copy of t in which the given currencies have the given
// exponents: a gateway whose table differs from ISO 4217 for a few
// currencies declares just those.
func (t Table) With(exponents map[string]int32) Table {
	merged := make(map[string]int32, len(t.exponents)+len(exponents))
	maps.Copy(merged, t.exponents)
	maps.Copy(merged, exponents)
	return Table{exponents: merged}
}

// Exponent returns the minor-unit exponent of currency in t, or an error
// when t does not know currency.
func (t Table) Exponent(currency string) (int32, error) {
	if e, ok := t.exponents[currency]; ok {
		return e, nil
	}
	return 0, fmt.Errorf("currency %q: not an ISO 4217 currency code", currency)
}

// Minor returns a in integer minor units of t. An amount with more
// decimals than t allows for its currency is an error, never silently
// rounded: the charge must equal the order.
func (t Table) Minor(a Amount) (int64, error) {
	exp, err := t.Exponent(a.Currency)
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
	if scaled.Cmp(maxMinor) > 0 {
		return 0, fmt.Errorf("amount %s %s: out of range", a.Value, a.Currency)
	}
	return scaled.IntPart(), nil
}

// maxMinor bounds an amount in minor units: far above any payment, and
// within int64 and every gateway's integer fields.
var maxMinor = decimal.NewFromInt(1 << 62)

// FromMinor reads minor units of t: the inverse of Minor.
func (t Table) FromMinor(minor int64, currency string) (Amount, error) {
	exp, err := t.Exponent(currency)
	if err != nil {
		return Amount{}, err
	}
	return Amount{Value: decimal.New(minor, -exp), Currency: currency}, nil
}

// Exponent returns the ISO 4217 minor-unit exponent of currency.
func Exponent(currency string) (int32, error) { return ISO4217.Exponent(currency) }

// Minor returns the amount in ISO 4217 minor units (ISO4217.Minor).
func (a Amount) Minor() (int64, error) { return ISO4217.Minor(a) }

// FromMinor reads ISO 4217 minor units (ISO4217.FromMinor).
func FromMinor(minor int64, currency string) (Amount, error) {
	return ISO4217.FromMinor(minor, currency)
}

// New builds an Amount from a decimal string such as "9.99".
func New(value, currency string) (Amount, error) {
	d, err := decimal.NewFromString(value)
	if err != nil {
		return Amount{}, fmt.Errorf("amount %q: %w", value, err)
	}
	return Amount{Value: d, Currency: currency}, nil
}

// IsZero reports a zero amount (a free trial).
func (a Amount) IsZero() bool { return a.Value.IsZero() }

// String renders "9.99 EUR" with the currency's ISO 4217 number of
// decimals, or more when the value has them (an amount read in a gateway's
// finer unit): a rendered amount is never rounded.
func (a Amount) String() string {
	exp, err := Exponent(a.Currency)
	if err != nil || !a.Value.Equal(a.Value.Truncate(exp)) {
		return a.Value.String() + " " + a.Currency
	}
	return a.Value.StringFixed(exp) + " " + a.Currency
}
