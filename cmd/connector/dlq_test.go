package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cleeng-connector/connector/internal/broker"
	"github.com/cleeng-connector/connector/internal/cli"
	"github.com/cleeng-connector/connector/internal/config"
	"github.com/cleeng-connector/connector/workers"
)

// A front-end checkout command: card data a dead letter may hold.
const cardPayload = `{"paymentMethod":{"type":"scheme","number":"4111111111111111","cvc":"737"}}`

// storeLetter stores a dead letter shaped as the workers runtime writes it.
func storeLetter(t *testing.T, b *broker.Broker, flow, subject, data string) uint64 {
	t.Helper()
	m := &nats.Msg{Subject: broker.SubjectDLQ + "." + flow, Data: []byte(data), Header: nats.Header{}}
	m.Header.Set("Connector-Received", "2025-01-02T03:04:05Z")
	m.Header.Set(workers.HeaderFlow, flow)
	m.Header.Set(workers.HeaderError, "flow "+flow+": gateway refused the request")
	m.Header.Set(workers.HeaderAttempts, "10")
	m.Header.Set(workers.HeaderOriginalSubject, subject)
	m.Header.Set(workers.HeaderOriginalMsgID, "original-"+flow)
	ack, err := b.JS.PublishMsg(t.Context(), m)
	if err != nil {
		t.Fatal(err)
	}
	return ack.Sequence
}

// runCLI runs `connector <name> args...` and returns its standard output.
func runCLI(t *testing.T, env map[string]string, name string, subs map[string]subcommand, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := dispatch(t.Context(), config.FromMap(env), name, subs, args, &out)
	return out.String(), err
}

func mustContain(t *testing.T, what, got string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, got)
		}
	}
}

// TestDLQCommand_ListShowReplayOnTheEmbeddedStore runs the commands as an
// operator would on a stopped single-process deployment: NATS_URL empty,
// the store in NATS_STORE_DIR.
func TestDLQCommand_ListShowReplayOnTheEmbeddedStore(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	b, err := broker.Open(t.Context(), broker.Options{StoreDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	storeLetter(t, b, "checkout", "checkout.payment", cardPayload)
	storeLetter(t, b, "refund", "cleeng.webhook.refundPayment", `{"topic":"refundPayment"}`)
	b.Close()
	env := map[string]string{"NATS_URL": "", "NATS_STORE_DIR": dir}

	out, err := runCLI(t, env, "dlq", dlqCommands, "list")
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, "dlq list", out, "SEQ", "1  ", "checkout.payment", "refund", "cleeng.webhook.refundPayment", "10", "gateway refused the request")
	if strings.Contains(out, "4111111111111111") {
		t.Errorf("dlq list prints the payload:\n%s", out)
	}
	if out, err = runCLI(t, env, "dlq", dlqCommands, "list", "--flow", "refund"); err != nil || strings.Contains(out, "checkout") {
		t.Errorf("dlq list --flow refund: %v\n%s", err, out)
	}

	out, err = runCLI(t, env, "dlq", dlqCommands, "show", "1")
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, "dlq show", out, "dead letter 1 of flow checkout", "Connector-Original-Subject: checkout.payment", "Connector-Received: 2025-01-02T03:04:05Z", "not shown (--payload")
	if strings.Contains(out, "4111111111111111") || strings.Contains(out, "737") {
		t.Errorf("dlq show without --payload prints card data:\n%s", out)
	}
	out, err = runCLI(t, env, "dlq", dlqCommands, "show", "1", "--payload")
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, "dlq show --payload", out, cardPayload)

	out, err = runCLI(t, env, "dlq", dlqCommands, "replay", "1")
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, "dlq replay 1", out, "replayed dead letter 1 of flow checkout to checkout.payment")
	if _, err := runCLI(t, env, "dlq", dlqCommands, "show", "1"); err == nil || !strings.Contains(err.Error(), "dead letter 1") {
		t.Errorf("dlq show of a replayed letter: %v, want an error naming dead letter 1", err)
	}
	out, err = runCLI(t, env, "dlq", dlqCommands, "replay", "--all")
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, "dlq replay --all", out, "dead letter 2 of flow refund to cleeng.webhook.refundPayment", "1 dead letters replayed")
	if out, err = runCLI(t, env, "dlq", dlqCommands, "list"); err != nil || !strings.Contains(out, "no dead letters") {
		t.Errorf("dlq list after replays: %v\n%s", err, out)
	}

	b, err = broker.Open(t.Context(), broker.Options{StoreDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	inbox, err := b.JS.Stream(t.Context(), broker.InboxStream)
	if err != nil {
		t.Fatal(err)
	}
	m, err := inbox.GetMsg(t.Context(), 0, jetstream.WithGetMsgSubject("checkout.payment"))
	if err != nil || string(m.Data) != cardPayload {
		t.Fatalf("inbox checkout.payment: %v, %v; want the payload as it was", m, err)
	}
}

func TestDLQCommand_BadArgumentsAreUsageErrors(t *testing.T) {
	t.Parallel()
	// No NATS configured: each must fail before connecting.
	env := map[string]string{"NATS_URL": "nats://127.0.0.1:1"}
	for _, args := range [][]string{
		{"nope"},
		{"list", "extra"},
		{"show"},
		{"show", "abc"},
		{"show", "0"},
		{"replay"},
		{"replay", "1", "--all"},
		{"replay", "1", "--flow", "refund"},
		{"replay", "--bogus"},
	} {
		_, err := runCLI(t, env, "dlq", dlqCommands, args...)
		if !errors.As(err, new(cli.UsageError)) {
			t.Errorf("dlq %q: %v, want a usage error", args, err)
		}
	}
}

func TestDLQCommand_AloneSaysPayloadNeedsTheFlag(t *testing.T) {
	t.Parallel()
	out, err := runCLI(t, nil, "dlq", dlqCommands)
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, "connector dlq", out, "list [--flow f]", "show <seq> [--payload]", "card data", "replay <seq> | --all")
}
