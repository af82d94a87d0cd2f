package main

import (
	"bufio"
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
	os.Exit(m.Run())
}

// TestDev_ServesHealthThenStopsCleanlyOnInterrupt is the promise of
// `make run`: once it prints where it listens it answers /healthz, its
// operator console answers with the credentials it printed, and Ctrl-C
// exits 0 with the store closed.
func TestDev_ServesHealthThenStopsCleanlyOnInterrupt(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(os.Args[0], "dev")
	cmd.Env = append(os.Environ(),
		"CONNECTOR_TEST_MAIN=1",
		"INGRESS_ADDR=127.0.0.1:0", // free ports, read back from the banner
		"CONNECTOR_DEV_SANDBOX_ADDR=127.0.0.1:0",
		"CONSOLE_ADDR=127.0.0.1:0",
		"NATS_STORE_DIR="+t.TempDir(),
		"NATS_URL=",
		"LOG_FORMAT=json",
	)
	var logs testkit.Logs
	cmd.Stderr = &logs
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	ingressURL, consoleURL := make(chan string, 1), make(chan string, 1)
	go func() {
		scanner := bufio.NewScanner(stdout)
		for scanner.Scan() {
			if _, rest, ok := strings.Cut(scanner.Text(), "(dev): ingress "); ok {
				url, _, _ := strings.Cut(rest, ",")
				ingressURL <- url
			}
			if _, rest, ok := strings.Cut(scanner.Text(), "Operator console: "); ok {
				url, _, _ := strings.Cut(rest, " ")
				consoleURL <- url
			}
		}
		exited <- cmd.Wait() // after stdout is read to its end, as Wait requires
	}()
	var url string
	select {
	case url = <-ingressURL:
	case err := <-exited:
		t.Fatalf("exited before listening: %v; logs:\n%s", err, logs.String())
	case <-time.After(5 * time.Minute):
		_ = cmd.Process.Kill()
		t.Fatalf("no banner; logs:\n%s", logs.String())
	}
	// The banner is printed once the ingress listens: no wait is needed.
	resp, err := http.Get(url + "/healthz")
	if err != nil {
		_ = cmd.Process.Kill()
		t.Fatalf("GET /healthz after the banner: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_ = cmd.Process.Kill()
		t.Fatalf("GET /healthz = %d, want 200; logs:\n%s", resp.StatusCode, logs.String())
	}
	// The banner names the console and its dev credentials; it asks for them.
	console := <-consoleURL // printed with the banner, before the ingress was reached
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
			_ = cmd.Process.Kill()
			t.Fatalf("GET %s/: %v", console, err)
		}
		resp.Body.Close()
		if resp.StatusCode != auth.status {
			t.Errorf("GET %s/ as %q = %d, want %d", console, auth.user, resp.StatusCode, auth.status)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit after SIGINT: %v; logs:\n%s", err, logs.String())
		}
	case <-time.After(5 * time.Minute):
		_ = cmd.Process.Kill()
		t.Fatalf("still running after SIGINT; logs:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "store closed") {
		t.Errorf("logs do not say the store was closed:\n%s", logs.String())
	}
}
