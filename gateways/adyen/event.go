package adyen

import (
	"encoding/json"
	"fmt"

	"github.com/cleeng-connector/connector/gateways"
)

// DecodeEvent decodes one notification item as the ingress stored it (the
// item's JSON) into a gateways.Event, for the gateway-events flow.
func DecodeEvent(data []byte) (ev gateways.Event, err error) {
	var item Item
	if err := json.Unmarshal(data, &item); err != nil {
		return ev, fmt.Errorf("adyen notification item: %w", err)
	}
	return ToEvent(item)
}
