package config

import "strings"

// RedactURL hides the secrets a URL (or a comma-separated list of them, as
// NATS_URL takes) may carry in its user information: the password of
// user:password@, and a lone token@ (NATS reads one as a token). It works on
// the text, so a URL that does not parse is redacted as well.
func RedactURL(s string) string {
	parts := strings.Split(s, ",")
	for i, p := range parts {
		_, rest, ok := strings.Cut(p, "://")
		if !ok {
			rest = p
		}
		authority, _, _ := strings.Cut(rest, "/")
		at := strings.LastIndex(authority, "@")
		if at < 0 {
			continue
		}
		userinfo := authority[:at]
		redacted := "xxxxx"
		if user, _, ok := strings.Cut(userinfo, ":"); ok {
			redacted = user + ":xxxxx"
		}
		start := len(p) - len(rest)
		parts[i] = p[:start] + redacted + p[start+at:]
	}
	return strings.Join(parts, ",")
}
