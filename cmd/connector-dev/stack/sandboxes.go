package stack

import (
	"net/http"

	"github.com/cleeng-connector/connector/cleeng"
	cleengsandbox "github.com/cleeng-connector/connector/cleeng/sandbox"
	adyensandbox "github.com/cleeng-connector/connector/gateways/adyen/sandbox"
	cleverbridgesandbox "github.com/cleeng-connector/connector/gateways/cleverbridge/sandbox"
	"github.com/rs/zerolog"
)

// SandboxSettings configure the sandboxes: the credentials they accept and
// where they send webhooks and notifications.
type SandboxSettings struct {
	PublisherToken, PublisherID  string
	WebhookSecret                []byte
	AdyenAPIKey                  string
	MerchantAccount              string
	HMACKey                      string
	WebhookUser, WebhookPassword string
	// CleverbridgeUser and CleverbridgePassword guard its API and its notifications.
	CleverbridgeUser, CleverbridgePassword string
	// IngressURL is the connector's ingress: webhooks go to its /webhooks/... routes.
	IngressURL string
	// PaymentMethods names the gateway of each Cleeng paymentMethodId.
	PaymentMethods map[string]string
	// AdyenContract, when set, makes the Adyen sandbox validate every request
	// and notification against Adyen's OpenAPI documents (tests).
	AdyenContract *adyensandbox.Contract
	Logger        zerolog.Logger
}

// DevSandboxSettings are the development credentials, sending to ingressURL.
func DevSandboxSettings(ingressURL string) SandboxSettings {
	return SandboxSettings{
		PublisherToken: DevPublisherToken, PublisherID: DevPublisherID, WebhookSecret: DevWebhookSecret,
		AdyenAPIKey: DevAdyenAPIKey, MerchantAccount: DevMerchantAccount, HMACKey: DevHMACKey,
		WebhookUser: DevWebhookUser, WebhookPassword: DevWebhookPassword,
		CleverbridgeUser: DevCleverbridgeUser, CleverbridgePassword: DevCleverbridgePassword,
		IngressURL: ingressURL, PaymentMethods: DevPaymentMethods,
	}
}

// Sandboxes are the stand-ins for Cleeng and the gateways, served under one
// handler: /cleeng/3.1, /cleeng/sandbox, /adyen/v71, /adyen/sandbox,
// /cleverbridge/cart/processcart, /cleverbridge/sandbox.
type Sandboxes struct {
	Cleeng       *cleengsandbox.Sandbox
	Adyen        *adyensandbox.Sandbox
	Cleverbridge *cleverbridgesandbox.Sandbox
}

// NewSandboxes builds the sandboxes and registers the ingress's webhook URLs.
func NewSandboxes(s SandboxSettings) *Sandboxes {
	gatewayOf := map[cleeng.ID]string{}
	for method, gw := range s.PaymentMethods {
		gatewayOf[cleeng.ID(method)] = gw
	}
	sb := &Sandboxes{
		Cleeng: cleengsandbox.New(cleengsandbox.Options{
			PublisherToken: s.PublisherToken, PublisherID: cleeng.ID(s.PublisherID), WebhookSecret: s.WebhookSecret,
			PaymentGateways: gatewayOf, Logger: s.Logger,
		}),
		Adyen: adyensandbox.New(adyensandbox.Options{
			APIKey: s.AdyenAPIKey, MerchantAccount: s.MerchantAccount, HMACKey: s.HMACKey,
			NotifyURL: s.IngressURL + "/webhooks/adyen", NotifyUsername: s.WebhookUser, NotifyPassword: s.WebhookPassword,
			Contract: s.AdyenContract,
		}),
		Cleverbridge: cleverbridgesandbox.New(cleverbridgesandbox.Options{
			Username: s.CleverbridgeUser, Password: s.CleverbridgePassword,
			NotifyURL: s.IngressURL + "/webhooks/cleverbridge", NotifyUsername: s.CleverbridgeUser, NotifyPassword: s.CleverbridgePassword,
		}),
	}
	sb.Cleeng.RegisterWebhooks(s.IngressURL + "/webhooks/cleeng")
	return sb
}

// Handler serves every sandbox under its prefix.
func (sb *Sandboxes) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/cleeng/", http.StripPrefix("/cleeng", sb.Cleeng.Handler()))
	mux.Handle("/adyen/", http.StripPrefix("/adyen", sb.Adyen))
	mux.Handle("/cleverbridge/", http.StripPrefix("/cleverbridge", sb.Cleverbridge))
	return mux
}

// Close stops the notifications still being sent.
func (sb *Sandboxes) Close() {
	sb.Cleeng.Close()
	sb.Adyen.Close()
	sb.Cleverbridge.Close()
}
