package sandbox

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"

	"github.com/cleeng-connector/connector/cleeng"
)

// CustomerTokenTTL is how long a customer JWT from a login is valid [doc: 15 minutes].
const CustomerTokenTTL = 15 * time.Minute

// customerKeyBits is the size of the sandbox's RSA signing keys.
const customerKeyBits = 2048

// signingKey is the sandbox's current customer-token key.
type signingKey struct {
	id   string
	priv *rsa.PrivateKey
}

// Login is the body of POST /auths (MediaStore's login).
type Login struct {
	Email       string    `json:"email"`
	Password    string    `json:"password"`
	PublisherID cleeng.ID `json:"publisherId"`
}

// LoginResult is the responseData of POST /auths.
type LoginResult struct {
	JWT           string    `json:"jwt"`
	CustomerID    cleeng.ID `json:"customerId"`
	CustomerEmail string    `json:"customerEmail"`
}

// handleLogin issues a customer JWT to a seeded customer named by email.
// The sandbox keeps no passwords: any non-empty one is accepted.
func (s *Sandbox) handleLogin(w http.ResponseWriter, r *http.Request) {
	var in Login
	if e := decode(r, &in); e != nil {
		writeErr(w, e)
		return
	}
	if in.Email == "" || in.Password == "" || in.PublisherID != s.opts.PublisherID {
		writeErr(w, &Error{Status: http.StatusUnauthorized, Code: "invalid_credentials", Message: "email, password and this publisher's publisherId required"})
		return
	}
	customer, ok := s.customerByEmail(in.Email)
	if !ok {
		writeErr(w, &Error{Status: http.StatusUnauthorized, Code: "invalid_credentials", Message: "no customer with this email"})
		return
	}
	token, err := s.CustomerToken(customer.ID)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]LoginResult{"responseData": {JWT: token, CustomerID: customer.ID, CustomerEmail: customer.Email}})
}

func (s *Sandbox) customerByEmail(email string) (Customer, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.customers {
		if c.Email == email {
			return c, true
		}
	}
	return Customer{}, false
}

// handleJWKS serves the public keys of every signing key the sandbox has
// used, as Cleeng serves its JWKS: without authorisation.
func (s *Sandbox) handleJWKS(w http.ResponseWriter, r *http.Request) {
	s.signingKey() // a JWKS is never empty
	s.keysMu.Lock()
	raw, err := s.jwks.JSONPublic(r.Context())
	s.keysMu.Unlock()
	if err != nil {
		writeErr(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(raw)
}

// CustomerToken issues a customer JWT for a seeded customer, valid
// CustomerTokenTTL from the sandbox's clock, as a login would.
func (s *Sandbox) CustomerToken(customerID cleeng.ID) (string, error) {
	s.mu.Lock()
	_, ok := s.customers[customerID]
	s.mu.Unlock()
	if !ok {
		return "", unprocessable("customer_not_found", "customer %q not found", customerID)
	}
	now := s.now()
	return s.SignCustomerToken(cleeng.CustomerClaims{CustomerID: customerID, PublisherID: s.opts.PublisherID,
		RegisteredClaims: jwt.RegisteredClaims{IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(CustomerTokenTTL))}})
}

// SignCustomerToken signs any claims with the sandbox's current key (tests
// forge expired tokens, or tokens of another publisher, with it).
func (s *Sandbox) SignCustomerToken(claims cleeng.CustomerClaims) (string, error) {
	key := s.signingKey()
	token := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	token.Header["kid"] = key.id
	return token.SignedString(key.priv)
}

// RotateSigningKey signs later tokens with a new key, published in the
// JWKS beside the old ones (as a key rotation does).
func (s *Sandbox) RotateSigningKey() {
	s.keysMu.Lock()
	defer s.keysMu.Unlock()
	s.addKeyLocked()
}

func (s *Sandbox) signingKey() signingKey {
	s.keysMu.Lock()
	defer s.keysMu.Unlock()
	if s.key.priv == nil {
		s.addKeyLocked()
	}
	return s.key
}

// addKeyLocked makes a new RSA key current and publishes its public half.
func (s *Sandbox) addKeyLocked() {
	priv, err := rsa.GenerateKey(rand.Reader, customerKeyBits)
	if err != nil {
		panic(fmt.Sprintf("sandbox: generating an RSA key: %v", err)) // crypto/rand does not fail
	}
	s.keySeq++
	id := "sandbox-" + strconv.Itoa(s.keySeq)
	jwk, err := jwkset.NewJWKFromKey(&priv.PublicKey, jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{
		KID: id, ALG: jwkset.AlgRS256, USE: jwkset.UseSig}})
	if err != nil {
		panic(fmt.Sprintf("sandbox: publishing an RSA key: %v", err)) // a fresh RSA public key always encodes
	}
	if s.jwks == nil {
		s.jwks = jwkset.NewMemoryStorage()
	}
	_ = s.jwks.KeyWrite(context.Background(), jwk) // memory storage never fails
	s.key = signingKey{id: id, priv: priv}
}
