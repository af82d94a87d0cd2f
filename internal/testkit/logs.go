package testkit

import (
	"bytes"
	"strings"
	"sync"
)

// Logs collects what a logger writes (zerolog.New(logs)), one entry per
// line, for a test to wait on a line with Eventually. Safe for concurrent
// writers.
type Logs struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write stores p.
func (l *Logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// String returns everything written so far.
func (l *Logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// Line returns the first line holding every one of parts.
func (l *Logs) Line(parts ...string) (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for line := range strings.Lines(l.buf.String()) {
		if containsAll(line, parts) {
			return strings.TrimSuffix(line, "\n"), true
		}
	}
	return "", false
}

func containsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
