package containertest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/log"
	"github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"
)

// NodeNames are the cluster nodes' server names and network aliases.
var NodeNames = []string{"nats-1", "nats-2", "nats-3"}

// Ports inside the containers.
const (
	NATSClientPort  = "4222/tcp"
	NATSMonitorPort = "8222/tcp"
	IngressPort     = "8080/tcp"
	SandboxPort     = "8090/tcp"
)

// startupTimeout bounds every container's readiness wait.
const startupTimeout = 90 * time.Second

// Cluster is a 3-node NATS JetStream cluster of NATSImage on its own
// Docker network.
type Cluster struct {
	Network *testcontainers.DockerNetwork
	// Nodes[i] runs the server named NodeNames[i].
	Nodes []*testcontainers.DockerContainer
}

// NATSArgs are the nats-server arguments of node name in a cluster of
// NodeNames (docker-compose.yml passes the same). --no_advertise keeps
// clients on the URLs they were given: container addresses are not
// reachable from everywhere.
func NATSArgs(name string) []string {
	routes := make([]string, len(NodeNames))
	for i, n := range NodeNames {
		routes[i] = "nats://" + n + ":6222"
	}
	return []string{
		"--server_name=" + name, "--cluster_name=connector", "--cluster=nats://0.0.0.0:6222",
		"--routes=" + strings.Join(routes, ","), "--no_advertise",
		"--jetstream", "--store_dir=/data", "--http_port=8222",
	}
}

// StartCluster starts the three nodes at once (none is healthy before a
// JetStream meta leader is elected, which takes a quorum) and returns when
// each answers 200 on /healthz. Containers and network go when t ends; their
// logs are printed if t failed.
func StartCluster(ctx context.Context, t testing.TB) *Cluster {
	t.Helper()
	nw, err := network.New(ctx)
	if err != nil {
		t.Fatalf("docker network: %v", err)
	}
	testcontainers.CleanupNetwork(t, nw)
	c := &Cluster{Network: nw, Nodes: make([]*testcontainers.DockerContainer, len(NodeNames))}
	errs := make([]error, len(NodeNames))
	var wg sync.WaitGroup
	for i, name := range NodeNames {
		wg.Go(func() {
			c.Nodes[i], errs[i] = testcontainers.Run(ctx, NATSImage,
				testcontainers.WithLogger(log.TestLogger(t)),
				network.WithNetwork([]string{name}, nw),
				testcontainers.WithCmd(NATSArgs(name)...),
				testcontainers.WithExposedPorts(NATSClientPort, NATSMonitorPort),
				testcontainers.WithWaitStrategyAndDeadline(startupTimeout, wait.ForHTTP("/healthz").WithPort(NATSMonitorPort)),
			)
		})
	}
	wg.Wait()
	for i, node := range c.Nodes {
		cleanup(t, NodeNames[i], node)
	}
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("NATS cluster: %v", err)
	}
	return c
}

// InternalURL is the cluster's URL list as containers on its network see it.
func (c *Cluster) InternalURL() string {
	urls := make([]string, len(NodeNames))
	for i, n := range NodeNames {
		urls[i] = "nats://" + n + ":4222"
	}
	return strings.Join(urls, ",")
}

// ClientURL is the URL list of the running nodes as this process sees them.
func (c *Cluster) ClientURL(ctx context.Context) (string, error) {
	var urls []string
	for _, node := range c.Nodes {
		if !node.IsRunning() {
			continue
		}
		u, err := node.PortEndpoint(ctx, NATSClientPort, "nats")
		if err != nil {
			return "", err
		}
		urls = append(urls, u)
	}
	return strings.Join(urls, ","), nil
}

// Node is the container of the server named name, or nil.
func (c *Cluster) Node(name string) *testcontainers.DockerContainer {
	for i, n := range NodeNames {
		if n == name {
			return c.Nodes[i]
		}
	}
	return nil
}

// Connector describes one container of the connector's images.
type Connector struct {
	// Image is ConnectorImage (ingress, worker) unless set: SandboxImage
	// runs the sandboxes.
	Image string
	// Command is the role and its flags: ingress, worker, sandbox.
	Command []string
	// Alias is its name on the cluster's network.
	Alias string
	// Env adds to NATS_URL (the cluster), NATS_REPLICAS=3 and LOG_FORMAT=json.
	Env map[string]string
	// Ports to publish, e.g. IngressPort.
	Ports []string
	// Ready says when it has started.
	Ready wait.Strategy
}

// RunConnector runs spec.Image on the cluster's network and returns once
// spec.Ready is satisfied. It goes when t ends.
func (c *Cluster) RunConnector(ctx context.Context, t testing.TB, spec Connector) *testcontainers.DockerContainer {
	t.Helper()
	env := map[string]string{"NATS_URL": c.InternalURL(), "NATS_REPLICAS": "3", "LOG_FORMAT": "json"}
	maps.Copy(env, spec.Env)
	image := spec.Image
	if image == "" {
		image = ConnectorImage
	}
	ctr, err := testcontainers.Run(ctx, image,
		testcontainers.WithLogger(log.TestLogger(t)),
		network.WithNetwork([]string{spec.Alias}, c.Network),
		testcontainers.WithCmd(spec.Command...),
		testcontainers.WithEnv(env),
		testcontainers.WithExposedPorts(spec.Ports...),
		testcontainers.WithWaitStrategyAndDeadline(startupTimeout, spec.Ready),
	)
	cleanup(t, spec.Alias, ctr)
	if err != nil {
		t.Fatalf("connector %s: %v", strings.Join(spec.Command, " "), err)
	}
	return ctr
}

// cleanup removes ctr when t ends, after printing its logs if t failed.
func cleanup(t testing.TB, name string, ctr *testcontainers.DockerContainer) {
	testcontainers.CleanupContainer(t, ctr)
	if ctr == nil {
		return
	}
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		logs, err := ctr.Logs(context.Background())
		if err != nil {
			t.Logf("%s: no logs: %v", name, err)
			return
		}
		defer logs.Close()
		b, _ := io.ReadAll(logs)
		t.Logf("--- %s logs ---\n%s", name, b)
	})
}

// Endpoint is the http:// base URL of ctr's port as this process sees it.
func Endpoint(ctx context.Context, ctr *testcontainers.DockerContainer, port string) (string, error) {
	u, err := ctr.PortEndpoint(ctx, port, "http")
	if err != nil {
		return "", fmt.Errorf("endpoint of %s: %w", port, err)
	}
	return u, nil
}
