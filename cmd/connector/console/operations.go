package console

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/cleeng-connector/connector/internal/ops"
	"github.com/cleeng-connector/connector/internal/redact"
)

// maxRows caps a list page: a narrower prefix shows the rest.
const maxRows = 500

// record is an operation record as the console reads it: its state shown,
// never interpreted.
type record = ops.Record[json.RawMessage]

// opRow is one operation in a list.
type opRow struct {
	*record
	Condition string
}

// filters are the operations page's choices, "unfinished" first (its default).
var filters = []string{"unfinished", condRunning, condParked, condExpired, condFailed, condDone, "all"}

func keep(filter, cond string) bool {
	switch filter {
	case "all":
		return true
	case "unfinished":
		return cond != condDone
	}
	return filter == cond
}

type operationsView struct {
	Filter, Prefix string
	Filters        []string
	Rows           []opRow
	// Counts are the records of each condition under the prefix.
	Counts  map[string]int
	Omitted int
}

func (c *Console) operations(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := pageContext(r)
	defer cancel()
	v := operationsView{Filter: r.URL.Query().Get("status"), Prefix: strings.TrimSpace(r.URL.Query().Get("prefix")),
		Filters: filters, Counts: map[string]int{}}
	if v.Filter == "" {
		v.Filter = "unfinished"
	}
	if !slices.Contains(filters, v.Filter) {
		c.fail(w, http.StatusBadRequest, fmt.Errorf("status %q is not one of %s", v.Filter, strings.Join(filters, ", ")))
		return
	}
	recs, err := ops.List[json.RawMessage](ctx, ops.NewStore(c.cfg.Broker.Ops), v.Prefix)
	if err != nil {
		c.fail(w, http.StatusBadGateway, err)
		return
	}
	now := time.Now()
	for _, rec := range recs {
		cond := condition(rec, now)
		v.Counts[cond]++
		if keep(v.Filter, cond) {
			v.Rows = append(v.Rows, opRow{rec, cond})
		}
	}
	// The latest first: what happened last night is at the top.
	slices.SortStableFunc(v.Rows, func(a, b opRow) int { return b.Updated.Compare(a.Updated) })
	if len(v.Rows) > maxRows {
		v.Omitted = len(v.Rows) - maxRows
		v.Rows = v.Rows[:maxRows]
	}
	c.render(w, http.StatusOK, "operations", "Operations", v)
}

type operationView struct {
	*record
	Condition string
	State     string
	// IDs are the business ids in the key, each with a timeline.
	IDs []string
}

func (c *Console) operation(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := pageContext(r)
	defer cancel()
	key := r.URL.Query().Get("key")
	if key == "" {
		c.fail(w, http.StatusBadRequest, errors.New("no operation key (the operations page lists them)"))
		return
	}
	rec, err := ops.Get[json.RawMessage](ctx, ops.NewStore(c.cfg.Broker.Ops), key)
	if errors.Is(err, ops.ErrNotFound) {
		c.fail(w, http.StatusNotFound, fmt.Errorf("%w: never claimed, or expired", err))
		return
	}
	if err != nil {
		c.fail(w, http.StatusBadGateway, err)
		return
	}
	state, err := redact.JSON(rec.State)
	if err != nil {
		state = []byte(fmt.Sprintf("not shown: %v", err))
	}
	c.render(w, http.StatusOK, "operation", "Operation "+rec.Key, operationView{record: rec, Condition: condition(rec, time.Now()),
		State: string(state), IDs: keyIDs(rec.Key)})
}

// keyIDs are the parts of an operation key after the flow's prefix that
// are ids as given (a part with an escape, such as a dunning date, is not).
func keyIDs(key string) []string {
	parts := strings.Split(key, ".")
	var ids []string
	for _, p := range parts[1:] {
		if p != "" && !strings.Contains(p, "=") {
			ids = append(ids, p)
		}
	}
	return ids
}
