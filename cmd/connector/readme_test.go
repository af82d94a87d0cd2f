package main

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/cleeng-connector/connector/internal/config"
)

const (
	tableStart = "<!-- config table: generated from internal/config.Vars -->\n"
	tableEnd   = "<!-- end of config table -->"
)

// TestREADME_ConfigTableIsCurrent keeps the README's configuration table
// equal to the variables the code reads. UPDATE_README=1 rewrites it.
func TestREADME_ConfigTableIsCurrent(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var table bytes.Buffer
	config.Markdown(&table)
	start := bytes.Index(readme, []byte(tableStart))
	end := bytes.Index(readme, []byte(tableEnd))
	if start < 0 || end < start {
		t.Fatalf("README.md lacks the config table markers %q ... %q", strings.TrimSpace(tableStart), tableEnd)
	}
	current := readme[start+len(tableStart) : end]
	if bytes.Equal(current, table.Bytes()) {
		return
	}
	if os.Getenv("UPDATE_README") == "" {
		t.Fatal("README.md configuration table is stale: run UPDATE_README=1 go test ./cmd/connector -run TestREADME")
	}
	updated := append(append(append([]byte{}, readme[:start+len(tableStart)]...), table.Bytes()...), readme[end:]...)
	if err := os.WriteFile("../../README.md", updated, 0o644); err != nil {
		t.Fatal(err)
	}
}
