package main

import (
	"bufio"
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDev_ServesHealthThenStopsCleanlyOnInterrupt is the promise of
// `make run`: healthy within 10 s, and Ctrl-C exits 0 with the store closed.
func TestDev_ServesHealthThenStopsCleanlyOnInterrupt(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "connector")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "dev")
	cmd.Env = append(os.Environ(),
		"INGRESS_ADDR=127.0.0.1:0", // free ports, read back from the banner
		"CONNECTOR_DEV_SANDBOX_ADDR=127.0.0.1:0",
		"NATS_STORE_DIR="+t.TempDir(),
		"NATS_URL=",
		"LOG_FORMAT=json",
	)
	var logs bytes.Buffer
	cmd.Stderr = &logs
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	started := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ingressURL := make(chan string, 1)
	go func() {
		scanner := bufio.NewScanner(stdout)
		for scanner.Scan() {
			if _, rest, ok := strings.Cut(scanner.Text(), "(dev): ingress "); ok {
				url, _, _ := strings.Cut(rest, ",")
				ingressURL <- url
			}
		}
		close(ingressURL)
	}()
	healthy := false
	select {
	case url := <-ingressURL:
		for !healthy && time.Since(started) < 10*time.Second {
			resp, err := http.Get(url + "/healthz")
			if err == nil {
				resp.Body.Close()
				healthy = resp.StatusCode == http.StatusOK
			}
			if !healthy {
				time.Sleep(50 * time.Millisecond)
			}
		}
	case <-time.After(10 * time.Second):
	}
	if !healthy {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("no 200 on /healthz within 10s; logs:\n%s", logs.String())
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGINT: %v; logs:\n%s", err, logs.String())
		}
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("still running 30s after SIGINT; logs:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "store closed") {
		t.Errorf("logs do not say the store was closed:\n%s", logs.String())
	}
}
