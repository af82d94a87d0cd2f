package ingress

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/cleeng-connector/connector/cleeng"
	"github.com/cleeng-connector/connector/gateways/adyen"
	"github.com/cleeng-connector/connector/internal/broker"
)

// CleengWebhookConfig authenticates Cleeng webhooks.
type CleengWebhookConfig struct {
	// Secret is the HMAC-SHA256 secret; empty skips the signature check
	// (then set Username and Password, or keep the URL private).
	Secret []byte
	// SignatureHeader carries hex or base64 HMAC of the raw body.
	SignatureHeader string
	// PublisherID, when set, must equal the webhook's broadcasterId.
	PublisherID string
	// Username and Password, when set, are required as basic auth.
	Username, Password string
}

// MountCleeng registers POST /webhooks/cleeng.
func (s *Server) MountCleeng(cfg CleengWebhookConfig) {
	if cfg.SignatureHeader == "" {
		cfg.SignatureHeader = cleeng.DefaultSignatureHeader
	}
	s.Handle("POST /webhooks/cleeng", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := readBody(w, r)
		if !ok {
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
			writeJSON(w, http.StatusOK, map[string]string{"status": "ignored"})
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
		if hook.Flow() == cleeng.FlowNone {
			// capturePayment: required by Cleeng, payload unpublished. Recorded
			// in the log with its content-derived id, not processed.
			s.cfg.Logger.Info().Str("topic", string(hook.Topic)).Str("id", hook.DedupID()).Msg("cleeng webhook recorded and ignored")
			writeJSON(w, http.StatusOK, map[string]string{"status": "ignored"})
			return
		}
		if !s.publishOr503(w, r, broker.SubjectCleengWebhook+"."+string(hook.Topic), hook.DedupID(), body) {
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "accepted"})
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
