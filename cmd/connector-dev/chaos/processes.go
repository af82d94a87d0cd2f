package chaos

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Binaries are the executables a run starts, all built by `make binaries`.
type Binaries struct {
	Connector, ConnectorDev, NATSServer string
	// Worker is what the workers run: Connector, or in a --knockout run
	// the knockout build, with WorkerEnv switching its mechanism off.
	Worker    string
	WorkerEnv []string
}

// BinariesIn names the executables in dir and checks they exist.
func BinariesIn(dir string) (Binaries, error) {
	b := Binaries{
		Connector:    filepath.Join(dir, "connector"),
		ConnectorDev: filepath.Join(dir, "connector-dev"),
		NATSServer:   filepath.Join(dir, "nats-server"),
	}
	b.Worker = b.Connector
	for _, p := range []string{b.Connector, b.ConnectorDev, b.NATSServer} {
		if _, err := os.Stat(p); err != nil {
			return b, fmt.Errorf("%s: %w (make binaries builds it)", p, err)
		}
	}
	return b, nil
}

// process is one OS process of the run, restartable with the same command.
// Its output is kept (the last part of it) for the report when it fails.
type process struct {
	name string
	args []string
	env  []string
	// health, when set, is the URL answering 200 once the process serves.
	health string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	logs *tailBuffer
}

// start runs the process and waits until its health URL answers.
func (p *process) start(ctx context.Context) error {
	p.mu.Lock()
	if p.logs == nil {
		p.logs = &tailBuffer{max: 64 << 10}
	}
	cmd := exec.Command(p.args[0], p.args[1:]...)
	cmd.Env = append(os.Environ(), p.env...)
	cmd.Stdout, cmd.Stderr = p.logs, p.logs
	if err := cmd.Start(); err != nil {
		p.mu.Unlock()
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	done := make(chan struct{})
	p.cmd, p.done = cmd, done
	p.mu.Unlock()
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	if p.health == "" {
		return nil
	}
	return waitHealthy(ctx, p.name, p.health, done)
}

// kill sends SIGKILL (no drain: a crash) and waits until the process is gone.
func (p *process) kill() {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-done
}

// stop asks the process to drain (SIGTERM) and kills it after grace.
func (p *process) stop(grace time.Duration) {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(grace):
		p.kill()
	}
}

// exited reports whether the process ended without being asked to.
func (p *process) exited() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done == nil {
		return false
	}
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// waitHealthy polls url until it answers 200, the process exits, or ctx ends.
// A process starting on a busy machine may take seconds: only its exit or
// the caller's deadline ends the wait.
func waitHealthy(ctx context.Context, name, url string, exited <-chan struct{}) error {
	client := http.Client{Timeout: time.Second}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-exited:
			return fmt.Errorf("%s exited before it answered %s", name, url)
		case <-ctx.Done():
			return fmt.Errorf("%s did not answer %s: %w", name, url, ctx.Err())
		case <-tick.C:
		}
	}
}

// freeAddr returns a loopback address nothing listens on now, below the
// kernel's ephemeral port range: a port from that range (what listening on
// port 0 gives) can be taken by any outgoing connection between our probe
// and the child's bind, or while a killed child is down before its
// restart, and the run's own processes make thousands of connections.
// Below the range only a process binding that port explicitly can take it.
func freeAddr() (string, error) {
	low := ephemeralLow()
	for range 1000 {
		port := firstPrivatePort + rand.IntN(low-firstPrivatePort)
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue // taken: draw again
		}
		addr := l.Addr().String()
		return addr, l.Close()
	}
	return "", errors.New("no free loopback port below the ephemeral range")
}

// firstPrivatePort is the lowest port freeAddr draws: above the well-known
// and most registered services' ports.
const firstPrivatePort = 20000

// ephemeralLow is the first port of the kernel's ephemeral range (Linux's
// default where it cannot be read).
func ephemeralLow() int {
	low := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil && n > firstPrivatePort+1000 {
				low = n
			}
		}
	}
	return low
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf bytes.Buffer
}

func (t *tailBuffer) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf.Write(b)
	if over := t.buf.Len() - t.max; over > 0 {
		t.buf.Next(over)
	}
	return len(b), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.buf.String()
}
