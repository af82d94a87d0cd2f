package console

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/cleeng-connector/connector/cmd/connector/deadletter"
	"github.com/cleeng-connector/connector/internal/ops"
	"github.com/cleeng-connector/connector/internal/redact"
)

// event is one line of a timeline.
type event struct {
	Time time.Time
	// What and Link name the record the event comes from.
	What, Link string
	Text       string
	// Class colours the line: started, failed, reopened, done, running,
	// parked, index, letter.
	Class string
}

// indexEntry is one payment index entry (CONNECTOR_INDEX) as it is stored.
type indexEntry struct {
	Key              string
	Created, Updated time.Time
	Fields           [][2]string
}

type timelineView struct {
	ID         string
	Events     []event
	Operations []opRow
	Index      []indexEntry
	Letters    []deadletter.Letter
}

// timeline gathers what the connector holds about one id (a subscription,
// an order, a customer or a Cleeng payment): the operation records whose
// key or state names it, the payment index entries that name it or those
// operations, the operations naming those entries' payments (refunds,
// capture failures), and the dead letters whose payload names any of them.
// It reads the whole of both buckets: an operator's page, not a hot path.
func (c *Console) timeline(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := pageContext(r)
	defer cancel()
	v := timelineView{ID: strings.TrimSpace(r.URL.Query().Get("id"))}
	if v.ID == "" {
		c.render(w, http.StatusOK, "timeline", "Timeline", v)
		return
	}
	opsRecs, err := ops.List[json.RawMessage](ctx, ops.NewStore(c.cfg.Broker.Ops), "")
	if err != nil {
		c.fail(w, http.StatusBadGateway, err)
		return
	}
	indexRecs, err := ops.List[json.RawMessage](ctx, ops.NewStore(c.cfg.Broker.Index), "")
	if err != nil {
		c.fail(w, http.StatusBadGateway, err)
		return
	}
	letters, err := deadletter.List(ctx, c.cfg.Broker.JS, "")
	if err != nil {
		c.fail(w, http.StatusBadGateway, err)
		return
	}

	// ids are the values that belong to the timeline: the id asked for,
	// then the payments the index ties to it.
	ids := map[string]bool{v.ID: true}
	matched := map[string]bool{}
	for _, rec := range opsRecs {
		if keyNames(rec.Key, ids) || jsonNames(rec.State, ids) {
			matched[rec.Key] = true
		}
	}
	for _, rec := range indexRecs {
		fields := scalarFields(rec.State)
		if !slices.ContainsFunc(fields, func(f [2]string) bool { return ids[f[1]] || f[0] == "opKey" && matched[f[1]] }) {
			continue
		}
		v.Index = append(v.Index, indexEntry{Key: rec.Key, Created: rec.Created, Updated: rec.Updated, Fields: fields})
		for _, f := range fields {
			switch f[0] {
			case "paymentId", "externalPaymentId":
				ids[f[1]] = true
			case "opKey":
				matched[f[1]] = true
			}
		}
	}
	now := time.Now()
	for _, rec := range opsRecs {
		if matched[rec.Key] || keyNames(rec.Key, ids) || jsonNames(rec.State, ids) {
			row := opRow{rec, condition(rec, now)}
			v.Operations = append(v.Operations, row)
			v.Events = append(v.Events, operationEvents(row)...)
		}
	}
	for _, e := range v.Index {
		v.Events = append(v.Events, indexEvents(e)...)
	}
	for _, l := range letters {
		if jsonNames(l.Data, ids) {
			v.Letters = append(v.Letters, l)
			v.Events = append(v.Events, event{Time: l.Time, What: fmt.Sprintf("dead letter %d", l.Seq),
				Link: fmt.Sprintf("/dead-letters/%d", l.Seq), Class: "letter",
				Text: fmt.Sprintf("flow %s gave up on %s after %d attempts: %s", l.Flow, l.OriginalSubject, l.Attempts, redact.OneLine(l.Error, 300))})
		}
	}
	slices.SortStableFunc(v.Events, func(a, b event) int { return a.Time.Compare(b.Time) })
	c.render(w, http.StatusOK, "timeline", "Timeline of "+v.ID, v)
}

// keyNames reports whether a part of key after the flow's prefix is one
// of ids, as ops.Key writes it.
func keyNames(key string, ids map[string]bool) bool {
	parts := strings.Split(key, ".")
	for id := range ids {
		if slices.Contains(parts[1:], ops.Key(id)) {
			return true
		}
	}
	return false
}

func operationLink(key string) string { return "/operation?key=" + url.QueryEscape(key) }

// operationEvents: the record keeps when it started, when each earlier
// attempt failed and was re-opened, and its last write.
func operationEvents(row opRow) []event {
	what, link := row.Key, operationLink(row.Key)
	out := []event{{Time: row.Created, What: what, Link: link, Class: "started", Text: "flow " + row.Flow + " started it"}}
	for i, p := range row.History {
		out = append(out,
			event{Time: p.Failed, What: what, Link: link, Class: "failed",
				Text: fmt.Sprintf("attempt %d failed at step %s: %s", i+1, p.Step, redact.OneLine(p.Error, 300))},
			event{Time: p.Reopened, What: what, Link: link, Class: "reopened",
				Text: fmt.Sprintf("attempt %d started: re-opened by the replay of %s", i+2, p.ReopenedBy)})
	}
	last := fmt.Sprintf("%s at step %s (attempt %d)", row.Condition, row.Step, row.Attempt())
	if row.Error != "" {
		last += ": " + redact.OneLine(row.Error, 300)
	}
	return append(out, event{Time: row.Updated, What: what, Link: link, Class: row.Condition, Text: last})
}

func indexEvents(e indexEntry) []event {
	var text []string
	for _, f := range e.Fields {
		text = append(text, f[0]+" "+f[1])
	}
	out := []event{{Time: e.Created, What: e.Key, Class: "index", Text: "payment indexed: " + strings.Join(text, ", ")}}
	if e.Updated.After(e.Created) {
		out = append(out, event{Time: e.Updated, What: e.Key, Class: "index", Text: "index entry last written (the Cleeng payment id is filled in once the payment exists)"})
	}
	return out
}

// scalarFields are the top-level fields of a JSON object whose values are
// strings or numbers, secrets redacted, in name order.
func scalarFields(raw []byte) [][2]string {
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if dec.Decode(&m) != nil {
		return nil
	}
	var out [][2]string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		val, ok := scalar(m[k])
		if !ok {
			continue
		}
		if redact.SecretField(k) {
			val = redact.Placeholder
		}
		out = append(out, [2]string{k, val})
	}
	return out
}

func scalar(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case json.Number:
		return v.String(), true
	}
	return "", false
}

// jsonNames reports whether a JSON document (a payload, an operation's
// state) holds one of ids as a value, at any depth, outside secret fields.
func jsonNames(data []byte, ids map[string]bool) bool {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return false
	}
	var walk func(v any) bool
	walk = func(v any) bool {
		switch v := v.(type) {
		case map[string]any:
			for k, item := range v {
				if !redact.SecretField(k) && walk(item) {
					return true
				}
			}
		case []any:
			return slices.ContainsFunc(v, walk)
		default:
			s, ok := scalar(v)
			return ok && ids[s]
		}
		return false
	}
	return walk(v)
}
