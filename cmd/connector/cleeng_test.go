package main

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cleeng-connector/connector/cleeng"
	"github.com/cleeng-connector/connector/cleeng/sandbox"
	"github.com/cleeng-connector/connector/internal/cli"
)

func TestCleengSubscribe_RegistersEveryTopicThenHasNothingToChange(t *testing.T) {
	t.Parallel()
	const token = "publisher-token-for-the-test"
	sb := sandbox.New(sandbox.Options{PublisherToken: token})
	srv := httptest.NewServer(sb.Handler())
	t.Cleanup(func() { srv.Close(); sb.Close() })
	env := map[string]string{"CLEENG_API_URL": srv.URL + "/3.1", "CLEENG_PUBLISHER_TOKEN": token}
	const hook = "https://connector.example/webhooks/cleeng"

	out, err := runCLI(t, env, "cleeng", cleengCommands, "subscribe", "--url", hook)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != len(cleeng.RequiredTopics) {
		t.Fatalf("first run printed %d changes, want one per topic (%d):\n%s", len(lines), len(cleeng.RequiredTopics), out)
	}
	for i, topic := range cleeng.RequiredTopics {
		if want := topic + ": added " + hook; lines[i] != want {
			t.Errorf("change %d = %q, want %q", i, lines[i], want)
		}
		if eps := sb.State().WebhookSubscriptions[topic]; len(eps) != 1 || eps[0].URL != hook {
			t.Errorf("sandbox %s endpoints = %+v, want the hook", topic, eps)
		}
	}

	out, err = runCLI(t, env, "cleeng", cleengCommands, "subscribe", "--url", hook)
	if err != nil || out != "nothing to change\n" {
		t.Errorf("second run: %v, %q; want \"nothing to change\"", err, out)
	}
	if strings.Contains(out, token) {
		t.Error("the publisher token is printed")
	}
}

func TestCleengCommand_UsageAndMissingSettings(t *testing.T) {
	t.Parallel()
	out, err := runCLI(t, nil, "cleeng", cleengCommands)
	if err != nil || !strings.Contains(out, "subscribe --url <public ingress URL>/webhooks/cleeng") {
		t.Errorf("connector cleeng: %v\n%s", err, out)
	}
	for _, args := range [][]string{{"subscribe"}, {"subscribe", "--url", "/webhooks/cleeng"}, {"subscribe", "x", "--url", "https://a.example"}, {"unsubscribe"}} {
		if _, err := runCLI(t, nil, "cleeng", cleengCommands, args...); !errors.As(err, new(cli.UsageError)) {
			t.Errorf("cleeng %q: %v, want a usage error", args, err)
		}
	}
	_, err = runCLI(t, map[string]string{"CLEENG_API_URL": "http://127.0.0.1:1/3.1"}, "cleeng", cleengCommands, "subscribe", "--url", "https://a.example/webhooks/cleeng")
	if err == nil || !strings.Contains(err.Error(), "CLEENG_PUBLISHER_TOKEN") {
		t.Errorf("subscribe without a token: %v, want an error naming CLEENG_PUBLISHER_TOKEN", err)
	}
}
