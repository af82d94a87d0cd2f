package cleverbridge

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cleeng-connector/connector/internal/outbound"
)

// Modes of configuration, mapped to Process Cart's ProcessCartMode.
const (
	// ModeInteractive: Cleverbridge creates no purchase when information is
	// missing and returns a session URL valid for 72 hours.
	ModeInteractive = "interactive"
	// ModeNonInteractive: the purchase is saved and the returned URL does
	// not expire after 72 hours. The default: a renewal runs while the
	// customer is away.
	ModeNonInteractive = "non-interactive"
)

// Config configures the Cleverbridge gateway.
type Config struct {
	// BaseURL is the REST API base, e.g. "https://rest.cleverbridge.com" or
	// "http://127.0.0.1:8090/cleverbridge" for the sandbox. Required; no
	// credentials in it.
	BaseURL string
	// Username and Password are the API's basic-auth credentials. Required.
	// Never logged, never part of an error.
	Username string
	Password string
	// ProductID is the Cleverbridge product charged on a renewal (numeric). Required.
	ProductID string
	// Mode is ModeInteractive or ModeNonInteractive. Default ModeNonInteractive.
	Mode string
	// LanguageID is the cart's defaultLanguageId. Default "en".
	LanguageID string
	// HTTPClient sends every call. Default: a client with Timeout, its
	// requests counted (outbound.ServiceClient).
	HTTPClient *http.Client
	// Timeout bounds one call when HTTPClient is nil. Default 30s.
	Timeout time.Duration
}

func (c *Config) setDefaults() {
	if c.Mode == "" {
		c.Mode = ModeNonInteractive
	}
	if c.LanguageID == "" {
		c.LanguageID = "en"
	}
	if c.Timeout <= 0 {
		c.Timeout = 30 * time.Second
	}
	if c.HTTPClient == nil {
		c.HTTPClient = outbound.ServiceClient(Name, c.Timeout, 0)
	}
	c.BaseURL = strings.TrimSuffix(c.BaseURL, "/")
}

func (c *Config) validate() error {
	var errs []error
	// The URL is echoed only redacted: a misplaced password must not reach the log.
	switch u, err := url.Parse(c.BaseURL); {
	case err != nil:
		errs = append(errs, errors.New("cleverbridge: BaseURL: not a URL"))
	case u.User != nil:
		errs = append(errs, errors.New("cleverbridge: BaseURL must not carry credentials: set Username and Password"))
	case (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		errs = append(errs, fmt.Errorf("cleverbridge: BaseURL %q: want an http(s) URL", u.Redacted()))
	}
	if c.Username == "" || c.Password == "" {
		errs = append(errs, errors.New("cleverbridge: Username and Password are required"))
	}
	if !digits(c.ProductID) {
		errs = append(errs, fmt.Errorf("cleverbridge: ProductID %q: want a numeric Cleverbridge product id", c.ProductID))
	}
	if _, err := processCartMode(c.Mode); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// processCartMode maps the configured mode to the API's value.
func processCartMode(mode string) (string, error) {
	switch mode {
	case ModeInteractive:
		return ProcessCartInteractive, nil
	case ModeNonInteractive:
		return ProcessCartNonInteractive, nil
	}
	return "", fmt.Errorf("cleverbridge: Mode %q: want %s or %s", mode, ModeInteractive, ModeNonInteractive)
}

func digits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
