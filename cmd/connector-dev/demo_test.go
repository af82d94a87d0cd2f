package main

import (
	"bytes"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/cleeng-connector/connector/cmd/connector-dev/stack"
	"github.com/cleeng-connector/connector/internal/faultinject"
)

// TestDemo_ExitStatusSaysWhetherEveryStepPassed runs `connector-dev demo` as
// an OS process against a running dev stack, as `make demo` does beside
// `make run`: it exits 0 when the walk completes, and 1 naming the step
// when one fails (here Cleeng refusing to create the order).
func TestDemo_ExitStatusSaysWhetherEveryStepPassed(t *testing.T) {
	t.Parallel()
	dev := stack.StartSeeded(t)
	demo := func() (exitCode int, stdout, stderr string) {
		cmd := exec.Command(os.Args[0], "demo")
		cmd.Env = append(os.Environ(), "CONNECTOR_TEST_MAIN=1",
			"INGRESS_ADDR="+strings.TrimPrefix(dev.IngressURL, "http://"),
			"CONNECTOR_DEV_SANDBOX_ADDR="+strings.TrimPrefix(dev.SandboxURL, "http://"))
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Fatal(err)
		}
		return cmd.ProcessState.ExitCode(), out.String(), errOut.String()
	}

	code, stdout, stderr := demo()
	if code != 0 || !strings.Contains(stdout, "terminated") || strings.Contains(stdout, "no connector answered") {
		t.Fatalf("demo against the running stack: exit %d, want 0 on that stack\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}

	dev.Sandboxes.Cleeng.Faults().Add(faultinject.Fault{Method: http.MethodPost, PathPrefix: "/3.1/orders", ErrorRate: 1, ErrorStatus: http.StatusInternalServerError})
	code, stdout, stderr = demo()
	if code != 1 || !strings.Contains(stderr, "step 2 (initial purchase with a test card)") {
		t.Fatalf("demo with Cleeng failing orders: exit %d, want 1 naming step 2\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}
