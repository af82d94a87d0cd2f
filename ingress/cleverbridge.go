package ingress

import (
	"errors"
	"net/http"

	"github.com/cleeng-connector/connector/gateways/cleverbridge"
)

// CleverbridgeWebhookConfig authenticates Cleverbridge purchase notifications.
type CleverbridgeWebhookConfig struct {
	// Username and Password are the notifications' basic auth. Required:
	// without them every notification is refused, since a forged "paid"
	// notification would complete a renewal.
	Username, Password string
}

// MountCleverbridge registers POST /webhooks/cleverbridge: the notification
// is checked (basic auth, then shape), stored unchanged on
// gateway.cleverbridge.<eventType> with id purchase+eventType+notification
// id, and answered 200 only once stored.
func (s *Server) MountCleverbridge(cfg CleverbridgeWebhookConfig) {
	configured := cfg.Username != "" && cfg.Password != ""
	if !configured {
		s.cfg.Logger.Error().Msg("cleverbridge notification credentials are not configured: every notification is refused")
	}
	s.Handle("POST /webhooks/cleverbridge", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !configured || !basicAuthOK(r, cfg.Username, cfg.Password) {
			writeError(w, http.StatusUnauthorized, "notification credentials are missing or wrong", "")
			return
		}
		body, ok := readBody(w, r)
		if !ok {
			return
		}
		n, err := cleverbridge.ParseNotification(body)
		if err != nil {
			var fieldErr *cleverbridge.FieldError
			field := ""
			if errors.As(err, &fieldErr) {
				field = fieldErr.Field
			}
			writeError(w, http.StatusBadRequest, err.Error(), field)
			return
		}
		if !s.publishOr503(w, r, cleverbridge.Subject(n), cleverbridge.DedupID(n), body) {
			return
		}
		writeStatus(w, "accepted")
	}))
}
