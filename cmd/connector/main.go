// Command connector is the Cleeng payments connector in production: one
// binary whose subcommand chooses the role, so the same image runs N ingress
// and M worker replicas, and an operator's commands (cleeng, dlq, ops, reconcile) and console. The
// development stack, the sandboxes and the demo are in cmd/connector-dev.
package main

import (
	"os"

	"github.com/cleeng-connector/connector/internal/cli"
	"github.com/cleeng-connector/connector/internal/config"
)

var commands = map[string]cli.Command{
	"cleeng":    {Summary: "Cleeng set-up: subscribe --url <ingress>/webhooks/cleeng registers the connector's webhooks", Role: config.RoleCleeng, Run: subcommands("cleeng", cleengCommands)},
	"console":   {Summary: "the operator console on CONSOLE_ADDR (loopback): dead letters and their replay, operations, timelines, NATS health", Role: config.RoleConsole, Run: runConsole},
	"dlq":       {Summary: "dead letters: list [--flow f], show <seq> [--payload: prints card data/tokens], replay <seq>|--all [--flow f]", Role: config.RoleDLQ, Run: subcommands("dlq", dlqCommands)},
	"ingress":   {Summary: "the HTTP ingress: stores webhooks and checkout calls on JetStream", Role: config.RoleIngress, Run: runIngress},
	"ops":       {Summary: "operation records: show <key> (secrets redacted), list [--prefix p] [--status s]", Role: config.RoleOps, Run: subcommands("ops", opsCommands)},
	"reconcile": {Summary: "lists every drift between the gateways' records, Cleeng's payments and the operation records, with the action to take: --from <time> [--to <time>] --cleeng-payments <file|URL> [--adyen-report <file|URL>] [--cleverbridge-purchases <file|URL>] [--json]; exit 1 on drift", Role: config.RoleReconcile, Run: runReconcile},
	"worker":    {Summary: "durable workers for the flows in --flows (default: WORKER_FLOWS, else all)", Role: config.RoleWorker, Run: runWorker},
}

func main() {
	os.Exit(cli.Main("connector", commands, os.Args[1:], os.Stdout, os.Stderr))
}
