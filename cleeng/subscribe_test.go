package cleeng_test

import (
	"testing"

	"github.com/cleeng-connector/connector/cleeng"
)

func TestSubscribe_TwiceLeavesOneEndpointPerTopicAndKeepsForeign(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	foreign := cleeng.WebhookEndpoint{URL: "https://other-system.example/cleeng"}
	if _, err := e.client.PutWebhookSubscription(ctx(t), string(cleeng.TopicRefundPayment), []cleeng.WebhookEndpoint{foreign}); err != nil {
		t.Fatal(err)
	}
	const ours = "https://connector.example/webhooks/cleeng"
	changes, err := cleeng.Subscribe(ctx(t), e.client, ours, cleeng.RequiredTopics)
	if err != nil || len(changes) != len(cleeng.RequiredTopics) {
		t.Fatalf("first run: %v, %v", changes, err)
	}
	changes, err = cleeng.Subscribe(ctx(t), e.client, ours, cleeng.RequiredTopics)
	if err != nil || len(changes) != 0 {
		t.Fatalf("second run changed %v, %v", changes, err)
	}
	hooks := e.sb.State().WebhookSubscriptions
	for _, topic := range cleeng.RequiredTopics {
		n := 0
		for _, ep := range hooks[topic] {
			if ep.URL == ours {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s: our URL registered %d times", topic, n)
		}
	}
	if refund := hooks[string(cleeng.TopicRefundPayment)]; len(refund) != 2 || refund[0].URL != foreign.URL {
		t.Errorf("refundPayment endpoints = %+v, want the foreign one kept", refund)
	}
}
