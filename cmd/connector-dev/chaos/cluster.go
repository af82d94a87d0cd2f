package chaos

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/cleeng-connector/connector/cmd/connector-dev/stack"
)

// Sizes of the deployment, as issue 11 asks: enough replicas that a crash
// of any one leaves the others to take over its work.
const (
	ingressReplicas = 2
	workerReplicas  = 3
	// ackWait is the workers' WORKER_ACK_WAIT: a killed worker's messages
	// and operation claims come back after it. Short, so a run with a kill
	// every few seconds does not spend its time waiting for leases; long
	// enough for the heartbeats of a loaded machine (every third of it).
	ackWait = 6 * time.Second
	// duplicateWindow is the inbox's: short, so a webhook re-sent "late"
	// is stored again and only the operation records stand between it and
	// a second effect.
	duplicateWindow = 3 * time.Second
	// notificationTimeout is the workers' CLEVERBRIDGE_NOTIFICATION_TIMEOUT.
	notificationTimeout = 10 * time.Second
	// retrySchedule is the workers' WORKER_RETRY_SCHEDULE: a transient
	// failure is dead-lettered after 10 deliveries and about 2.5 minutes,
	// well past the 1 s phases of the fault schedule.
	retrySchedule = "1s,2s,5s,10s,20s,30s"
	// breakerCooldown is each gateway's breaker cooldown.
	breakerCooldown = 5 * time.Second
)

// cluster is the connector's processes, the sandboxes' and NATS, with the
// balancer in front of the ingress replicas.
type cluster struct {
	nats      *process
	natsURL   string
	sandbox   *process
	ingresses []*process
	workers   []*process
	// IngressURL is the balancer's; SandboxURL the sandboxes'.
	IngressURL, SandboxURL string
	server                 *http.Server
	dir                    string
}

// startCluster starts nats-server, the sandboxes, the balancer, the
// ingress replicas and the workers, each once it can serve.
func startCluster(ctx context.Context, bins Binaries) (_ *cluster, err error) {
	c := &cluster{}
	defer func() {
		if err != nil {
			c.close()
		}
	}()
	if c.dir, err = os.MkdirTemp("", "connector-chaos-"); err != nil {
		return nil, err
	}
	addrs := map[string]string{}
	for _, name := range []string{"nats", "nats-monitor", "sandbox", "balancer"} {
		if addrs[name], err = freeAddr(); err != nil {
			return nil, err
		}
	}
	natsHost, natsPort := splitAddr(addrs["nats"])
	_, monitorPort := splitAddr(addrs["nats-monitor"])
	c.natsURL = "nats://" + addrs["nats"]
	c.nats = &process{name: "nats-server", args: []string{bins.NATSServer, "-js", "-a", natsHost, "-p", natsPort,
		"-m", monitorPort, "-sd", c.dir + "/nats"}, health: "http://127.0.0.1:" + monitorPort + "/healthz?js-enabled-only=true"}
	if err := c.nats.start(ctx); err != nil {
		return nil, err
	}

	c.IngressURL = "http://" + addrs["balancer"]
	c.SandboxURL = "http://" + addrs["sandbox"]
	c.sandbox = &process{name: "sandbox", args: []string{bins.ConnectorDev, "sandbox"}, env: []string{
		"CONNECTOR_DEV_SANDBOX_ADDR=" + addrs["sandbox"], "SANDBOX_INGRESS_URL=" + c.IngressURL, "LOG_LEVEL=warn",
	}, health: c.SandboxURL + "/adyen/sandbox/faults"}
	if err := c.sandbox.start(ctx); err != nil {
		return nil, err
	}

	var backends []string
	for i := range ingressReplicas {
		addr, err := freeAddr()
		if err != nil {
			return nil, err
		}
		backends = append(backends, "http://"+addr)
		c.ingresses = append(c.ingresses, &process{name: fmt.Sprintf("ingress-%d", i+1), args: []string{bins.Connector, "ingress"},
			env: append(c.commonEnv(), c.ingressEnv(addr)...), health: "http://" + addr + "/readyz"})
	}
	c.server = &http.Server{Addr: addrs["balancer"], Handler: newBalancer(backends), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = c.server.ListenAndServe() }()
	for _, p := range c.ingresses {
		if err := p.start(ctx); err != nil {
			return nil, err
		}
	}
	for i := range workerReplicas {
		addr, err := freeAddr()
		if err != nil {
			return nil, err
		}
		w := &process{name: fmt.Sprintf("worker-%d", i+1), args: []string{bins.Worker, "worker"},
			env: slices.Concat(c.commonEnv(), c.workerEnv(addr), bins.WorkerEnv), health: "http://" + addr + "/readyz"}
		c.workers = append(c.workers, w)
		if err := w.start(ctx); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func splitAddr(addr string) (host, port string) {
	i := strings.LastIndexByte(addr, ':')
	return addr[:i], addr[i+1:]
}

// commonEnv is every connector replica's: the same NATS and topology.
func (c *cluster) commonEnv() []string {
	var methods []string
	for _, m := range slices.Sorted(maps.Keys(stack.DevPaymentMethods)) {
		methods = append(methods, m+"="+stack.DevPaymentMethods[m])
	}
	return []string{
		"NATS_URL=" + c.natsURL,
		"NATS_DUPLICATE_WINDOW=" + duplicateWindow.String(),
		"PAYMENT_METHODS=" + strings.Join(methods, ","),
		"CLEVERBRIDGE_USERNAME=" + stack.DevCleverbridgeUser,
		"CLEVERBRIDGE_PASSWORD=" + stack.DevCleverbridgePassword,
		"LOG_FORMAT=json",
		"LOG_LEVEL=warn",
	}
}

func (c *cluster) ingressEnv(addr string) []string {
	return []string{
		"INGRESS_ADDR=" + addr,
		"CLEENG_PUBLISHER_ID=" + stack.DevPublisherID,
		"CLEENG_JWKS_URL=" + c.SandboxURL + "/cleeng/.well-known/jwks.json",
		"CLEENG_WEBHOOK_SECRET=" + string(stack.DevWebhookSecret),
		"ADYEN_HMAC_KEYS=" + stack.DevHMACKey,
		"ADYEN_WEBHOOK_USERNAME=" + stack.DevWebhookUser,
		"ADYEN_WEBHOOK_PASSWORD=" + stack.DevWebhookPassword,
		"CHECKOUT_RETURN_ORIGINS=" + c.IngressURL,
		// Renewals bill a daily offer some days ahead of the wall clock.
		"CLEENG_DUNNING_MAX_AHEAD=120h",
		// Every front-end call of the population waits for its outcome at once.
		"INGRESS_MAX_WAITS=100000",
	}
}

func (c *cluster) workerEnv(addr string) []string {
	return []string{
		"WORKER_ADDR=" + addr,
		"WORKER_ACK_WAIT=" + ackWait.String(),
		"CLEENG_API_URL=" + c.SandboxURL + "/cleeng/3.1",
		"CLEENG_PUBLISHER_TOKEN=" + stack.DevPublisherToken,
		"ADYEN_API_KEY=" + stack.DevAdyenAPIKey,
		"ADYEN_MERCHANT_ACCOUNT=" + stack.DevMerchantAccount,
		"ADYEN_CHECKOUT_URL=" + c.SandboxURL + "/adyen/v71",
		"ADYEN_RETURN_URL=" + c.IngressURL + "/return",
		"CLEVERBRIDGE_API_URL=" + c.SandboxURL + "/cleverbridge",
		"CLEVERBRIDGE_PRODUCT_ID=" + stack.DevCleverbridgeProduct,
		// A Process Cart call answered 5xx may or may not have charged
		// (Cleverbridge has no idempotency key): the renewal waits this
		// long for the purchase notification, then dead-letters for an
		// operator. Short, so the run sees those letters (and checks the
		// schedule explains each) instead of waiting the default hour.
		"CLEVERBRIDGE_NOTIFICATION_TIMEOUT=" + notificationTimeout.String(),
		// The production schedule waits 10 minutes after a fifth failed
		// delivery, and the breakers 30 s once open: under the run's
		// faults many messages get that far, and the run would spend its
		// quiescence waiting for them. The same policy in seconds.
		"WORKER_RETRY_SCHEDULE=" + retrySchedule,
		"ADYEN_BREAKER_COOLDOWN=" + breakerCooldown.String(),
		"CLEVERBRIDGE_BREAKER_COOLDOWN=" + breakerCooldown.String(),
	}
}

// restart kills p (SIGKILL) and starts it again once it is gone.
func restart(ctx context.Context, p *process) error {
	p.kill()
	return p.start(ctx)
}

// close stops everything, connector first, and removes the NATS store.
func (c *cluster) close() {
	for _, p := range append(slices.Clone(c.workers), c.ingresses...) {
		p.stop(5 * time.Second)
	}
	if c.server != nil {
		_ = c.server.Close()
	}
	for _, p := range []*process{c.sandbox, c.nats} {
		if p != nil {
			p.stop(5 * time.Second)
		}
	}
	if c.dir != "" {
		_ = os.RemoveAll(c.dir)
	}
}
