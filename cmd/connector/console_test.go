package main

import (
	"strings"
	"testing"

	"github.com/cleeng-connector/connector/internal/config"
)

// TestConsoleCommand_RefusesToStartWithoutCredentialsOrOffLoopback: the
// production console never serves without its own credentials, nor plain
// HTTP on a network address. It says which variable is wrong before
// touching NATS.
func TestConsoleCommand_RefusesToStartWithoutCredentialsOrOffLoopback(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for name, tc := range map[string]struct {
		env  map[string]string
		want []string
	}{
		"no credentials":     {map[string]string{}, []string{"CONSOLE_USER: required", "CONSOLE_PASSWORD: required, at least 16"}},
		"a short password":   {map[string]string{"CONSOLE_USER": "ops", "CONSOLE_PASSWORD": "short"}, []string{"CONSOLE_PASSWORD: required, at least 16"}},
		"a network address":  {map[string]string{"CONSOLE_USER": "ops", "CONSOLE_PASSWORD": "a-long-enough-password", "CONSOLE_ADDR": "0.0.0.0:8070"}, []string{"CONSOLE_ADDR:", "not a loopback address"}},
		"an address typo'ed": {map[string]string{"CONSOLE_USER": "ops", "CONSOLE_PASSWORD": "a-long-enough-password", "CONSOLE_ADDR": "8070"}, []string{"CONSOLE_ADDR:", "not host:port"}},
	} {
		t.Run(name, func(t *testing.T) {
			tc.env["NATS_STORE_DIR"] = dir
			err := runConsole(t.Context(), config.FromMap(tc.env), nil)
			if err == nil {
				t.Fatal("the console started")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "a-long-enough-password") {
				t.Errorf("error %q prints the password", err)
			}
		})
	}
}
