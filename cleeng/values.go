package cleeng

import (
	"bytes"
	"encoding/json"
	"reflect"
	"unicode/utf8"

	"github.com/shopspring/decimal"
)

// ID is a Cleeng identifier. Cleeng's own examples send the same id
// sometimes as a number and sometimes as a string [doc], so ID reads both
// and keeps the text. It is written as a JSON number when it is all digits
// (as Cleeng's reference types them) and as a string otherwise.
type ID string

// UnmarshalJSON accepts a JSON string, a JSON number, or null (empty ID).
func (id *ID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*id = ""
		return nil
	case plainString(b):
		// A webhook carries many ids: these two cases spare each a decoder
		// of its own (issue 15).
		*id = ID(b[1 : len(b)-1])
		return nil
	case len(b) > 0 && (b[0] == '-' || '0' <= b[0] && b[0] <= '9') && json.Valid(b):
		*id = ID(b) // a number's text, as json.Number keeps it
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*id = ID(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return typeError(b, reflect.TypeFor[ID]())
	}
	*id = ID(n.String())
	return nil
}

// plainString reports whether b is a JSON string literal that needs no
// decoding: quoted, valid UTF-8, without escapes or control characters.
func plainString(b []byte) bool {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return false
	}
	for _, c := range b[1 : len(b)-1] {
		if c < 0x20 || c == '"' || c == '\\' {
			return false
		}
	}
	return utf8.Valid(b)
}

// MarshalJSON writes a numeric id as a number, any other id as a string.
func (id ID) MarshalJSON() ([]byte, error) {
	if id.numeric() {
		return []byte(id), nil
	}
	return json.Marshal(string(id))
}

func (id ID) numeric() bool {
	if len(id) == 0 || len(id) > 18 || (len(id) > 1 && id[0] == '0') {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < '0' || id[i] > '9' {
			return false
		}
	}
	return true
}

// String returns the id's text.
func (id ID) String() string { return string(id) }

// Decimal is an amount in major units (totalPrice 9.99). It is read from a
// JSON number or string without passing through a float, and written as a
// JSON number.
type Decimal struct{ decimal.Decimal }

// NewDecimal parses s ("9.99").
func NewDecimal(s string) (Decimal, error) {
	d, err := decimal.NewFromString(s)
	return Decimal{d}, err
}

// MustDecimal is NewDecimal for constants in tests and seed data; it panics on a malformed s.
func MustDecimal(s string) Decimal {
	d, err := NewDecimal(s)
	if err != nil {
		panic(err)
	}
	return d
}

// UnmarshalJSON reads a JSON number or a numeric string.
func (d *Decimal) UnmarshalJSON(b []byte) error {
	if err := d.Decimal.UnmarshalJSON(b); err != nil {
		return typeError(b, reflect.TypeFor[Decimal]())
	}
	return nil
}

// MarshalJSON writes the amount as a JSON number.
func (d Decimal) MarshalJSON() ([]byte, error) { return []byte(d.Decimal.String()), nil }

// Secret is a value that must never reach a log line: a recurring token.
// Printing it with fmt shows "[redacted]"; string(s) is the value.
type Secret string

// String hides the value from fmt and loggers that use Stringer.
func (Secret) String() string { return "[redacted]" }

// GoString hides the value from %#v.
func (Secret) GoString() string { return `"[redacted]"` }

// typeError reports a JSON value of the wrong kind; encoding/json adds the
// field's name, which the webhook decoder puts in its FieldError.
func typeError(b []byte, t reflect.Type) error {
	kind := "value"
	if len(b) > 0 {
		switch b[0] {
		case '{':
			kind = "object"
		case '[':
			kind = "array"
		case 't', 'f':
			kind = "bool"
		case '"':
			kind = "string"
		default:
			kind = "number"
		}
	}
	return &json.UnmarshalTypeError{Value: kind, Type: t}
}
