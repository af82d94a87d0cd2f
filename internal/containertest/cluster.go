package containertest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cleeng-connector/connector/internal/broker"
	"github.com/cleeng-connector/connector/internal/devcerts"
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
// Docker network, secured as docker-compose.yml's is (build/nats-cluster.conf):
// clients authenticate with a user and password over TLS, routes with
// mutual TLS.
type Cluster struct {
	Network *testcontainers.DockerNetwork
	// Nodes[i] runs the server named NodeNames[i].
	Nodes []*testcontainers.DockerContainer
	// Certs are the cluster's certificates, made for this cluster only.
	Certs devcerts.Files
	// User and Password are the clients' credentials, made for this cluster only.
	User, Password string
}

// Paths inside the containers: the configuration every node runs, and the
// certificates (their names as devcerts writes them), as docker-compose.yml
// mounts them.
const (
	NATSConfigPath = "/etc/nats/cluster.conf"
	CertsDir       = "/certs/"
)

// NATSArgs are the nats-server arguments of node name (docker-compose.yml
// passes the same): build/nats-cluster.conf, which names the routes to
// every node of NodeNames.
func NATSArgs(name string) []string {
	return []string{"-c", NATSConfigPath, "--server_name=" + name}
}

// StartCluster starts the three nodes at once (none is healthy before a
// JetStream meta leader is elected, which takes a quorum) and returns when
// each answers 200 on /healthz. Containers and network go when t ends; their
// logs are printed if t failed.
func StartCluster(ctx context.Context, t testing.TB) *Cluster {
	t.Helper()
	root, err := moduleRoot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	provider, err := testcontainers.NewDockerProvider()
	if err != nil {
		t.Fatalf("docker: %v", err)
	}
	host, err := provider.DaemonHost(ctx) // where this process reaches the published ports
	provider.Close()
	if err != nil {
		t.Fatalf("docker host: %v", err)
	}
	// The containers run as an unprivileged user: it reads the key too.
	certs, err := devcerts.Write(t.TempDir(), append(slices.Clone(NodeNames), host, "localhost", "127.0.0.1"), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	nw, err := network.New(ctx)
	if err != nil {
		t.Fatalf("docker network: %v", err)
	}
	testcontainers.CleanupNetwork(t, nw)
	c := &Cluster{Network: nw, Nodes: make([]*testcontainers.DockerContainer, len(NodeNames)),
		Certs: certs, User: "connector", Password: rand.Text()}
	files := append(c.certFiles(certs.ServerCert, certs.ServerKey),
		testcontainers.ContainerFile{HostFilePath: filepath.Join(root, "build", "nats-cluster.conf"), ContainerFilePath: NATSConfigPath, FileMode: 0o644})
	errs := make([]error, len(NodeNames))
	var wg sync.WaitGroup
	for i, name := range NodeNames {
		wg.Go(func() {
			c.Nodes[i], errs[i] = testcontainers.Run(ctx, NATSImage,
				testcontainers.WithLogger(log.TestLogger(t)),
				network.WithNetwork([]string{name}, nw),
				testcontainers.WithCmd(NATSArgs(name)...),
				testcontainers.WithEnv(map[string]string{"NATS_USER": c.User, "NATS_PASSWORD": c.Password}),
				testcontainers.WithFiles(files...),
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

// certFiles copies the CA and the named files of c.Certs into CertsDir.
func (c *Cluster) certFiles(paths ...string) []testcontainers.ContainerFile {
	var files []testcontainers.ContainerFile
	for _, p := range append([]string{c.Certs.CA}, paths...) {
		files = append(files, testcontainers.ContainerFile{HostFilePath: p, ContainerFilePath: CertsDir + filepath.Base(p), FileMode: 0o644})
	}
	return files
}

// Auth is how this process connects to the cluster.
func (c *Cluster) Auth() broker.Auth {
	return broker.Auth{User: c.User, Password: c.Password, TLSCA: c.Certs.CA}
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
	// Env adds to NATS_URL (the cluster), its credentials and CA,
	// NATS_REPLICAS=3 and LOG_FORMAT=json.
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
	env := map[string]string{
		"NATS_URL": c.InternalURL(), "NATS_USER": c.User, "NATS_PASSWORD": c.Password, "NATS_TLS_CA": CertsDir + filepath.Base(c.Certs.CA),
		"NATS_REPLICAS": "3", "LOG_FORMAT": "json",
	}
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
		testcontainers.WithFiles(c.certFiles()...),
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
