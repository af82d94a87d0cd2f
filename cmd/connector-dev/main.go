// Command connector-dev is the connector's development binary: `dev` runs
// the whole connector in one process against the sandboxes, `sandbox`
// serves the sandboxes alone (for a connector running elsewhere, as in
// docker-compose.yml), and `demo` walks a subscription through every
// function. It holds what the production binary, cmd/connector, must not:
// the sandboxes of Cleeng, Adyen and Cleverbridge, their fault injection and
// Adyen's OpenAPI documents with their validator.
package main

import (
	"os"

	"github.com/cleeng-connector/connector/internal/cli"
	"github.com/cleeng-connector/connector/internal/config"
)

var commands = map[string]cli.Command{
	"chaos":           {Summary: "the connector as OS processes under a seeded fault schedule over a population of subscriptions; checks that every effect happened once (make chaos)", Run: runChaos},
	"compose-secrets": {Summary: "make the NATS certificates (.compose/certs) and the env file (.env, from .env.example) docker-compose.yml reads, where absent", Run: runComposeSecrets},
	"demo":            {Summary: "walk a subscription through every function against a running dev stack (or one of its own)", Role: config.RoleDev, Run: runDemo},
	"dev":             {Summary: "embedded NATS, ingress, every worker and the sandboxes in one process", Role: config.RoleDev, Run: runDev},
	"sandbox":         {Summary: "the Cleeng, Adyen and Cleverbridge sandboxes alone, sending webhooks to SANDBOX_INGRESS_URL", Role: config.RoleSandbox, Run: runSandbox},
}

func main() {
	os.Exit(cli.Main("connector-dev", commands, os.Args[1:], os.Stdout, os.Stderr))
}
