package console

import (
	"fmt"
	"html/template"
	"strings"
	"time"

	"github.com/cleeng-connector/connector/internal/ops"
	"github.com/cleeng-connector/connector/internal/redact"
)

// funcs are the templates' formatting helpers.
var funcs = template.FuncMap{
	"time":  formatTime,
	"age":   age,
	"dur":   formatDuration,
	"bytes": formatBytes,
	"short": func(n int, s string) string { return redact.OneLine(s, n) },
	"inc":   func(i int) int { return i + 1 },
	// tagClass is the CSS class of a condition ("claim expired": claim-expired).
	"tagClass": func(s string) string { return strings.ReplaceAll(s, " ", "-") },
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05.000Z")
}

// age is how long ago t was, to the second ("-" for no time).
func age(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return formatDuration(time.Since(t))
}

func formatDuration(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	return d.Round(time.Second).String()
}

func formatBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// Condition of an operation as the console shows it: the record's status,
// with "in progress" told apart by its claim.
const (
	condRunning = "running" // in progress, claimed by a live worker
	condParked  = "parked"  // in progress, waiting for a notification or a shopper: no claim
	condExpired = "claim expired"
	condFailed  = "failed"
	condDone    = "done"
)

// condition tells what an operation is doing at now.
func condition[T any](r *ops.Record[T], now time.Time) string {
	switch r.Status {
	case ops.StatusDone:
		return condDone
	case ops.StatusFailed:
		return condFailed
	}
	switch {
	case r.LeaseUntil.IsZero():
		return condParked
	case r.LeaseUntil.After(now):
		return condRunning
	default:
		return condExpired // its worker stopped: the message's redelivery resumes it
	}
}
