package sandbox

import (
	"encoding/json"
	"net/http"
)

// State summarises the sandbox for tests and GET /sandbox/state.
type State struct {
	Payments               int            `json:"payments"`
	ByStatus               map[string]int `json:"byStatus"`
	Tokens                 int            `json:"tokens"`
	Notifications          int            `json:"notifications"`
	NotificationsDelivered int            `json:"notificationsDelivered"`
	Violations             []string       `json:"violations"`
	PaymentList            []Payment      `json:"paymentList"`
}

// State returns the current summary.
func (s *Sandbox) State() State {
	list := s.Payments()
	s.mu.Lock()
	defer s.mu.Unlock()
	st := State{
		Payments:      len(list),
		ByStatus:      map[string]int{},
		Tokens:        len(s.tokens),
		Notifications: len(s.notifications),
		Violations:    append([]string{}, s.violations...),
		PaymentList:   list,
	}
	for _, p := range list {
		st.ByStatus[p.Status]++
	}
	for _, n := range s.notifications {
		if n.Delivered {
			st.NotificationsDelivered++
		}
	}
	return st
}

func (s *Sandbox) serveState(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		write(w, apiError(http.StatusMethodNotAllowed, "000", "validation", "method not allowed"))
		return
	}
	b, err := json.Marshal(s.State())
	if err != nil {
		write(w, apiError(http.StatusInternalServerError, "000", "internal", err.Error()))
		return
	}
	write(w, answer{status: http.StatusOK, body: b})
}
