package sandbox

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
)

// State summarises the sandbox for tests and GET /sandbox/state.
type State struct {
	Payments               int            `json:"payments"`
	ByStatus               map[string]int `json:"byStatus"`
	Tokens                 int            `json:"tokens"`
	Notifications          int            `json:"notifications"`
	NotificationsDelivered int            `json:"notificationsDelivered"`
	// NotificationsReordered were held back by a ReorderNotifications
	// fault and delivered after a later one of their payment.
	NotificationsReordered int       `json:"notificationsReordered"`
	Violations             []string  `json:"violations"`
	PaymentList            []Payment `json:"paymentList"`
}

// State returns the current summary.
func (s *Sandbox) State() State {
	list := s.Payments()
	s.mu.Lock()
	defer s.mu.Unlock()
	st := State{
		Payments:               len(list),
		ByStatus:               map[string]int{},
		Tokens:                 len(s.tokens),
		Notifications:          len(s.notifications),
		NotificationsReordered: s.outbox.Reordered(),
		Violations:             append([]string{}, s.violations...),
		PaymentList:            list,
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

// serveRefuseToken is RefuseToken over HTTP: body {"holderName": "NOT_ENOUGH_BALANCE"}
// (one of Refusals' holder names; "" restores normal service).
func (s *Sandbox) serveRefuseToken(w http.ResponseWriter, r *http.Request) {
	var req struct {
		HolderName string `json:"holderName"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, maxBody)).Decode(&req); err != nil {
		write(w, apiError(http.StatusBadRequest, "000", "validation", "body: "+err.Error()))
		return
	}
	if !s.RefuseToken(r.PathValue("token"), req.HolderName) {
		write(w, apiError(http.StatusNotFound, "000", "validation", "unknown token or holder name"))
		return
	}
	write(w, jsonAnswer(http.StatusOK, map[string]string{"token": r.PathValue("token"), "holderName": req.HolderName}))
}

// serveResend is Resend over HTTP: {index} counts from 0 in the order of
// Notifications (GET /sandbox/state's notifications count).
func (s *Sandbox) serveResend(w http.ResponseWriter, r *http.Request) {
	i, err := strconv.Atoi(r.PathValue("index"))
	if err != nil || !s.Resend(i) {
		write(w, apiError(http.StatusNotFound, "000", "validation", "no notification "+r.PathValue("index")))
		return
	}
	write(w, jsonAnswer(http.StatusAccepted, map[string]int{"resending": i}))
}
