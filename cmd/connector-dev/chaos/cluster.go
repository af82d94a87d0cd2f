package chaos

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
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
	// natsNodes is the JetStream cluster's size, and the replicas of every
	// stream and bucket: one node can die and the other two keep a quorum.
	natsNodes = 3
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
	// nats are the JetStream cluster's nodes; natsURL lists every node's
	// client URL, so a client whose node dies reconnects to another.
	nats    []*process
	natsURL string
	// natsHealthz are the nodes' full health checks, by node.
	natsHealthz []string
	sandbox     *process
	ingresses   []*process
	workers     []*process
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
	for _, name := range []string{"sandbox", "balancer"} {
		if addrs[name], err = freeAddr(); err != nil {
			return nil, err
		}
	}
	if err := c.startNATS(ctx, bins.NATSServer); err != nil {
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

// startNATS starts a JetStream cluster of natsNodes nats-server processes
// on loopback, routed to each other, each with its own store in the run's
// directory: the cluster of docker-compose.yml without Docker (so the run
// is the same on any machine), and a node dies by a real SIGKILL of its
// process. A node counts as up once JetStream is enabled on it; the
// cluster elects its meta leader after, which the connector's start waits
// for (broker.Open retries its declarations).
func (c *cluster) startNATS(ctx context.Context, bin string) error {
	type node struct{ client, monitor, route string }
	nodes := make([]node, natsNodes)
	var urls, routes []string
	for i := range nodes {
		for _, addr := range []*string{&nodes[i].client, &nodes[i].monitor, &nodes[i].route} {
			var err error
			if *addr, err = freeAddr(); err != nil {
				return err
			}
		}
		urls = append(urls, "nats://"+nodes[i].client)
		routes = append(routes, "nats-route://"+nodes[i].route)
	}
	c.natsURL = strings.Join(urls, ",")
	for i, n := range nodes {
		name := fmt.Sprintf("nats-%d", i+1)
		host, port := splitAddr(n.client)
		_, monitorPort := splitAddr(n.monitor)
		healthz := "http://" + host + ":" + monitorPort + "/healthz"
		c.natsHealthz = append(c.natsHealthz, healthz)
		c.nats = append(c.nats, &process{name: name, args: []string{bin, "-js", "--server_name", name,
			"-a", host, "-p", port, "-m", monitorPort, "-sd", filepath.Join(c.dir, name),
			"--cluster_name", "chaos", "--cluster", "nats://" + n.route, "--routes", strings.Join(routes, ",")},
			health: healthz + "?js-enabled-only=true"})
	}
	for _, p := range c.nats {
		if err := p.start(ctx); err != nil {
			return err
		}
	}
	return nil
}

// natsCurrent waits until every node answers its full /healthz: the
// JetStream meta group and every stream and consumer replica on the node
// caught up. A node restarted a moment ago serves before it has caught up;
// the checks read the cluster once all of it has.
func (c *cluster) natsCurrent(ctx context.Context) error {
	for i, p := range c.nats {
		p.mu.Lock()
		done := p.done
		p.mu.Unlock()
		if err := waitHealthy(ctx, p.name, c.natsHealthz[i], done); err != nil {
			return err
		}
	}
	return nil
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
		fmt.Sprintf("NATS_REPLICAS=%d", natsNodes),
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
	for _, p := range append([]*process{c.sandbox}, c.nats...) {
		if p != nil {
			p.stop(5 * time.Second)
		}
	}
	if c.dir != "" {
		_ = os.RemoveAll(c.dir)
	}
}
