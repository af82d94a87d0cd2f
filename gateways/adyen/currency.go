package adyen

import (
	"fmt"

	"github.com/adyen/adyen-go-api-library/v9/src/checkout"

	"github.com/cleeng-connector/connector/internal/failure"
	"github.com/cleeng-connector/connector/internal/money"
)

// currencyTable is Adyen's table of minor units, which Adyen says is
// leading for every amount sent to it and read from it
// (docs.adyen.com/development-resources/currency-codes). It is ISO 4217's
// except for the currencies that page marks "differs from standard": with
// ISO's, 99000 IDR would reach Adyen as 9900000 and 1990 ISK as 19.90.
var currencyTable = money.ISO4217.With(map[string]int32{
	"CLP": 2, // ISO 0
	"CVE": 0, // ISO 2
	"IDR": 0, // ISO 2
	"ISK": 2, // ISO 0
})

// minorAmount is a in Adyen's minor units. An amount finer than Adyen's
// unit for its currency (10.50 CVE) cannot be charged as the order says:
// it is refused before any call, never rounded.
func minorAmount(a money.Amount) (checkout.Amount, error) {
	minor, err := currencyTable.Minor(a)
	if err != nil {
		return checkout.Amount{}, failure.Permanent(fmt.Errorf("adyen's currency table: %w", err))
	}
	return checkout.Amount{Currency: a.Currency, Value: minor}, nil
}
