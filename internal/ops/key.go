package ops

import "strings"

// Key joins parts into a KV key, one dot-separated token per part. KV keys
// allow only [-/_=.a-zA-Z0-9]; every other byte of a part (and '.', '/' and
// '=' themselves) is written as '=' followed by two upper-case hex digits, and
// an empty part as a lone "=". The mapping is deterministic and injective:
// different part lists never share a key.
//
//	Key("authorise", "S123", "2024-05-01") == "authorise.S123.2024-05-01"
//	Key("refund", "a.b/c") == "refund.a=2Eb=2Fc"
func Key(parts ...string) string {
	var b strings.Builder
	for i, p := range parts {
		if i > 0 {
			b.WriteByte('.')
		}
		if p == "" {
			b.WriteByte('=')
			continue
		}
		for j := 0; j < len(p); j++ {
			c := p[j]
			if keyByteAllowed(c) {
				b.WriteByte(c)
				continue
			}
			const hex = "0123456789ABCDEF"
			b.WriteByte('=')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0x0f])
		}
	}
	return b.String()
}

func keyByteAllowed(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}
