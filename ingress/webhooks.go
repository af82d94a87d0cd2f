package ingress

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/cleeng-connector/connector/cleeng"
	"github.com/cleeng-connector/connector/gateways/adyen"
	"github.com/cleeng-connector/connector/internal/broker"
)

// CleengWebhookConfig authenticates Cleeng webhooks and bounds the dunning
// attempts they may ask to charge.
type CleengWebhookConfig struct {
	// Secret is the HMAC-SHA256 secret. Without it every webhook is
	// refused, unless AuthenticatedUpstream says a proxy in front of the
	// ingress (or Username and Password) authenticates them.
	Secret []byte
	// SignatureHeader carries hex or base64 HMAC of the raw body.
	SignatureHeader string
	// AuthenticatedUpstream: the deployment authenticates Cleeng's webhooks
	// before they reach the ingress, which then takes them unsigned.
	AuthenticatedUpstream bool
	// PublisherID must equal the webhook's broadcasterId. Without it every
	// webhook is refused.
	PublisherID string
	// Username and Password, when set, are required as basic auth.
	Username, Password string
	// Attempts bounds the dunningAttemptDate of the dunning topics; a
	// webhook outside it is answered 422 and not stored. Zero MaxAge takes
	// any date: only the dev stack, whose sandbox runs a dunning cycle of
	// weeks in seconds and dates its attempts on the due dates ahead.
	Attempts cleeng.AttemptWindow
}

// MountCleeng registers POST /webhooks/cleeng.
func (s *Server) MountCleeng(cfg CleengWebhookConfig) {
	if cfg.SignatureHeader == "" {
		cfg.SignatureHeader = cleeng.DefaultSignatureHeader
	}
	authenticated := len(cfg.Secret) > 0 || cfg.Username != "" || cfg.AuthenticatedUpstream
	if !authenticated || cfg.PublisherID == "" {
		s.cfg.Logger.Error().Msg("cleeng webhooks have no secret, credentials or publisher id configured: every webhook is refused")
	}
	s.Handle("POST /webhooks/cleeng", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := readBody(w, r)
		if !ok {
			return
		}
		if !authenticated {
			writeError(w, http.StatusUnauthorized, "webhook authentication is not configured", "")
			return
		}
		if cfg.Username != "" && !basicAuthOK(r, cfg.Username, cfg.Password) {
			writeError(w, http.StatusUnauthorized, "webhook credentials are missing or wrong", "")
			return
		}
		if len(cfg.Secret) > 0 && !cleeng.VerifySignature(cfg.Secret, body, r.Header.Get(cfg.SignatureHeader)) {
			writeError(w, http.StatusUnauthorized, "webhook signature is missing or wrong ("+cfg.SignatureHeader+")", cfg.SignatureHeader)
			return
		}
		hook, err := cleeng.DecodeWebhook(body)
		var fieldErr *cleeng.FieldError
		switch {
		case errors.Is(err, cleeng.ErrUnknownTopic):
			s.cfg.Logger.Info().Str("topic", string(hook.Topic)).Msg("cleeng webhook with a topic no flow handles; ignored")
			writeStatus(w, "ignored")
			return
		case errors.As(err, &fieldErr):
			writeError(w, http.StatusBadRequest, err.Error(), fieldErr.Field)
			return
		case err != nil:
			writeError(w, http.StatusBadRequest, err.Error(), "")
			return
		}
		if err := hook.CheckBroadcaster(cleeng.ID(cfg.PublisherID)); err != nil {
			writeError(w, http.StatusUnauthorized, err.Error(), "broadcasterId")
			return
		}
		if cfg.Attempts.MaxAge > 0 {
			if err := hook.CheckAttempt(time.Now(), cfg.Attempts); err != nil {
				s.cfg.Logger.Warn().Err(err).Str("subscriptionId", string(hook.Dunning.SubscriptionID)).Msg("cleeng dunning webhook refused: nothing charged")
				writeError(w, http.StatusUnprocessableEntity, err.Error(), "data.dunningAttemptDate")
				return
			}
		}
		if hook.Flow() == cleeng.FlowNone {
			// capturePayment: required by Cleeng, payload unpublished. Recorded
			// in the log with its content-derived id, not processed.
			s.cfg.Logger.Info().Str("topic", string(hook.Topic)).Str("id", hook.DedupID()).Msg("cleeng webhook recorded and ignored")
			writeStatus(w, "ignored")
			return
		}
		if !s.publishOr503(w, r, broker.SubjectCleengWebhook+"."+string(hook.Topic), hook.DedupID(), body) {
			return
		}
		writeStatus(w, "accepted")
	}))
}

// AdyenWebhookConfig authenticates Adyen standard notifications.
type AdyenWebhookConfig struct {
	// Verifier checks each item's HMAC (one or two keys).
	Verifier *adyen.Verifier
	// Username and Password are the notification's basic auth.
	Username, Password string
}

// MountAdyen registers POST /webhooks/adyen: each item is stored on
// gateway.adyen.<eventCode> with id pspReference+eventCode+success, and
// "[accepted]" is answered only after every item is stored.
func (s *Server) MountAdyen(cfg AdyenWebhookConfig) {
	s.Handle("POST /webhooks/adyen", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if cfg.Username != "" && !basicAuthOK(r, cfg.Username, cfg.Password) {
			writeError(w, http.StatusUnauthorized, "notification credentials are missing or wrong", "")
			return
		}
		body, ok := readBody(w, r)
		if !ok {
			return
		}
		items, err := cfg.Verifier.Decode(body)
		switch {
		case errors.Is(err, adyen.ErrInvalidSignature):
			writeError(w, http.StatusUnauthorized, err.Error(), "hmacSignature")
			return
		case err != nil:
			writeError(w, http.StatusBadRequest, err.Error(), "")
			return
		}
		for i := range items {
			if _, err := adyen.ToEvent(items[i]); err != nil {
				writeError(w, http.StatusBadRequest, fmt.Sprintf("item %d: %v", i, err), "amount")
				return
			}
		}
		for i := range items {
			data, err := json.Marshal(items[i])
			if err != nil {
				writeError(w, http.StatusBadRequest, "notification item: "+err.Error(), "")
				return
			}
			if !s.publishOr503(w, r, adyen.ItemSubject(items[i]), adyen.DedupID(items[i]), data) {
				return
			}
		}
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("[accepted]"))
	}))
}

// basicAuthOK compares basic-auth credentials in constant time.
func basicAuthOK(r *http.Request, username, password string) bool {
	u, p, ok := r.BasicAuth()
	userOK := subtle.ConstantTimeCompare([]byte(u), []byte(username)) == 1
	passOK := subtle.ConstantTimeCompare([]byte(p), []byte(password)) == 1
	return ok && userOK && passOK
}
