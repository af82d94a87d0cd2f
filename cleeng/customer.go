package cleeng

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"
)

// CustomerClaims are the claims of Cleeng's customer JWT (cleeng-api.md,
// "Authenticating the front-end"): who the shopper is and which
// publisher issued the token, beside the registered claims (exp).
type CustomerClaims struct {
	CustomerID  ID `json:"customerId"`
	PublisherID ID `json:"publisherId"`
	jwt.RegisteredClaims
}

// CustomerTokenAlgorithm is the only signing algorithm accepted [doc].
const CustomerTokenAlgorithm = "RS256"

// ErrCustomerToken is the class of every refused customer token; the
// wrapped text says why, for logs, never for the caller.
var ErrCustomerToken = errors.New("customer token refused")

// CustomerVerifier verifies customer JWTs against the publisher's JWKS.
type CustomerVerifier struct {
	keys        keyfunc.Keyfunc
	publisherID ID
	parser      *jwt.Parser
}

// CustomerVerifierConfig configures NewCustomerVerifier.
type CustomerVerifierConfig struct {
	// JWKSURL serves the public keys (CLEENG_JWKS_URL).
	JWKSURL string
	// PublisherID is the publisherId every token must carry.
	PublisherID ID
	// HTTPClient fetches the JWKS. Default: 10s timeout.
	HTTPClient *http.Client
	// OnRefreshError hears of a failed JWKS fetch (logged by the caller).
	OnRefreshError func(error)
}

// Key refreshes: the set is fetched at start and every hour, and again
// when a token names a key id the set lacks (a rotation), at most once per
// unknownKIDEvery so tokens with invented ids cannot hammer the JWKS; a
// call waits at most unknownKIDWait for that refresh.
const (
	jwksRefreshInterval = time.Hour
	unknownKIDEvery     = 30 * time.Second
	unknownKIDWait      = time.Second
	// expiryLeeway absorbs clock skew between Cleeng and the connector.
	expiryLeeway = 30 * time.Second
)

// NewCustomerVerifier fetches the JWKS and keeps it fresh until ctx ends.
// A JWKS that cannot be fetched at start is fetched again on the first
// token (the ingress may start before the key server answers).
func NewCustomerVerifier(ctx context.Context, cfg CustomerVerifierConfig) (*CustomerVerifier, error) {
	if cfg.JWKSURL == "" || cfg.PublisherID == "" {
		return nil, errors.New("customer tokens: a JWKS URL and a publisher id are required")
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	onError := cfg.OnRefreshError
	if onError == nil {
		onError = func(error) {}
	}
	keys, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{cfg.JWKSURL}, keyfunc.Override{
		Client:            client,
		RefreshInterval:   jwksRefreshInterval,
		RefreshUnknownKID: rate.NewLimiter(rate.Every(unknownKIDEvery), 1),
		RateLimitWaitMax:  unknownKIDWait,
		RefreshErrorHandlerFunc: func(string) func(context.Context, error) {
			return func(_ context.Context, err error) { onError(err) }
		},
	})
	if err != nil {
		return nil, fmt.Errorf("customer tokens: JWKS %s: %w", cfg.JWKSURL, err)
	}
	return &CustomerVerifier{keys: keys, publisherID: cfg.PublisherID, parser: jwt.NewParser(
		jwt.WithValidMethods([]string{CustomerTokenAlgorithm}),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(expiryLeeway),
	)}, nil
}

// Verify checks token's signature, expiry and publisher and returns the
// customer it names. Every refusal wraps ErrCustomerToken.
func (v *CustomerVerifier) Verify(ctx context.Context, token string) (int64, error) {
	var claims CustomerClaims
	if _, err := v.parser.ParseWithClaims(token, &claims, v.keys.KeyfuncCtx(ctx)); err != nil {
		return 0, fmt.Errorf("%w: %w", ErrCustomerToken, err)
	}
	if claims.PublisherID != v.publisherID {
		return 0, fmt.Errorf("%w: publisherId %q is not this publisher's", ErrCustomerToken, claims.PublisherID)
	}
	customer, err := strconv.ParseInt(claims.CustomerID.String(), 10, 64)
	if err != nil || customer <= 0 {
		return 0, fmt.Errorf("%w: customerId %q is not a positive integer", ErrCustomerToken, claims.CustomerID)
	}
	return customer, nil
}
