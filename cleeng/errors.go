package cleeng

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"
)

// maxErrorBody bounds how much of an undecodable error body an error keeps.
const maxErrorBody = 256

// APIError is an HTTP error answer from Cleeng. Message is Cleeng's own
// message when the body has one, else the start of the raw body.
type APIError struct {
	Method  string
	Path    string
	Status  int
	Code    string
	Message string
}

func (e *APIError) Error() string {
	code := ""
	if e.Code != "" {
		code = " " + e.Code
	}
	return fmt.Sprintf("cleeng: %s %s: HTTP %d%s: %s", e.Method, e.Path, e.Status, code, e.Message)
}

// ConflictError is the answer to a POST /payments for an externalPaymentId
// Cleeng already holds: Existing is that payment [decided: 409 with the
// existing payment as the body]. It is classified permanent: repeating the
// POST cannot help, the flow decides whether Existing is the payment it meant
// to create.
type ConflictError struct {
	Existing Payment
	APIError
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("cleeng: POST %s: payment %s already holds externalPaymentId %q",
		pathPayments, e.Existing.ID, e.Existing.ExternalPaymentID)
}

// errorBody is Cleeng's error format [decided]: {"errors":[{code,message}]}
// or {"message"}.
type errorBody struct {
	Errors []struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"errors"`
	Message string `json:"message"`
}

// newAPIError builds an APIError from an answer, decoding Cleeng's message
// when the body has one. secret is removed from the text in case the server
// echoed it.
func newAPIError(method, path string, status int, body []byte, secret string) *APIError {
	e := &APIError{Method: method, Path: path, Status: status}
	body = []byte(redact(string(body), secret))
	var eb errorBody
	if json.Unmarshal(body, &eb) == nil && (len(eb.Errors) > 0 || eb.Message != "") {
		msgs := make([]string, 0, len(eb.Errors)+1)
		for _, item := range eb.Errors {
			if e.Code == "" {
				e.Code = item.Code
			}
			msgs = append(msgs, item.Message)
		}
		if eb.Message != "" {
			msgs = append(msgs, eb.Message)
		}
		e.Message = strings.Join(msgs, "; ")
	} else {
		e.Message = truncate(strings.TrimSpace(string(body)), maxErrorBody)
	}
	return e
}

func redact(s, secret string) string {
	if secret == "" {
		return s
	}
	return strings.ReplaceAll(s, secret, "[redacted]")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// codeInvalidTransition is the error code of a payment update the
// payment's status does not allow [decided: the sandbox's; Cleeng publishes
// no code list].
const codeInvalidTransition = "invalid_transition"

// IsInvalidTransition reports whether err is Cleeng refusing a payment
// update because of the payment's current status (422 invalid_transition).
func IsInvalidTransition(err error) bool {
	var apiErr *APIError
	return errors.As(err, &apiErr) && apiErr.Status == http.StatusUnprocessableEntity && apiErr.Code == codeInvalidTransition
}
