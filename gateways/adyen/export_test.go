package adyen

// The amount tables of currency_test.go, for the tests over the wire
// (package adyen_test): one table for both.
var (
	AdyenAmounts        = adyenAmounts
	FinerThanAdyensUnit = finerThanAdyensUnit
)
