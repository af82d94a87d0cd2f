package flows

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/cleeng-connector/connector/cleeng"
	"github.com/cleeng-connector/connector/gateways"
	"github.com/cleeng-connector/connector/internal/messages"
)

// checklist is what DESIGN section 1's table says of one flow.
type checklist struct {
	steps, parked []string
}

func checklistOf[T any](t *testing.T, fl *flow[T]) checklist {
	c := checklist{steps: fl.stepNames()}
	for _, p := range fl.Parked {
		c.parked = append(c.parked, p.State)
		if p.ResumedBy == "" {
			t.Errorf("flow %s: parked state %s names no event that resumes it", fl.Name, p.State)
		}
	}
	return c
}

// TestDesignTableNamesEachFlowsSteps compares DESIGN section 1's table with
// the flow definitions: each row names its flow's steps in order and its
// parked states, and every flow has a row.
func TestDesignTableNamesEachFlowsSteps(t *testing.T) {
	var f *Flows // the definitions are only read, never run
	defined := map[string]checklist{}
	for _, c := range []struct {
		name string
		list checklist
	}{
		{flowInitial, checklistOf(t, f.initialFlow(messages.PaymentCommand{}))},
		{flowAuthorise, checklistOf(t, f.renewalFlow(flowAuthorise, cleeng.DunningData{}))},
		{flowCapture, checklistOf(t, f.captureFlow(cleeng.DunningData{}))},
		{flowCharge, checklistOf(t, f.renewalFlow(flowCharge, cleeng.DunningData{}))},
		{flowTerminate, checklistOf(t, f.terminateFlow(""))},
		{flowUpdateDetails, checklistOf(t, f.updateDetailsFlow(messages.PaymentDetailsCommand{}))},
		{flowDeactivate, checklistOf(t, f.deactivateFlow(cleeng.DeactivationData{}))},
		{flowRefund, checklistOf(t, f.refundFlow(cleeng.RefundData{}))},
		{flowCaptureFailed, checklistOf(t, f.captureFailedFlow(gateways.Event{}, paymentIndex{}))},
		{flowEvent, checklistOf(t, f.eventFlow(eventRow{}, gateways.Event{}))},
		{flowMirror, checklistOf(t, f.mirrorFlow(gateways.Event{}))},
	} {
		defined[c.name] = c.list
	}
	for _, name := range Names {
		if _, ok := defined[name]; !ok && name != flowGatewayEvents { // gateway-events resumes the flows above, or runs capture-failed
			t.Errorf("worker flow %s has no definition in this test", name)
		}
	}

	rows := designTable(t)
	for name, want := range defined {
		got, ok := rows[name]
		if !ok {
			t.Errorf("DESIGN.md section 1: no row for flow %s (steps %v)", name, want.steps)
			continue
		}
		if !slices.Equal(got.steps, want.steps) {
			t.Errorf("DESIGN.md section 1, flow %s: steps %v, flows/ has %v", name, got.steps, want.steps)
		}
		if !slices.Equal(got.parked, want.parked) {
			t.Errorf("DESIGN.md section 1, flow %s: parked %v, flows/ has %v", name, got.parked, want.parked)
		}
	}
	for name := range rows {
		if _, ok := defined[name]; !ok {
			t.Errorf("DESIGN.md section 1 has a row for flow %s, which flows/ does not define", name)
		}
	}
}

var (
	backticked    = regexp.MustCompile("`([^`]+)`")
	parenthesised = regexp.MustCompile(`\([^)]*\)`)
)

// designSection returns the text of DESIGN.md from the line starting with
// start to the next line starting with end.
func designSection(t *testing.T, start, end string) string {
	t.Helper()
	b, err := os.ReadFile("../DESIGN.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, found := strings.Cut(string(b), "\n"+start)
	if !found {
		t.Fatalf("DESIGN.md has no %q", start)
	}
	section, _, _ = strings.Cut(section, "\n"+end)
	return section
}

// designTable reads the Flow, Steps and Parked columns of DESIGN section 1's
// first table: the backticked names, outside parentheses (what resumes a
// parked state is prose).
func designTable(t *testing.T) map[string]checklist {
	t.Helper()
	section := designSection(t, "## 1.", "### ")
	names := func(cell string) []string {
		var out []string
		for _, m := range backticked.FindAllStringSubmatch(parenthesised.ReplaceAllString(cell, ""), -1) {
			out = append(out, m[1])
		}
		return out
	}
	rows := map[string]checklist{}
	flowCol, stepsCol, parkedCol := -1, -1, -1
	for _, line := range strings.Split(section, "\n") {
		if !strings.HasPrefix(line, "|") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if flowCol < 0 {
			flowCol, stepsCol, parkedCol = slices.Index(cells, "Flow"), slices.Index(cells, "Steps"), slices.Index(cells, "Parked (resumed by)")
			if flowCol < 0 || stepsCol < 0 || parkedCol < 0 {
				t.Fatalf("DESIGN.md section 1: the table's header %q lacks Flow, Steps or Parked (resumed by)", line)
			}
			continue
		}
		if strings.HasPrefix(cells[0], "---") {
			continue
		}
		flow := names(cells[flowCol])
		if len(flow) != 1 {
			t.Errorf("DESIGN.md section 1: row %q names %d flows, want 1", cells[0], len(flow))
			continue
		}
		rows[flow[0]] = checklist{steps: names(cells[stepsCol]), parked: names(cells[parkedCol])}
	}
	return rows
}
