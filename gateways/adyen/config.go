package adyen

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/cleeng-connector/connector/internal/outbound"
)

// Config configures the Adyen gateway.
type Config struct {
	// APIKey is the Checkout API key (X-API-Key). Required. Never logged.
	APIKey string
	// MerchantAccount is the Adyen merchant account. Required.
	MerchantAccount string
	// Environment is "test" or "live". Default "test".
	Environment string
	// LivePrefix is the account's live endpoint prefix; required for "live".
	LivePrefix string
	// CheckoutURL overrides the Checkout base URL including the version,
	// e.g. "http://127.0.0.1:8090/adyen/v71" for the sandbox.
	CheckoutURL string
	// ReturnURL is the default returnUrl (Adyen requires one on every payment,
	// renewals included). Required.
	ReturnURL string
	// HTTPClient is used for every call. Default: a client with Timeout, its
	// requests counted (outbound.ServiceClient).
	// Never http.DefaultClient: the library would mutate the global one.
	HTTPClient *http.Client
	// Timeout bounds one HTTP attempt when HTTPClient is nil. Default 30s.
	Timeout time.Duration
	// MaxAttempts bounds the in-process attempts of one call. Default 4.
	MaxAttempts int
	// RetryBase is the first backoff wait between attempts. Default 200ms;
	// waits double up to 2s.
	RetryBase time.Duration
}

func (c *Config) setDefaults() {
	if c.Environment == "" {
		c.Environment = "test"
	}
	if c.Timeout <= 0 {
		c.Timeout = 30 * time.Second
	}
	if c.HTTPClient == nil {
		c.HTTPClient = outbound.ServiceClient(Name, c.Timeout, 0)
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 4
	}
	if c.RetryBase <= 0 {
		c.RetryBase = 200 * time.Millisecond
	}
}

func (c *Config) validate() error {
	var errs []error
	if c.APIKey == "" {
		errs = append(errs, errors.New("adyen: APIKey is required"))
	}
	if c.MerchantAccount == "" {
		errs = append(errs, errors.New("adyen: MerchantAccount is required"))
	}
	if c.ReturnURL == "" {
		errs = append(errs, errors.New("adyen: ReturnURL is required"))
	}
	switch c.Environment {
	case "test":
	case "live":
		if c.LivePrefix == "" && c.CheckoutURL == "" {
			errs = append(errs, errors.New("adyen: LivePrefix is required for the live environment"))
		}
	default:
		errs = append(errs, fmt.Errorf("adyen: Environment %q: want test or live", c.Environment))
	}
	if c.CheckoutURL != "" && !strings.HasPrefix(c.CheckoutURL, "http://") && !strings.HasPrefix(c.CheckoutURL, "https://") {
		errs = append(errs, fmt.Errorf("adyen: CheckoutURL %q: want an http(s) URL", c.CheckoutURL))
	}
	return errors.Join(errs...)
}
