package testkit_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cleeng-connector/connector/internal/testkit"
)

func TestLogs_FindsTheLineHoldingEveryPart(t *testing.T) {
	var logs testkit.Logs
	fmt.Fprintln(&logs, `{"level":"info","op":"a","message":"started"}`)
	fmt.Fprintln(&logs, `{"level":"warn","op":"b","message":"changed nothing"}`)
	if line, ok := logs.Line(`"op":"b"`, "changed nothing"); !ok || !strings.Contains(line, `"level":"warn"`) || strings.HasSuffix(line, "\n") {
		t.Errorf("Line = %q, %v; want the warn line without its newline", line, ok)
	}
	if line, ok := logs.Line(`"op":"a"`, "changed nothing"); ok {
		t.Errorf("Line matched %q, which lacks a part", line)
	}
}
