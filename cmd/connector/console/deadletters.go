package console

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/cleeng-connector/connector/cmd/connector/deadletter"
	"github.com/cleeng-connector/connector/internal/redact"
)

type deadLettersView struct {
	Flow    string
	Letters []deadletter.Letter
	// Replayed is set after a replay: the notice at the top.
	Replayed *deadletter.Replayed
}

func (c *Console) deadLetters(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := pageContext(r)
	defer cancel()
	v := deadLettersView{Flow: r.URL.Query().Get("flow")}
	letters, err := deadletter.List(ctx, c.cfg.Broker.JS, v.Flow)
	if err != nil {
		c.fail(w, http.StatusBadGateway, err)
		return
	}
	v.Letters = letters
	q := r.URL.Query()
	if seq, err := strconv.ParseUint(q.Get("replayed"), 10, 64); err == nil {
		inbox, _ := strconv.ParseUint(q.Get("inbox"), 10, 64)
		v.Replayed = &deadletter.Replayed{Seq: seq, Flow: q.Get("of"), Subject: q.Get("to"), InboxSeq: inbox, Duplicate: q.Get("duplicate") == "1"}
	}
	c.render(w, http.StatusOK, "dead-letters", "Dead letters", v)
}

// letterView is one letter as shown: its headers with secret ones hidden,
// its payload redacted or not shown at all.
type letterView struct {
	deadletter.Letter
	Headers [][2]string
	// Payload is the redacted JSON payload; PayloadNote says why there is none.
	Payload     string
	PayloadNote string
	Token       string // the replay confirmation's
}

func (c *Console) letter(w http.ResponseWriter, r *http.Request) (letterView, bool) {
	ctx, cancel := pageContext(r)
	defer cancel()
	seq, err := strconv.ParseUint(r.PathValue("seq"), 10, 64)
	if err != nil || seq == 0 {
		c.fail(w, http.StatusBadRequest, fmt.Errorf("dead letter %q: not a positive sequence number", r.PathValue("seq")))
		return letterView{}, false
	}
	l, err := deadletter.Show(ctx, c.cfg.Broker.JS, seq)
	if errors.Is(err, deadletter.ErrNotFound) {
		c.fail(w, http.StatusNotFound, fmt.Errorf("%w: already replayed, or never stored (the dead letters page lists those waiting)", err))
		return letterView{}, false
	}
	if err != nil {
		c.fail(w, http.StatusBadGateway, err)
		return letterView{}, false
	}
	v := letterView{Letter: l, Token: c.token(deadletter.ReplayMarker(l))}
	for _, k := range slices.Sorted(maps.Keys(l.Header)) {
		for _, val := range l.Header[k] {
			if secretHeader(k) {
				val = redact.Placeholder
			}
			v.Headers = append(v.Headers, [2]string{k, val})
		}
	}
	v.Payload, v.PayloadNote = redactedPayload(l.Data)
	v.Data = nil // never handed to a template
	return v, true
}

// secretHeader: a header that may carry a credential or a signature. The
// ingress copies none from a request, so this is a second line of defence.
func secretHeader(name string) bool {
	n := strings.ToLower(name)
	return redact.SecretField(n) || strings.Contains(n, "authorization") || strings.Contains(n, "signature") ||
		strings.Contains(n, "secret") || strings.Contains(n, "password")
}

// redactedPayload is the payload with card data and tokens redacted, or a
// note saying why it is not shown: what is not JSON cannot be redacted.
func redactedPayload(data []byte) (payload, note string) {
	if len(data) == 0 {
		return "", "empty"
	}
	if !json.Valid(data) {
		return "", fmt.Sprintf("%d bytes, not JSON: not shown (connector dlq show --payload prints it)", len(data))
	}
	out, err := redact.JSON(data)
	if err != nil {
		return "", fmt.Sprintf("%d bytes: not shown (%v)", len(data), err)
	}
	return string(out), ""
}

func (c *Console) deadLetter(w http.ResponseWriter, r *http.Request) {
	if v, ok := c.letter(w, r); ok {
		c.render(w, http.StatusOK, "dead-letter", fmt.Sprintf("Dead letter %d", v.Seq), v)
	}
}

func (c *Console) confirmReplay(w http.ResponseWriter, r *http.Request) {
	if v, ok := c.letter(w, r); ok {
		c.render(w, http.StatusOK, "replay", fmt.Sprintf("Replay dead letter %d?", v.Seq), v)
	}
}

// replay replays the letter the confirmation named, then shows the dead
// letters with a notice (a redirect, so reloading does not post again).
func (c *Console) replay(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := pageContext(r)
	defer cancel()
	seq, err := strconv.ParseUint(r.PathValue("seq"), 10, 64)
	if err != nil || seq == 0 {
		c.fail(w, http.StatusBadRequest, fmt.Errorf("dead letter %q: not a positive sequence number", r.PathValue("seq")))
		return
	}
	l, err := deadletter.Show(ctx, c.cfg.Broker.JS, seq)
	if errors.Is(err, deadletter.ErrNotFound) {
		c.fail(w, http.StatusNotFound, fmt.Errorf("%w: already replayed", err))
		return
	}
	if err != nil {
		c.fail(w, http.StatusBadGateway, err)
		return
	}
	if !c.validToken(deadletter.ReplayMarker(l), r.PostFormValue("token")) {
		c.fail(w, http.StatusForbidden, fmt.Errorf("the confirmation of dead letter %d is missing or stale: open the letter and confirm again", seq))
		return
	}
	done, err := deadletter.Replay(ctx, c.cfg.Broker.JS, seq)
	if err != nil {
		c.fail(w, http.StatusBadGateway, err)
		return
	}
	c.cfg.Logger.Info().Uint64("seq", done.Seq).Str("flow", done.Flow).Str("subject", done.Subject).Uint64("inbox_seq", done.InboxSeq).
		Msg("console: dead letter replayed")
	q := url.Values{"replayed": {fmt.Sprint(done.Seq)}, "of": {done.Flow}, "to": {done.Subject}, "inbox": {fmt.Sprint(done.InboxSeq)}}
	if done.Duplicate {
		q.Set("duplicate", "1")
	}
	http.Redirect(w, r, "/dead-letters?"+q.Encode(), http.StatusSeeOther)
}
