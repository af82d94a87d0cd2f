package cleeng

import (
	"context"
	"fmt"

	"github.com/cleeng-connector/connector/internal/failure"
)

// Subscribe registers url for each topic: it reads every topic's endpoints,
// and for a topic whose list lacks url it PUTs the list with url added,
// keeping the endpoints other systems registered. It returns one line per
// change ("<topic>: added <url>"); a second run changes nothing and returns
// none. Topics are registered as given: pass RequiredTopics for the
// connector's set.
func Subscribe(ctx context.Context, client *Client, url string, topics []string) (changes []string, err error) {
	if url == "" {
		return nil, failure.Permanentf("cleeng subscribe: empty webhook URL")
	}
	current, err := client.WebhookSubscriptions(ctx)
	if err != nil {
		return nil, fmt.Errorf("cleeng subscribe: %w", err)
	}
	for _, topic := range topics {
		endpoints := current[topic]
		if hasURL(endpoints, url) {
			continue
		}
		updated := append(append([]WebhookEndpoint(nil), endpoints...), WebhookEndpoint{URL: url})
		if _, err := client.PutWebhookSubscription(ctx, topic, updated); err != nil {
			return changes, fmt.Errorf("cleeng subscribe %s: %w", topic, err)
		}
		changes = append(changes, fmt.Sprintf("%s: added %s", topic, url))
	}
	return changes, nil
}

func hasURL(endpoints []WebhookEndpoint, url string) bool {
	for _, e := range endpoints {
		if e.URL == url {
			return true
		}
	}
	return false
}
