// Package config reads the connector's configuration from the environment
// (DESIGN section 7), validates it at start, and names the variable at fault
// when a value is missing or malformed. Every variable is declared once, in
// the Vars table, with its default and its documentation; --help prints it.
package config

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Var is one environment variable.
type Var struct {
	Name    string
	Default string
	Secret  bool // never printed
	Help    string
	// Roles lists the subcommands reading the variable ("" in the list: all).
	Roles []string
}

// Role names, as the subcommands of cmd/connector (dev and sandbox: of
// cmd/connector-dev).
const (
	RoleDev       = "dev"
	RoleIngress   = "ingress"
	RoleWorker    = "worker"
	RoleSandbox   = "sandbox"
	RoleDLQ       = "dlq"
	RoleOps       = "ops"
	RoleCleeng    = "cleeng"
	RoleConsole   = "console"
	RoleReconcile = "reconcile"
)

var (
	all     = []string{RoleDev, RoleIngress, RoleWorker}
	ingress = []string{RoleDev, RoleIngress}
	worker  = []string{RoleDev, RoleWorker}
	anyRole = []string{RoleDev, RoleIngress, RoleWorker, RoleSandbox, RoleConsole}
	devOnly = []string{RoleDev}
	// The roles and the operator commands reaching JetStream, or Cleeng's API.
	natsRoles = []string{RoleDev, RoleIngress, RoleWorker, RoleDLQ, RoleOps, RoleConsole, RoleReconcile}
	cleengAPI = []string{RoleDev, RoleWorker, RoleCleeng}
)

// Vars documents every variable. Order is the order of --help.
var Vars = []Var{
	{Name: "NATS_URL", Help: "NATS server URLs, comma-separated; empty starts an embedded JetStream server (on NATS_STORE_DIR, which no other process may hold). Credentials go in NATS_USER and NATS_PASSWORD, not here: a URL is printed (with any password redacted)", Roles: natsRoles},
	{Name: "NATS_USER", Help: "NATS user (with NATS_PASSWORD)", Roles: natsRoles},
	{Name: "NATS_PASSWORD", Secret: true, Help: "password of NATS_USER", Roles: natsRoles},
	{Name: "NATS_NKEY_SEED_FILE", Help: "file holding an NKey user seed to authenticate with, instead of NATS_USER", Roles: natsRoles},
	{Name: "NATS_CREDS_FILE", Help: "NATS .creds file (user JWT and seed) to authenticate with, instead of NATS_USER", Roles: natsRoles},
	{Name: "NATS_TLS_CA", Help: "PEM file of the CAs that sign the NATS servers' certificates; setting it requires TLS (a tls:// URL does too, with the system's CAs)", Roles: natsRoles},
	{Name: "NATS_TLS_CERT", Help: "PEM client certificate for NATS servers that verify clients (with NATS_TLS_KEY)", Roles: natsRoles},
	{Name: "NATS_TLS_KEY", Help: "PEM key of NATS_TLS_CERT", Roles: natsRoles},
	{Name: "NATS_ALLOW_PLAINTEXT", Default: "false", Help: "let a production role reach a NATS_URL that is not on loopback without TLS, when the network is protected another way; otherwise it refuses to start (dev always may)", Roles: []string{RoleIngress, RoleWorker, RoleDLQ, RoleOps, RoleConsole, RoleReconcile}},
	{Name: "NATS_STORE_DIR", Default: "./data/nats", Help: "embedded JetStream storage directory", Roles: natsRoles},
	{Name: "NATS_EMBEDDED_PORT", Default: "4222", Help: "port of the embedded NATS server (NATS_URL empty) on 127.0.0.1, where the operator commands reach it with NATS_URL=nats://127.0.0.1:<port>; 0 picks a free one. It has no authentication, so it never listens beyond loopback", Roles: all},
	{Name: "NATS_REPLICAS", Default: "1", Help: "replicas of streams and the KV buckets (3 on a cluster)", Roles: natsRoles},
	{Name: "NATS_DUPLICATE_WINDOW", Default: "1h", Help: "inbox de-duplication window", Roles: natsRoles},
	{Name: "NATS_INDEX_TTL", Default: "17520h", Help: "how long a payment's index entry is kept: refunds and chargebacks (up to ~540 days later) must find its gateway", Roles: natsRoles},
	{Name: "NATS_OPS_TTL", Default: "840h", Help: "how long an operation record is kept after its last write: longer than Adyen's 30 days of notification retries, CLEENG_DUNNING_MAX_AGE and NATS_DLQ_MAX_AGE", Roles: natsRoles},
	{Name: "NATS_INBOX_MAX_AGE", Default: "720h", Help: "an event no flow took within this expires from the inbox", Roles: natsRoles},
	{Name: "NATS_INBOX_MAX_BYTES", Default: "1073741824", Help: "inbox size limit; when full the ingress answers 503 (senders re-send) and nothing stored is dropped", Roles: natsRoles},
	{Name: "NATS_DLQ_MAX_AGE", Default: "720h", Help: "a dead letter expires after this; shorter than NATS_OPS_TTL, so a replayed letter always finds its operation record", Roles: natsRoles},
	{Name: "NATS_DLQ_MAX_BYTES", Default: "1073741824", Help: "dead-letter stream size limit; when full, messages wait in the inbox instead of being dead-lettered", Roles: natsRoles},
	{Name: "METRICS_ADDR", Help: "where /metrics is served; empty: on INGRESS_ADDR (ingress) or WORKER_ADDR (worker)", Roles: []string{RoleIngress, RoleWorker}},
	{Name: "INGRESS_ADDR", Default: ":8080", Help: "ingress listen address", Roles: ingress},
	{Name: "INGRESS_MAX_BODY_BYTES", Default: "65536", Help: "largest request body accepted", Roles: ingress},
	{Name: "INGRESS_MAX_WAITS", Default: "1000", Help: "checkout calls waiting for their outcome at once; past it a call is answered 429 and nothing is stored", Roles: ingress},
	{Name: "INGRESS_SYNC_WAIT", Default: "5s", Help: "how long a checkout call waits for its outcome before answering 202", Roles: ingress},
	{Name: "CORS_ORIGINS", Help: "comma-separated origins allowed to call the checkout endpoints", Roles: ingress},
	{Name: "CHECKOUT_RETURN_ORIGINS", Help: "comma-separated origins (scheme://host[:port]) a front-end's returnUrl and origin may name; empty: none (the gateway's configured return URL is used)", Roles: []string{RoleIngress}},
	{Name: "INGRESS_TRUSTED_PROXIES", Help: "comma-separated addresses or CIDRs of proxies whose X-Forwarded-For names the shopper's address; empty: the connection's address is the shopper's", Roles: []string{RoleIngress}},
	{Name: "CLEENG_API_URL", Default: "https://api.sandbox.cleeng.com/3.1", Help: "Cleeng Payment API base URL", Roles: cleengAPI},
	{Name: "CLEENG_PUBLISHER_TOKEN", Secret: true, Help: "Cleeng publisher token (X-Publisher-Token)", Roles: cleengAPI},
	{Name: "CLEENG_MAX_CONNECTIONS", Default: "64", Help: "connections a worker process opens to the Cleeng API at most, and so its calls in flight there; a call beyond them waits for one", Roles: []string{RoleWorker}},
	{Name: "CLEENG_PUBLISHER_ID", Help: "your Cleeng publisher id: the broadcasterId every Cleeng webhook must carry and the publisherId of customer tokens (required)", Roles: ingress},
	{Name: "CLEENG_JWKS_URL", Help: "Cleeng's JWKS, the keys of the customer JWTs that authenticate front-end calls (sandbox: https://auth.api.sandbox.cleeng.com/.well-known/jwks.json); required by the ingress, with CLEENG_PUBLISHER_ID", Roles: []string{RoleIngress}},
	{Name: "CLEENG_WEBHOOK_SECRET", Secret: true, Help: "HMAC-SHA256 secret of Cleeng webhooks (16-64 bytes); required unless CLEENG_WEBHOOKS_AUTHENTICATED_UPSTREAM", Roles: ingress},
	{Name: "CLEENG_WEBHOOKS_AUTHENTICATED_UPSTREAM", Default: "false", Help: "true: a proxy in front of the ingress authenticates Cleeng's webhooks, which the ingress then takes without CLEENG_WEBHOOK_SECRET", Roles: []string{RoleIngress}},
	{Name: "CLEENG_DUNNING_MAX_AGE", Default: "72h", Help: "a dunning webhook whose dunningAttemptDate is older is refused (422) and charges nothing; with CLEENG_DUNNING_MAX_AHEAD shorter than NATS_OPS_TTL, so no replay ever charges twice", Roles: []string{RoleIngress}},
	{Name: "CLEENG_DUNNING_MAX_AHEAD", Default: "10m", Help: "a dunning webhook whose dunningAttemptDate is further ahead of the ingress's clock is refused (422)", Roles: []string{RoleIngress}},
	{Name: "CLEENG_WEBHOOK_SIGNATURE_HEADER", Default: "X-Cleeng-Signature", Help: "header carrying the webhook signature", Roles: ingress},
	{Name: "ADYEN_API_KEY", Secret: true, Help: "Adyen API key", Roles: worker},
	{Name: "ADYEN_MERCHANT_ACCOUNT", Help: "Adyen merchant account", Roles: worker},
	{Name: "ADYEN_ENVIRONMENT", Default: "test", Help: "test or live", Roles: worker},
	{Name: "ADYEN_LIVE_PREFIX", Help: "live endpoint URL prefix (required when live)", Roles: worker},
	{Name: "ADYEN_CHECKOUT_URL", Help: "override of the Checkout base URL (for the sandbox)", Roles: worker},
	{Name: "ADYEN_HMAC_KEYS", Secret: true, Help: "comma-separated hex HMAC keys of Adyen notifications (two during rotation); required when PAYMENT_METHODS names adyen", Roles: ingress},
	{Name: "ADYEN_WEBHOOK_USERNAME", Help: "basic-auth user of Adyen notifications", Roles: ingress},
	{Name: "ADYEN_WEBHOOK_PASSWORD", Secret: true, Help: "basic-auth password of Adyen notifications", Roles: ingress},
	{Name: "ADYEN_RETURN_URL", Help: "shopper return URL after a redirect or 3-D Secure", Roles: worker},
	{Name: "ADYEN_ALLOWED_PAYMENT_METHODS", Default: "scheme,applepay,googlepay,paypal,sepadirectdebit,ideal", Help: "comma-separated Adyen payment method types the payment-methods call offers (Adyen's allowedPaymentMethods): the ones the flows pay are cards (scheme), Apple Pay, Google Pay, PayPal, SEPA Direct Debit and iDEAL", Roles: worker},
	{Name: "ADYEN_CLIENT_KEY", Help: "Adyen client key Drop-in uses (test_… or live_…), answered by /connectors/adyen/payment-methods; without it that call answers an error naming it", Roles: []string{RoleIngress}},
	{Name: "ADYEN_CLIENT_REGION", Help: "Adyen's front-end environment answered with ADYEN_CLIENT_KEY: test, live, live-us, live-au, live-apse or live-in (a test_ key goes with test only)", Roles: []string{RoleIngress}},
	{Name: "ADYEN_SHOPPER_STATEMENT", Help: "merchant name Apple Pay and Google Pay show, answered by /connectors/adyen/payment-methods", Roles: []string{RoleIngress}},
	{Name: "CLEVERBRIDGE_API_URL", Help: "Cleverbridge REST API base URL", Roles: worker},
	{Name: "CLEVERBRIDGE_USERNAME", Help: "Cleverbridge API user (also checks its notifications: required by the ingress when PAYMENT_METHODS names cleverbridge)", Roles: all},
	{Name: "CLEVERBRIDGE_PASSWORD", Secret: true, Help: "Cleverbridge API password (also checks its notifications)", Roles: all},
	{Name: "CLEVERBRIDGE_PRODUCT_ID", Help: "Cleverbridge product id used for renewals", Roles: worker},
	{Name: "CLEVERBRIDGE_MODE", Default: "non-interactive", Help: "ProcessCartMode: interactive or non-interactive", Roles: worker},
	{Name: "ADYEN_RATE_LIMIT", Default: "100", Help: "calls per second to Adyen over the whole deployment, each of WORKER_REPLICAS workers taking an equal share; a call past it waits its turn and never fails for it", Roles: []string{RoleWorker}},
	{Name: "ADYEN_RATE_BURST", Default: "20", Help: "calls to Adyen that may go out at once after a quiet spell, over the whole deployment (each worker at least 1)", Roles: []string{RoleWorker}},
	{Name: "ADYEN_BREAKER_FAILURES", Default: "5", Help: "failed calls to Adyen in a row (5xx, 429, timeouts, no answer; not refusals or other 4xx) that open its circuit breaker: calls then wait for redelivery, unsent", Roles: []string{RoleWorker}},
	{Name: "ADYEN_BREAKER_COOLDOWN", Default: "30s", Help: "how long Adyen's open circuit breaker refuses calls before it lets one probe through", Roles: []string{RoleWorker}},
	{Name: "CLEVERBRIDGE_RATE_LIMIT", Default: "5", Help: "Process Cart calls per second over the whole deployment, each of WORKER_REPLICAS workers taking an equal share; conservative, as Cleverbridge asks to be contacted before calling it often; a call past it waits its turn and never fails for it", Roles: []string{RoleWorker}},
	{Name: "CLEVERBRIDGE_RATE_BURST", Default: "1", Help: "Process Cart calls that may go out at once after a quiet spell, over the whole deployment (each worker at least 1)", Roles: []string{RoleWorker}},
	{Name: "CLEVERBRIDGE_BREAKER_FAILURES", Default: "5", Help: "failed Process Cart calls in a row (5xx, 429, timeouts, no answer; not refusals or other 4xx) that open Cleverbridge's circuit breaker", Roles: []string{RoleWorker}},
	{Name: "CLEVERBRIDGE_BREAKER_COOLDOWN", Default: "30s", Help: "how long Cleverbridge's open circuit breaker refuses calls before it lets one probe through", Roles: []string{RoleWorker}},
	{Name: "CLEVERBRIDGE_NOTIFICATION_TIMEOUT", Default: "1h", Help: "how long a renewal whose Process Cart answer was lost (or is pending offline) waits for the purchase notification", Roles: worker},
	{Name: "PAYMENT_METHOD_TYPES", Help: "paymentMethodId=type pairs naming the gateway method types each Cleeng paymentMethodId pays with, several joined by |, e.g. 123876433=applepay,123876436=sepadirectdebit; an order's payment-methods answer offers only those and a payment of another type is refused; an id not named takes every type", Roles: worker},
	{Name: "EXTERNALLY_MANAGED_METHODS", Help: "comma-separated Cleeng paymentMethodIds (each also in PAYMENT_METHODS) whose gateway bills by itself: the connector only mirrors their gateway events in Cleeng (subscription created, payments recorded, refunds, cancellation); empty: none", Roles: worker},
	{Name: "PAYMENT_METHODS", Help: "paymentMethodId=gateway pairs, e.g. 123876432=adyen,555001=cleverbridge; the ingress requires the notification credentials of every gateway named", Roles: all},
	{Name: "DEACTIVATE_DELETE_DETAILS", Default: "false", Help: "on paymentDetailsDeactivated, also delete the old token at the gateway and the old Cleeng payment details", Roles: worker},
	{Name: "ZERO_AUTH_CURRENCY", Default: "EUR", Help: "currency of the zero-amount authorisation that validates a new card", Roles: worker},
	{Name: "WORKER_ADDR", Default: ":9090", Help: "where a worker serves /healthz, /readyz and /metrics", Roles: []string{RoleWorker}},
	{Name: "WORKER_FLOWS", Help: "comma-separated flows this worker runs; empty runs all", Roles: worker},
	{Name: "WORKER_ACK_WAIT", Default: "30s", Help: "a message whose worker stops reporting progress (it reports every third of this) is redelivered after this; also the lease of its operation claims, so a killed worker's operations resume within about this", Roles: worker},
	{Name: "WORKER_RETRY_SCHEDULE", Default: "1s,5s,30s,2m,10m,1h,4h", Help: "comma-separated waits before redelivering a message after its 1st, 2nd, ... failed delivery, the last repeating; a transient failure is dead-lettered after 10 deliveries once the message is as old as the schedule takes to give them (about 13 hours with the default)", Roles: worker},
	{Name: "WORKER_REPLICAS", Default: "1", Help: "worker replicas of the deployment: each takes an equal share of every gateway's rate limit (ADYEN_RATE_LIMIT, CLEVERBRIDGE_RATE_LIMIT); set it with the replica count, or the deployment calls a gateway faster than its limit", Roles: []string{RoleWorker}},
	{Name: "WORKER_CONCURRENCY", Default: "64", Help: "in-flight messages per flow (renewals/s at a gateway of latency L is about this / L)", Roles: worker},
	{Name: "CONSOLE_ADDR", Default: "127.0.0.1:8070", Help: "where the operator console listens: a loopback address (it serves plain HTTP; reach it through a tunnel or a TLS proxy beside it)", Roles: []string{RoleDev, RoleConsole}},
	{Name: "CONSOLE_USER", Help: "the operator console's user (HTTP Basic); required by connector console", Roles: []string{RoleConsole}},
	{Name: "CONSOLE_PASSWORD", Secret: true, Help: "the operator console's password, at least 16 characters; required by connector console", Roles: []string{RoleConsole}},
	{Name: "ADYEN_REPORT_API_KEY", Secret: true, Help: "API key of Adyen's report user, sent as X-API-Key when connector reconcile downloads --adyen-report from a URL", Roles: []string{RoleReconcile}},
	{Name: "LOG_LEVEL", Default: "info", Help: "debug, info, warn, error", Roles: anyRole},
	{Name: "LOG_FORMAT", Default: "console", Help: "json or console", Roles: anyRole},
	{Name: "SANDBOX_INGRESS_URL", Default: "http://127.0.0.1:8080", Help: "the connector ingress the sandboxes send webhooks and notifications to", Roles: []string{RoleSandbox}},
	{Name: "SANDBOX_ADYEN_CONTRACT", Default: "false", Help: "check every Adyen request, successful answer and notification against Adyen's OpenAPI documents: a request that does not conform is answered 422, and every violation is listed in /adyen/sandbox/state", Roles: []string{RoleSandbox}},
	{Name: "CONNECTOR_DEV_SANDBOX_ADDR", Default: "127.0.0.1:8090", Help: "where dev and sandbox serve the sandboxes", Roles: append(devOnly, RoleSandbox)},
}

// Env reads variables with their defaults and collects every problem, so
// one start reports all of them at once.
type Env struct {
	lookup func(string) (string, bool)
	errs   []error
}

// FromOS reads the process environment.
func FromOS() *Env { return &Env{lookup: os.LookupEnv} }

// FromMap reads a fixed map (tests).
func FromMap(m map[string]string) *Env {
	return &Env{lookup: func(k string) (string, bool) { v, ok := m[k]; return v, ok }}
}

func (e *Env) raw(name string) string {
	if v, ok := e.lookup(name); ok && v != "" {
		return v
	}
	for _, v := range Vars {
		if v.Name == name {
			return v.Default
		}
	}
	panic("config: undeclared variable " + name)
}

func (e *Env) fail(name, format string, args ...any) {
	e.errs = append(e.errs, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
}

// String returns the value or its default.
func (e *Env) String(name string) string { return e.raw(name) }

// Required returns the value, recording an error when it is empty.
func (e *Env) Required(name string) string {
	v := e.raw(name)
	if v == "" {
		e.fail(name, "required")
	}
	return v
}

// Int parses a positive integer.
func (e *Env) Int(name string) int {
	v := e.raw(name)
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		e.fail(name, "%q is not a positive integer", v)
	}
	return n
}

// Float parses a positive number such as 2.5.
func (e *Env) Float(name string) float64 {
	v := e.raw(name)
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || !(f > 0) || math.IsInf(f, 0) {
		e.fail(name, "%q is not a positive number", v)
	}
	return f
}

// Bool parses true or false.
func (e *Env) Bool(name string) bool {
	v := e.raw(name)
	b, err := strconv.ParseBool(v)
	if err != nil {
		e.fail(name, "%q is not true or false", v)
	}
	return b
}

// Duration parses a Go duration such as "5s".
func (e *Env) Duration(name string) time.Duration {
	v := e.raw(name)
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		e.fail(name, "%q is not a positive duration like 5s", v)
	}
	return d
}

// Durations parses a comma-separated list of positive Go durations.
func (e *Env) Durations(name string) []time.Duration {
	var out []time.Duration
	for _, item := range e.List(name) {
		d, err := time.ParseDuration(item)
		if err != nil || d <= 0 {
			e.fail(name, "%q is not a positive duration like 5s", item)
			continue
		}
		out = append(out, d)
	}
	if len(out) == 0 {
		e.fail(name, "no durations: give at least one, like 1s,5s,30s")
	}
	return out
}

// URL parses an absolute http(s) URL; empty stays empty.
func (e *Env) URL(name string) string {
	v := e.raw(name)
	if v == "" {
		return ""
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "nats" && u.Scheme != "tls") || u.Host == "" {
		e.fail(name, "%q is not an absolute URL", RedactURL(v))
	}
	return strings.TrimRight(v, "/")
}

// URLs parses a comma-separated list of absolute URLs (NATS_URL's form:
// every server of a cluster); empty stays empty.
func (e *Env) URLs(name string) string {
	var urls []string
	for _, item := range e.List(name) {
		u, err := url.Parse(item)
		if err != nil || u.Scheme == "" || u.Host == "" {
			e.fail(name, "%q is not an absolute URL", RedactURL(item))
			continue
		}
		urls = append(urls, strings.TrimRight(item, "/"))
	}
	return strings.Join(urls, ",")
}

// OneOf returns the value when it is one of allowed.
func (e *Env) OneOf(name string, allowed ...string) string {
	v := e.raw(name)
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	e.fail(name, "%q is not one of %s", v, strings.Join(allowed, ", "))
	return v
}

// List splits a comma-separated value, dropping empty items.
func (e *Env) List(name string) []string {
	var out []string
	for _, s := range strings.Split(e.raw(name), ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Origins parses a list of web origins, scheme://host[:port] with an http
// or https scheme and nothing after the host, lower-cased as browsers send them.
func (e *Env) Origins(name string) []string {
	var out []string
	for _, item := range e.List(name) {
		u, err := url.Parse(item)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
			strings.TrimSuffix(u.Path, "/") != "" || u.RawQuery != "" || u.Fragment != "" {
			e.fail(name, "%q is not an origin like https://shop.example.com", item)
			continue
		}
		out = append(out, strings.ToLower(u.Scheme+"://"+u.Host))
	}
	return out
}

// Prefixes parses a list of IP addresses and CIDR prefixes.
func (e *Env) Prefixes(name string) []netip.Prefix {
	var out []netip.Prefix
	for _, item := range e.List(name) {
		p, err := netip.ParsePrefix(item)
		if err != nil {
			addr, aerr := netip.ParseAddr(item)
			if aerr != nil {
				e.fail(name, "%q is not an IP address or a CIDR prefix", item)
				continue
			}
			p = netip.PrefixFrom(addr.Unmap(), addr.Unmap().BitLen())
		}
		out = append(out, p.Masked())
	}
	return out
}

// Pairs parses "k=v,k2=v2".
func (e *Env) Pairs(name string) map[string]string {
	out := map[string]string{}
	for _, item := range e.List(name) {
		k, v, ok := strings.Cut(item, "=")
		if !ok || strings.TrimSpace(k) == "" || strings.TrimSpace(v) == "" {
			e.fail(name, "%q is not a key=value pair", item)
			continue
		}
		out[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return out
}

// Check records an error for name when ok is false.
func (e *Env) Check(name string, ok bool, format string, args ...any) {
	if !ok {
		e.fail(name, format, args...)
	}
}

// Err returns every problem found, joined, or nil.
func (e *Env) Err() error { return errors.Join(e.errs...) }

// PrintHelp writes the variables a role reads, with defaults.
func PrintHelp(w io.Writer, role string) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VARIABLE\tDEFAULT\tMEANING")
	for _, v := range Vars {
		for _, r := range v.Roles {
			if r == role {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", v.Name, v.Default, v.Help)
				break
			}
		}
	}
	_ = tw.Flush()
}

// Markdown renders the whole table for the README.
func Markdown(w io.Writer) {
	fmt.Fprintln(w, "| Variable | Default | Meaning | Read by |")
	fmt.Fprintln(w, "|---|---|---|---|")
	for _, v := range Vars {
		def := v.Default
		if def != "" {
			def = "`" + def + "`"
		}
		fmt.Fprintf(w, "| `%s` | %s | %s | %s |\n", v.Name, def, v.Help, strings.Join(v.Roles, ", "))
	}
}
