// Package redact hides what may hold a token, card data or an encrypted
// value in JSON shown to an operator: operation records (connector ops show,
// the console) and dead-letter payloads (the console). Secrets never reach an
// answer or a log line (DESIGN section 11).
package redact

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode"
)

// Placeholder replaces the value of a secret field.
const Placeholder = "[redacted]"

// SecretField reports whether a JSON field may hold a token, card data or
// an encrypted value: its whole value is redacted, whatever its type.
func SecretField(name string) bool {
	n := strings.ToLower(name)
	switch n {
	case "paymentmethod", "number", "cvc", "cvv", "securitycode":
		return true
	}
	return strings.HasSuffix(n, "token") || strings.HasPrefix(n, "encrypted") || strings.HasSuffix(n, "cardnumber")
}

// JSON returns raw indented, with the value of every secret field (at any
// depth, in objects within arrays too) replaced by Placeholder. Numbers
// keep their exact text. Empty input is null.
func JSON(raw []byte) ([]byte, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return []byte("null"), nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("not JSON: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("not JSON: more than one value")
	}
	return json.MarshalIndent(value(v), "", "  ")
}

func value(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, item := range v {
			if SecretField(k) {
				v[k] = Placeholder
			} else {
				v[k] = value(item)
			}
		}
	case []any:
		for i, item := range v {
			v[i] = value(item)
		}
	}
	return v
}

// OneLine makes s fit one line of at most n runes of a table or a page:
// control characters (a newline or an escape sequence inside an error
// from elsewhere) become spaces, so a value can neither break the line
// nor forge another.
func OneLine(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
