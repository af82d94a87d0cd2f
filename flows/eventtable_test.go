package flows

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/cleeng-connector/connector/gateways/adyen"
	"github.com/cleeng-connector/connector/gateways/cleverbridge"
)

// rowID names a row as DESIGN.md and eventTable both say it.
func rowID(gateway, code, success string, decision eventDecision) string {
	if success == "" {
		success = "either"
	}
	return fmt.Sprintf("%s %s (success %s): %s", gateway, code, success, decision)
}

// TestDesignEventTableIsTheCodesTable compares DESIGN section 1's "Gateway
// events" table with eventTable, row by row and in order.
func TestDesignEventTableIsTheCodesTable(t *testing.T) {
	var design []string
	cols := map[string]int{}
	for _, line := range strings.Split(designSection(t, "### Gateway events", "## 2."), "\n") {
		if !strings.HasPrefix(line, "|") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if len(cols) == 0 {
			for _, name := range []string{"Gateway", "Event", "Success", "Decision"} {
				if cols[name] = slices.Index(cells, name); cols[name] < 0 {
					t.Fatalf("DESIGN.md Gateway events: the header %q lacks %s", line, name)
				}
			}
			continue
		}
		if strings.HasPrefix(cells[0], "---") {
			continue
		}
		design = append(design, rowID(cells[cols["Gateway"]], strings.Trim(cells[cols["Event"]], "`"),
			cells[cols["Success"]], eventDecision(cells[cols["Decision"]])))
	}
	var code []string
	for _, row := range eventTable {
		code = append(code, rowID(row.Gateway, row.Code, row.Success, row.Decision))
	}
	if !slices.Equal(design, code) {
		for _, r := range design {
			if !slices.Contains(code, r) {
				t.Errorf("DESIGN.md has row %q, eventTable does not", r)
			}
		}
		for _, r := range code {
			if !slices.Contains(design, r) {
				t.Errorf("eventTable has row %q, DESIGN.md does not", r)
			}
		}
		if !t.Failed() {
			t.Errorf("DESIGN.md and eventTable list the same rows in another order:\n%s\nvs\n%s", strings.Join(design, "\n"), strings.Join(code, "\n"))
		}
	}
}

// TestEventTable_HasARowForEveryAdyenEventCode: every eventCode of Adyen's
// Webhooks-v1.json, and every Cleverbridge notification type, finds one
// row for each outcome; the table names no code the gateways do not send;
// every row does what its decision says.
func TestEventTable_HasARowForEveryAdyenEventCode(t *testing.T) {
	if eventSubscriptionDeactivated != cleverbridge.EventSubscriptionDeactivated {
		t.Fatalf("flows' %q is not Cleverbridge's %q", eventSubscriptionDeactivated, cleverbridge.EventSubscriptionDeactivated)
	}
	if gatewayAdyen != adyen.Name || gatewayCleverbridge != cleverbridge.Name {
		t.Fatalf("gateway names %q, %q; the gateways are %q, %q", gatewayAdyen, gatewayCleverbridge, adyen.Name, cleverbridge.Name)
	}
	sent := map[string][]string{
		gatewayAdyen: webhookEventCodes(t),
		gatewayCleverbridge: {cleverbridge.EventPurchasePaid, cleverbridge.EventPurchaseDeclined, cleverbridge.EventPurchaseAwaitingPayment,
			cleverbridge.EventPurchaseRefunded, cleverbridge.EventSubscriptionDeactivated},
	}
	for gateway, codes := range sent {
		for _, code := range codes {
			for _, success := range []string{"true", "false"} {
				n := 0
				for _, row := range eventTable {
					if row.Gateway == gateway && row.Code == code && (row.Success == "" || row.Success == success) {
						n++
					}
				}
				if n != 1 {
					t.Errorf("%s %s success %s: %d rows, want 1", gateway, code, success, n)
				}
			}
		}
	}
	for _, row := range eventTable {
		if !slices.Contains(sent[row.Gateway], row.Code) {
			t.Errorf("row %s: %s sends no such event", row.Code, row.Gateway)
		}
		switch {
		case row.Decision != decideIgnore && row.handle == nil:
			t.Errorf("row %s %s: decision %s without a handler", row.Gateway, row.Code, row.Decision)
		case row.Cleeng != "" && row.Decision != decideCleeng:
			t.Errorf("row %s %s: a Cleeng change under decision %s", row.Gateway, row.Code, row.Decision)
		}
	}
}

// webhookEventCodes lists every eventCode enum value of Webhooks-v1.json.
func webhookEventCodes(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("../gateways/adyen/sandbox/openapi/Webhooks-v1.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]struct {
					Enum []string `json:"enum"`
				} `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	var codes []string
	for _, s := range doc.Components.Schemas {
		for _, c := range s.Properties["eventCode"].Enum {
			if !slices.Contains(codes, c) {
				codes = append(codes, c)
			}
		}
	}
	if len(codes) < 30 {
		t.Fatalf("Webhooks-v1.json lists %d event codes; the document changed shape", len(codes))
	}
	return codes
}
