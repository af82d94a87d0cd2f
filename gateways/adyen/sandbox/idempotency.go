package sandbox

import "net/http"

// keyEntry is one Idempotency-Key: in flight until done is closed.
type keyEntry struct {
	done   chan struct{}
	answer answer
}

// idempotent applies Adyen's key semantics: the first call with a key runs;
// a later call with the same key gets the first answer; a call while the
// first is still in flight gets 422 errorCode 704 with Transient-Error.
func (s *Sandbox) idempotent(key string, call func() answer) answer {
	s.mu.Lock()
	if e, ok := s.keys[key]; ok {
		s.mu.Unlock()
		select {
		case <-e.done:
			return e.answer
		default:
			a := apiError(http.StatusUnprocessableEntity, "704", "validation", "request already processed or in progress")
			a.transient = true
			return a
		}
	}
	e := &keyEntry{done: make(chan struct{})}
	s.keys[key] = e
	s.mu.Unlock()

	e.answer = s.process(call)
	close(e.done)
	return e.answer
}
