package stack_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/cleeng-connector/connector/internal/testkit"
)

// childProcess is this test binary run again as a process of its own (a
// worker, or a whole connector: TestMain picks which by its environment),
// serving on a loopback address the JSON endpoints its benchmark reads.
type childProcess struct {
	name   string
	url    string
	cmd    *exec.Cmd
	exited chan struct{}
	logs   bytes.Buffer
}

// startChildProcess starts this test binary with env, and the address it
// is to serve on in addrEnv, and waits until GET readyPath answers 200. It
// is killed when the benchmark ends.
func startChildProcess(b *testing.B, name, addrEnv string, env []string, readyPath string) *childProcess {
	b.Helper()
	addr := testkit.FreeAddr(b)
	c := &childProcess{name: name, url: "http://" + addr, exited: make(chan struct{})}
	c.cmd = exec.Command(os.Args[0])
	c.cmd.Env = append(append(os.Environ(), addrEnv+"="+addr), env...)
	c.cmd.Stdout, c.cmd.Stderr = &c.logs, &c.logs
	if err := c.cmd.Start(); err != nil {
		b.Fatal(err)
	}
	go func() {
		_ = c.cmd.Wait()
		close(c.exited)
	}()
	b.Cleanup(func() {
		_ = c.cmd.Process.Kill()
		<-c.exited
		if b.Failed() {
			b.Logf("%s process:\n%s", c.name, c.logs.String())
		}
	})
	testkit.Eventually(b, time.Minute, "the "+name+" process serving", func() bool {
		select {
		case <-c.exited:
			b.Fatalf("the %s process exited:\n%s", c.name, c.logs.String())
		default:
		}
		return c.do(http.MethodGet, readyPath, nil) == nil
	})
	return c
}

// serveBenchmark serves, in a child process, its endpoints for the
// benchmark that started it on addr, until stop is called.
func serveBenchmark(addr string, endpoints http.Handler) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: endpoints, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return func() { _ = srv.Close() }, nil
}

// do sends a request without a body and decodes the JSON answer into out
// (nil: discarded; a *[]byte: the raw answer).
func (c *childProcess) do(method, path string, out any) error {
	req, err := http.NewRequest(method, c.url+path, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	if _, err := body.ReadFrom(resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, body.String())
	}
	switch out := out.(type) {
	case nil:
		return nil
	case *[]byte:
		*out = body.Bytes()
		return nil
	default:
		return json.Unmarshal(body.Bytes(), out)
	}
}

// call is do, failing the benchmark on an error.
func (c *childProcess) call(b *testing.B, method, path string, out any) {
	b.Helper()
	if err := c.do(method, path, out); err != nil {
		b.Fatal(err)
	}
}

// eachMetric calls f with every metric reg gathers, its family's name and
// its labels.
func eachMetric(reg *prometheus.Registry, f func(family string, labels map[string]string, m *dto.Metric)) error {
	families, err := reg.Gather()
	if err != nil {
		return err
	}
	for _, fam := range families {
		for _, m := range fam.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			f(fam.GetName(), labels, m)
		}
	}
	return nil
}
