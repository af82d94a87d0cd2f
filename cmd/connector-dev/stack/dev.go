package stack

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/cleeng-connector/connector/cleeng"
	"github.com/cleeng-connector/connector/cmd/connector/console"
	"github.com/cleeng-connector/connector/cmd/connector/roles"
	"github.com/cleeng-connector/connector/flows"
	"github.com/cleeng-connector/connector/gateways/adyen"
	"github.com/cleeng-connector/connector/gateways/cleverbridge"
	"github.com/cleeng-connector/connector/gateways/guard"
	"github.com/cleeng-connector/connector/ingress"
	"github.com/cleeng-connector/connector/internal/broker"
	"github.com/cleeng-connector/connector/internal/cli"
	"github.com/cleeng-connector/connector/workers"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// Development credentials shared by the sandboxes and the connector in
// `connector-dev dev`. They open nothing but the local sandboxes.
const (
	DevPublisherToken  = "dev-publisher-token"
	DevPublisherID     = "100001"
	DevAdyenAPIKey     = "dev-adyen-api-key"
	DevMerchantAccount = "DevMerchantECOM"
	DevHMACKey         = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056"
	DevWebhookUser     = "adyen"
	DevWebhookPassword = "dev-webhook-password"
	// DevPaymentMethodAdyen is the Cleeng paymentMethodId routed to Adyen
	// for cards (and any other method Drop-in offers: DevPaymentMethodTypes
	// names no types for it).
	DevPaymentMethodAdyen = "123876432"
	// The Cleeng paymentMethodIds of the other methods paid through Adyen,
	// one each, so a broadcaster tells in Cleeng which method a
	// subscription uses (DevPaymentMethodTypes).
	DevPaymentMethodApplePay  = "123876433"
	DevPaymentMethodGooglePay = "123876434"
	DevPaymentMethodPayPal    = "123876435"
	DevPaymentMethodSEPA      = "123876436"
	DevPaymentMethodIdeal     = "123876437"
	// DevPaymentMethodCleverbridge is the Cleeng paymentMethodId routed to Cleverbridge.
	DevPaymentMethodCleverbridge = "555001"
	DevCleverbridgeUser          = "cleverbridge"
	DevCleverbridgePassword      = "dev-cleverbridge-password"
	DevCleverbridgeProduct       = "242233"
	// DevConsoleUser and DevConsolePassword open the operator console of
	// the dev stack (printed in its banner).
	DevConsoleUser     = "operator"
	DevConsolePassword = "dev-console-password"
	// DevAdyenClientKey is the client key the dev ingress gives Drop-in,
	// in Adyen's test form; the sandbox takes any.
	DevAdyenClientKey = "test_DEVCLIENTKEY0SANDBOX00000000"
)

// DevDropIn is what the dev ingress tells Drop-in besides the methods.
var DevDropIn = ingress.MediaStoreConfig{ClientKey: DevAdyenClientKey, Region: "test", ShopperStatement: "Connector dev"}

// DevAllowedPaymentMethods are the Adyen method types the dev stack offers
// (ADYEN_ALLOWED_PAYMENT_METHODS's default).
var DevAllowedPaymentMethods = map[string][]string{adyen.Name: {"scheme", "applepay", "googlepay", "paypal", "sepadirectdebit", "ideal"}}

// DevPaymentMethods routes the dev payment methods to their gateways.
var DevPaymentMethods = map[string]string{
	DevPaymentMethodAdyen: adyen.Name, DevPaymentMethodApplePay: adyen.Name, DevPaymentMethodGooglePay: adyen.Name,
	DevPaymentMethodPayPal: adyen.Name, DevPaymentMethodSEPA: adyen.Name, DevPaymentMethodIdeal: adyen.Name,
	DevPaymentMethodCleverbridge: cleverbridge.Name,
}

// DevPaymentMethodTypes are the Adyen types of each dev paymentMethodId
// but the cards' (PAYMENT_METHOD_TYPES).
var DevPaymentMethodTypes = map[string][]string{
	DevPaymentMethodApplePay: {"applepay"}, DevPaymentMethodGooglePay: {"googlepay"}, DevPaymentMethodPayPal: {"paypal"},
	DevPaymentMethodSEPA: {"sepadirectdebit"}, DevPaymentMethodIdeal: {"ideal"},
}

// DevWebhookSecret signs the Cleeng sandbox's webhooks.
var DevWebhookSecret = []byte("dev-webhook-secret-0123456789abcdef")

// DevOptions configure the development stack. Zero values take defaults.
type DevOptions struct {
	// Broker: empty URL embeds JetStream in StoreDir.
	Broker broker.Options
	// IngressAddr and SandboxAddr are listen addresses; "127.0.0.1:0" picks free ports.
	IngressAddr, SandboxAddr string
	// SandboxURL, when set, is where sandboxes running elsewhere serve
	// (`connector-dev sandbox` in a process of its own, sending webhooks to
	// IngressAddr): the stack serves none (Dev.Sandboxes is nil, SandboxAddr
	// unused) and its ingress and workers call that URL. Benchmarks run them
	// so, to leave the stack's process its CPU.
	SandboxURL string
	// ConsoleAddr is where the operator console listens, with the dev
	// credentials; empty serves none.
	ConsoleAddr string
	// SyncWait is how long checkout calls wait for their outcome. Default 5s.
	SyncWait time.Duration
	// MaxBodyBytes and MaxWaits bound the ingress as in production
	// (INGRESS_MAX_BODY_BYTES, INGRESS_MAX_WAITS). Zero: their defaults.
	MaxBodyBytes int64
	MaxWaits     int
	// Runtime overrides the worker runtime's settings (tests shorten the schedule).
	Runtime workers.Config
	// Flows are the flows' options (tests shorten the notification timeout).
	Flows flows.Options
	// Guards limit the calls to each gateway (by name) over all the
	// stack's worker runtimes, which share them as replicas do; a gateway
	// without an entry is neither paced nor ever paused.
	Guards map[string]guard.Limits
	// Workers is the number of worker runtimes sharing the durables. Default 1.
	Workers int
	// NoWorkers starts no worker runtime: the workers run elsewhere (crash
	// tests start them as OS processes on this broker and these sandboxes).
	NoWorkers bool
	// Sandboxes adjusts the sandboxes' settings (tests turn on Adyen's contract checks).
	Sandboxes func(*SandboxSettings)
	// Registry receives metrics; nil: a private registry.
	Registry *prometheus.Registry
	Logger   zerolog.Logger
}

// Dev is a running development stack.
type Dev struct {
	Broker *broker.Broker
	*Sandboxes
	// IngressURL and SandboxURL are the base URLs the stack listens on.
	IngressURL, SandboxURL string
	// ConsoleURL is the operator console's, empty when it serves none.
	ConsoleURL string

	worker  roles.WorkerSettings
	log     zerolog.Logger
	mu      sync.Mutex
	runCtx  context.Context
	cancel  context.CancelFunc
	workers sync.WaitGroup
	servers []*http.Server
	errs    chan error
	// stopIngress ends the ingress's background work (JWKS refreshes).
	stopIngress context.CancelFunc
}

// Where the sandboxes serve the Cleeng API and Adyen's Checkout, below
// their base URL.
const (
	cleengAPIPath     = "/cleeng/3.1"
	adyenCheckoutPath = "/adyen/v71"
)

// CleengAPIURL is the Cleeng sandbox's API base.
func (d *Dev) CleengAPIURL() string { return d.SandboxURL + cleengAPIPath }

// CleengJWKSURL serves the keys of the Cleeng sandbox's customer tokens.
func (d *Dev) CleengJWKSURL() string { return d.SandboxURL + "/cleeng/.well-known/jwks.json" }

// AdyenCheckoutURL is the Adyen sandbox's Checkout base.
func (d *Dev) AdyenCheckoutURL() string { return d.SandboxURL + adyenCheckoutPath }

// StartDev starts embedded JetStream (unless opts.Broker.URL is set), the
// sandboxes, the ingress and the workers, wired to each other on loopback.
func StartDev(ctx context.Context, opts DevOptions) (dev *Dev, err error) {
	if opts.SyncWait == 0 {
		opts.SyncWait = 5 * time.Second
	}
	if opts.Workers == 0 {
		opts.Workers = 1
	}
	if opts.Registry == nil {
		opts.Registry = prometheus.NewRegistry()
	}
	d := &Dev{errs: make(chan error, 4)}
	defer func() {
		if err != nil {
			d.Close()
		}
	}()
	if d.Broker, err = broker.Open(ctx, opts.Broker); err != nil {
		return nil, err
	}
	verifier, err := adyen.NewVerifier(DevHMACKey)
	if err != nil {
		return nil, err
	}
	ingressLn, err := net.Listen("tcp", opts.IngressAddr)
	if err != nil {
		return nil, fmt.Errorf("ingress: listen on %s: %w", opts.IngressAddr, err)
	}
	d.IngressURL = reachableURL(ingressLn.Addr())
	if d.SandboxURL = opts.SandboxURL; d.SandboxURL == "" {
		if err := d.serveSandboxes(opts); err != nil {
			ingressLn.Close()
			return nil, err
		}
	}

	// The dev ingress authenticates every webhook as production does, and
	// verifies the Cleeng sandbox's customer tokens as production verifies
	// Cleeng's; shopper pages on the ingress's own origin may name return
	// URLs. It takes any dunningAttemptDate (no Attempts window): the
	// sandbox runs a dunning cycle of weeks in seconds, dating attempts on
	// due dates ahead.
	var ingressLife context.Context
	ingressLife, d.stopIngress = context.WithCancel(context.Background())
	ingressSettings := roles.IngressSettings{
		Config: ingress.Config{MaxBodyBytes: opts.MaxBodyBytes, Logger: opts.Logger, Registry: opts.Registry},
		Checkout: ingress.CheckoutConfig{SyncWait: opts.SyncWait, MaxWaits: opts.MaxWaits, ReturnOrigins: loopbackOrigins(ingressLn.Addr()),
			MediaStore: DevDropIn},
		Cleeng:       ingress.CleengWebhookConfig{Secret: DevWebhookSecret, PublisherID: DevPublisherID},
		Adyen:        &ingress.AdyenWebhookConfig{Verifier: verifier, Username: DevWebhookUser, Password: DevWebhookPassword},
		Cleverbridge: &ingress.CleverbridgeWebhookConfig{Username: DevCleverbridgeUser, Password: DevCleverbridgePassword},
		JWKSURL:      d.CleengJWKSURL(),
	}
	handler, err := roles.Ingress(ingressLife, ingressSettings, d.Broker)
	if err != nil {
		ingressLn.Close()
		return nil, err
	}
	d.serve(ingressLn, handler, ingressSettings.WriteTimeout())
	if opts.ConsoleAddr != "" {
		if err := d.serveConsole(opts.ConsoleAddr, opts.Logger); err != nil {
			return nil, err
		}
	}

	d.worker = DevWorkerSettings(opts, d.SandboxURL, d.IngressURL)
	d.log = opts.Logger
	if opts.NoWorkers {
		return d, nil
	}
	if err := d.StartWorkers(opts.Workers); err != nil {
		return nil, err
	}
	return d, nil
}

// DevWorkerSettings are the settings of the dev stack's worker runtimes,
// calling the sandboxes at sandboxURL, with shoppers returning to the
// ingress at ingressURL: what StartDev runs, and what a benchmark runs in a
// worker process of its own.
func DevWorkerSettings(opts DevOptions, sandboxURL, ingressURL string) roles.WorkerSettings {
	runtime := opts.Runtime
	runtime.Logger = opts.Logger
	runtime.Metrics = opts.Registry
	s := roles.WorkerSettings{
		Runtime: runtime,
		Cleeng:  cleeng.Config{BaseURL: sandboxURL + cleengAPIPath, PublisherToken: DevPublisherToken, Logger: opts.Logger},
		Adyen: &adyen.Config{APIKey: DevAdyenAPIKey, MerchantAccount: DevMerchantAccount,
			CheckoutURL: sandboxURL + adyenCheckoutPath, ReturnURL: ingressURL + "/return"},
		Cleverbridge: &cleverbridge.Config{BaseURL: sandboxURL + "/cleverbridge", Username: DevCleverbridgeUser,
			Password: DevCleverbridgePassword, ProductID: DevCleverbridgeProduct},
		Methods:  DevPaymentMethods,
		Options:  opts.Flows,
		Guards:   opts.Guards,
		Replicas: opts.Workers,
	}
	if s.Options.AllowedPaymentMethods == nil {
		s.Options.AllowedPaymentMethods = DevAllowedPaymentMethods
	}
	if s.Options.PaymentMethodTypes == nil {
		s.Options.PaymentMethodTypes = DevPaymentMethodTypes
	}
	return s
}

// serveSandboxes serves the sandboxes in this process, on opts.SandboxAddr.
func (d *Dev) serveSandboxes(opts DevOptions) error {
	sandboxLn, err := net.Listen("tcp", opts.SandboxAddr)
	if err != nil {
		return fmt.Errorf("sandboxes: listen on %s: %w", opts.SandboxAddr, err)
	}
	d.SandboxURL = "http://" + sandboxLn.Addr().String()
	sandboxSettings := DevSandboxSettings(d.IngressURL)
	sandboxSettings.Logger = opts.Logger
	if opts.Sandboxes != nil {
		opts.Sandboxes(&sandboxSettings)
	}
	d.Sandboxes = NewSandboxes(sandboxSettings)
	sandboxSite := http.NewServeMux()
	sandboxSite.Handle("/", d.Sandboxes.Handler())
	sandboxSite.Handle("GET "+DropInPath, d.dropInPage())
	d.serve(sandboxLn, sandboxSite, SandboxWriteTimeout)
	return nil
}

// loopbackOrigins are the origins a browser on this machine reaches addr
// by: pages served there may name return URLs in dev.
// reachableURL is where a client on this machine reaches a listener: an
// unspecified address (INGRESS_ADDR=:8080 listens on every interface) is
// reached on loopback, one of the origins loopbackOrigins allows.
func reachableURL(addr net.Addr) string {
	tcp := addr.(*net.TCPAddr)
	if tcp.IP.IsUnspecified() {
		return "http://127.0.0.1:" + strconv.Itoa(tcp.Port)
	}
	return "http://" + tcp.String()
}

func loopbackOrigins(addr net.Addr) []string {
	port := strconv.Itoa(addr.(*net.TCPAddr).Port)
	return []string{"http://127.0.0.1:" + port, "http://localhost:" + port, "http://[::1]:" + port}
}

// StartWorkers starts n more worker runtimes sharing the durable consumers.
func (d *Dev) StartWorkers(n int) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cancel == nil {
		d.runCtx, d.cancel = context.WithCancel(context.Background())
	}
	for range n {
		w, err := roles.NewWorker(d.worker, d.Broker, d.log)
		if err != nil {
			return err
		}
		d.workers.Add(1)
		go func() {
			defer d.workers.Done()
			if err := w.Run(d.runCtx); err != nil {
				d.report(fmt.Errorf("workers: %w", err))
			}
		}()
	}
	return nil
}

// StopWorkers drains every worker runtime (as SIGTERM would) and waits.
func (d *Dev) StopWorkers() {
	d.mu.Lock()
	cancel := d.cancel
	d.cancel = nil
	d.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	d.workers.Wait()
}

// RestartWorkers drains every worker runtime, lets change alter their
// settings (as an operator fixes the configuration, e.g. adds a
// PAYMENT_METHODS pair) and starts n runtimes with the new settings.
// change gets its own copy of Methods to modify.
func (d *Dev) RestartWorkers(n int, change func(*roles.WorkerSettings)) error {
	d.StopWorkers()
	d.mu.Lock()
	s := d.worker
	s.Methods = maps.Clone(s.Methods)
	change(&s)
	d.worker = s
	d.mu.Unlock()
	return d.StartWorkers(n)
}

// serveConsole serves the operator console on addr with the dev credentials.
func (d *Dev) serveConsole(addr string, log zerolog.Logger) error {
	c, err := console.New(console.Config{User: DevConsoleUser, Password: DevConsolePassword, Broker: d.Broker, Logger: log})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("console: listen on %s: %w", addr, err)
	}
	d.ConsoleURL = "http://" + ln.Addr().String()
	d.serve(ln, c.Handler(), 0)
	return nil
}

// SandboxWriteTimeout bounds a sandbox's answer. Sandboxes hold answers on
// purpose (latency, a gate a test opens, "hold until the caller dies"), so
// it is longer than any of those, and than the connector's own timeouts.
const SandboxWriteTimeout = 10 * time.Minute

func (d *Dev) serve(ln net.Listener, h http.Handler, writeTimeout time.Duration) {
	srv := cli.NewHTTPServer(h, writeTimeout)
	d.servers = append(d.servers, srv)
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.report(err)
		}
	}()
}

// Err delivers the first failures of a server or a worker runtime.
func (d *Dev) Err() <-chan error { return d.errs }

// report hands a failure to Err's reader, or logs it when earlier ones
// still wait there: a stack nobody watches (a test) must never block on
// its own failures, or stopping its workers would wait for ever.
func (d *Dev) report(err error) {
	select {
	case d.errs <- err:
	default:
		d.log.Error().Err(err).Msg("dev stack failure (earlier ones wait unread)")
	}
}

// Close drains the workers, stops the servers and the sandboxes, and closes
// the broker (and the embedded server's store).
func (d *Dev) Close() {
	d.StopWorkers()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, srv := range d.servers {
		_ = srv.Shutdown(ctx)
	}
	if d.stopIngress != nil {
		d.stopIngress()
	}
	if d.Sandboxes != nil {
		d.Sandboxes.Close()
	}
	if d.Broker != nil {
		d.Broker.Close()
	}
}
