package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cleeng-connector/connector/internal/cli"
	"github.com/cleeng-connector/connector/internal/config"
	"github.com/cleeng-connector/connector/internal/devcerts"
)

// composeHosts are the names the NATS nodes of docker-compose.yml answer to,
// and this machine's, for the server certificate.
var composeHosts = []string{"nats-1", "nats-2", "nats-3", "localhost", "127.0.0.1"}

// placeholder is a value of the example env file (NAME=change-me) that
// compose-secrets replaces with a random one.
const placeholder = "change-me"

// runComposeSecrets makes what docker-compose.yml reads and git must not
// hold, each only when absent: the NATS certificates in .compose/certs and
// the env file .env, copied from .env.example with every placeholder
// replaced by a random value.
func runComposeSecrets(_ context.Context, _ *config.Env, args []string) error {
	flags := cli.NewFlagSet("compose-secrets")
	dir := flags.String("dir", ".", "the directory of docker-compose.yml")
	if err := cli.ParseFlags(flags, args); err != nil {
		return err
	}
	certs := filepath.Join(*dir, ".compose", "certs")
	switch _, err := os.Stat(filepath.Join(certs, "ca.pem")); {
	case errors.Is(err, os.ErrNotExist):
		// The NATS containers run as an unprivileged user, so the key is
		// readable by all; the directory is this user's alone (0700), and
		// docker-compose.yml mounts the files one by one.
		if _, err := devcerts.Write(certs, composeHosts, 0o644); err != nil {
			return fmt.Errorf("certificates: %w", err)
		}
		fmt.Printf("wrote the NATS certificates into %s\n", certs)
	case err != nil:
		return err
	}
	envFile := filepath.Join(*dir, ".env")
	if _, err := os.Stat(envFile); err == nil {
		return nil // kept as it is
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	example, err := os.ReadFile(filepath.Join(*dir, ".env.example"))
	if err != nil {
		return err
	}
	var out bytes.Buffer
	for line := range bytes.Lines(example) {
		if name, value, ok := bytes.Cut(line, []byte("=")); ok && !bytes.HasPrefix(name, []byte("#")) &&
			string(bytes.TrimSpace(value)) == placeholder {
			line = fmt.Appendf(nil, "%s=%s\n", name, rand.Text())
		}
		out.Write(line)
	}
	if err := os.WriteFile(envFile, out.Bytes(), 0o600); err != nil {
		return err
	}
	fmt.Printf("wrote %s from .env.example with random secrets\n", envFile)
	return nil
}
