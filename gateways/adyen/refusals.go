package adyen

// shopperMessages say what a shopper can do about a refusal, by Adyen's
// refusalReason (docs.adyen.com, "Refusal reasons"). Reasons that are for
// the merchant only (fraud, acquirer and configuration errors) are not
// here and read as a plain decline: a shopper is never told they were
// suspected.
var shopperMessages = map[string]string{
	"Not enough balance":           "The card has insufficient funds. Use another card.",
	"Expired Card":                 "The card has expired. Use another card.",
	"CVC Declined":                 "The security code (CVC) is wrong. Check it and try again.",
	"Invalid Card Number":          "The card number is wrong. Check it and try again.",
	"3D Not Authenticated":         "Your bank did not confirm the payment. Try again, or use another card.",
	"Blocked Card":                 "This card cannot be used. Use another card.",
	"Restricted Card":              "This card cannot be used for this payment. Use another card.",
	"Withdrawal amount exceeded":   "The card's spending limit is reached. Use another card.",
	"Withdrawal count exceeded":    "The card's spending limit is reached. Use another card.",
	"Issuer Unavailable":           "Your bank could not be reached. Try again in a few minutes.",
	"Cancelled by shopper":         "The payment was cancelled. You can try again.",
	"Shopper Cancelled":            "The payment was cancelled. You can try again.",
	"Not Submitted":                "The payment was not completed. Try again.",
	"Pin tries exceeded":           "Too many wrong PIN attempts. Use another card.",
	"Invalid Pin":                  "The PIN is wrong. Try again.",
	"Authentication required":      "Your bank asks you to confirm the payment. Try again.",
	"Transaction Not Permitted":    "This card cannot be used for this payment. Use another card.",
	"Allowable PIN tries exceeded": "Too many wrong PIN attempts. Use another card.",
}

// declined is the message of every other refusal.
const declined = "Your bank declined the payment. Use another card or contact your bank."

// ShopperMessage is what a shopper is told of a refusal with Adyen's
// refusalReason: what they can do about it, never the merchant's detail.
func ShopperMessage(refusalReason string) string {
	if m, ok := shopperMessages[refusalReason]; ok {
		return m
	}
	return declined
}
