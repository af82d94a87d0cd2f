package main

import (
	"bufio"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cleeng-connector/connector/cmd/connector-dev/stack"
	"github.com/cleeng-connector/connector/internal/testkit"
)

// TestMain lets the test binary stand in for the connector's: started with
// CONNECTOR_TEST_MAIN=1 it runs main with its arguments, so a test runs the
// real command in an OS process of its own without building it again.
func TestMain(m *testing.M) {
	if os.Getenv("CONNECTOR_TEST_MAIN") == "1" {
		main()
	}
	code := m.Run()
	testkit.RemoveBinaries() // the connector the operator-command test ran
	os.Exit(code)
}

// devProcess is a `connector-dev dev` running as an OS process.
type devProcess struct {
	cmd      *exec.Cmd
	logs     *testkit.Logs
	exited   chan error
	storeDir string
	// ingressURL, natsURL and consoleURL are read from the banner: where
	// the ingress listens, the NATS_URL it tells operators to use, and
	// where the operator console is.
	ingressURL, natsURL, consoleURL string
}

// startDev runs `connector-dev dev` on free ports and a store of its own,
// and returns once it has printed its banner (the ingress listens then).
func startDev(t *testing.T) *devProcess {
	t.Helper()
	d := &devProcess{cmd: exec.Command(os.Args[0], "dev"), logs: &testkit.Logs{}, exited: make(chan error, 1), storeDir: t.TempDir()}
	d.cmd.Env = append(os.Environ(),
		"CONNECTOR_TEST_MAIN=1",
		"INGRESS_ADDR=127.0.0.1:0", // free ports, read back from the banner
		"CONNECTOR_DEV_SANDBOX_ADDR=127.0.0.1:0",
		"NATS_EMBEDDED_PORT=0",
		"CONSOLE_ADDR=127.0.0.1:0",
		"NATS_STORE_DIR="+d.storeDir,
		"NATS_URL=",
		"LOG_FORMAT=json",
	)
	d.cmd.Stderr = d.logs
	stdout, err := d.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.cmd.Process.Kill() }) // a no-op once it exited
	banner := make(chan [3]string, 1)
	go func() {
		var ingressURL, natsURL string
		scanner := bufio.NewScanner(stdout)
		for scanner.Scan() {
			line := scanner.Text()
			if _, rest, ok := strings.Cut(line, "(dev): ingress "); ok {
				ingressURL, _, _ = strings.Cut(rest, ",")
			}
			if _, rest, ok := strings.Cut(line, "reach this stack's NATS at NATS_URL="); ok {
				natsURL = strings.TrimSuffix(rest, ":")
			}
			if _, rest, ok := strings.Cut(line, "Operator console: "); ok { // the banner's last line
				consoleURL, _, _ := strings.Cut(rest, " ")
				banner <- [3]string{ingressURL, natsURL, consoleURL}
			}
		}
		d.exited <- d.cmd.Wait() // after stdout is read to its end, as Wait requires
	}()
	select {
	case urls := <-banner:
		d.ingressURL, d.natsURL, d.consoleURL = urls[0], urls[1], urls[2]
	case err := <-d.exited:
		t.Fatalf("exited before listening: %v; logs:\n%s", err, d.logs.String())
	case <-time.After(5 * time.Minute):
		t.Fatalf("no banner; logs:\n%s", d.logs.String())
	}
	return d
}

// TestDev_ServesHealthThenStopsCleanlyOnInterrupt is the promise of
// `make run`: once it prints where it listens it answers /healthz, its
// operator console answers with the credentials it printed, and Ctrl-C
// exits 0 with the store closed.
func TestDev_ServesHealthThenStopsCleanlyOnInterrupt(t *testing.T) {
	t.Parallel()
	d := startDev(t)
	// The banner is printed once the ingress listens: no wait is needed.
	resp, err := http.Get(d.ingressURL + "/healthz")
	if err != nil {
		t.Fatalf("GET /healthz after the banner: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /healthz = %d, want 200; logs:\n%s", resp.StatusCode, d.logs.String())
	}
	// The banner names the console and its dev credentials; it asks for them.
	console := d.consoleURL
	for _, auth := range []struct {
		user, password string
		status         int
	}{{"", "", http.StatusUnauthorized}, {stack.DevConsoleUser, stack.DevConsolePassword, http.StatusOK}} {
		req, _ := http.NewRequest(http.MethodGet, console+"/", nil)
		if auth.user != "" {
			req.SetBasicAuth(auth.user, auth.password)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET %s/: %v", console, err)
		}
		resp.Body.Close()
		if resp.StatusCode != auth.status {
			t.Errorf("GET %s/ as %q = %d, want %d", console, auth.user, resp.StatusCode, auth.status)
		}
	}
	if err := d.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-d.exited:
		if err != nil {
			t.Fatalf("exit after SIGINT: %v; logs:\n%s", err, d.logs.String())
		}
	case <-time.After(5 * time.Minute):
		t.Fatalf("still running after SIGINT; logs:\n%s", d.logs.String())
	}
	if !strings.Contains(d.logs.String(), "store closed") {
		t.Errorf("logs do not say the store was closed:\n%s", d.logs.String())
	}
}

// TestDev_OperatorCommandsFindTheRunningStack: with `connector-dev dev`
// running, `connector ops list` and `connector dlq list` (OS processes of
// the production binary) work with the NATS_URL its banner prints; with
// NATS_URL empty they refuse to open the store the stack holds, naming
// that NATS_URL, and the stack goes on serving.
func TestDev_OperatorCommandsFindTheRunningStack(t *testing.T) {
	t.Parallel()
	connector := testkit.Binary(t, "github.com/cleeng-connector/connector/cmd/connector")
	d := startDev(t)
	if !strings.HasPrefix(d.natsURL, "nats://127.0.0.1:") {
		t.Fatalf("banner's NATS_URL %q: want the embedded server's on loopback", d.natsURL)
	}
	run := func(natsURL string, args ...string) (string, error) {
		cmd := exec.Command(connector, args...)
		// As from another terminal in the same directory: the stack's store
		// is the default one there.
		cmd.Env = append(os.Environ(), "NATS_URL="+natsURL, "NATS_STORE_DIR="+d.storeDir)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	for _, tc := range []struct{ args, want string }{
		{"ops list", "no operation records"},
		{"dlq list", "no dead letters"},
	} {
		out, err := run(d.natsURL, strings.Fields(tc.args)...)
		if err != nil || !strings.Contains(out, tc.want) {
			t.Errorf("NATS_URL=%s connector %s: %v\n%s\nwant %q", d.natsURL, tc.args, err, out, tc.want)
		}
		out, err = run("", strings.Fields(tc.args)...)
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 1 ||
			!strings.Contains(out, "is held by another process (pid ") || !strings.Contains(out, "set NATS_URL="+d.natsURL+" to reach it") {
			t.Errorf("connector %s with NATS_URL empty: %v\n%s\nwant exit status 1 naming NATS_URL=%s", tc.args, err, out, d.natsURL)
		}
	}
	resp, err := http.Get(d.ingressURL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("stack's /readyz after the refused commands: %d; logs:\n%s", resp.StatusCode, d.logs.String())
	}
}
