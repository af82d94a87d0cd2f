package main

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestComposeSecrets_MakesEnvAndCertificatesOnce: from the repository's
// .env.example it writes an .env only its user reads, every change-me value
// replaced by a random one, and certificates docker-compose.yml's nodes can
// present under their names; a second run keeps both as they are.
func TestComposeSecrets_MakesEnvAndCertificatesOnce(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	example, err := os.ReadFile("../../.env.example")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".env.example"), example, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := runComposeSecrets(t.Context(), nil, []string{"--dir", dir}); err != nil {
		t.Fatal(err)
	}
	envFile := filepath.Join(dir, ".env")
	env, err := os.ReadFile(envFile)
	if err != nil {
		t.Fatal(err)
	}
	password := regexp.MustCompile(`(?m)^NATS_PASSWORD=([A-Z2-7]{26})$`).FindSubmatch(env)
	if password == nil || regexp.MustCompile(`(?m)^[^#].*=`+placeholder).Match(env) {
		t.Errorf(".env keeps a placeholder or has no random NATS_PASSWORD:\n%s", env)
	}
	if info, _ := os.Stat(envFile); info.Mode().Perm() != 0o600 {
		t.Errorf(".env mode %v, want 0600", info.Mode().Perm())
	}
	caPEM, err := os.ReadFile(filepath.Join(dir, ".compose", "certs", "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	serverPEM, err := os.ReadFile(filepath.Join(dir, ".compose", "certs", "server.pem"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	block, _ := pem.Decode(serverPEM)
	server, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"nats-1", "nats-2", "nats-3"} {
		if _, err := server.Verify(x509.VerifyOptions{DNSName: name, Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}); err != nil {
			t.Errorf("server certificate for %s: %v", name, err)
		}
	}

	if err := runComposeSecrets(t.Context(), nil, []string{"--dir", dir}); err != nil {
		t.Fatal(err)
	}
	again, _ := os.ReadFile(envFile)
	caAgain, _ := os.ReadFile(filepath.Join(dir, ".compose", "certs", "ca.pem"))
	if string(again) != string(env) || string(caAgain) != string(caPEM) {
		t.Error("a second run replaced .env or the CA")
	}
}

// TestComposeFile_PublishesOnlyIngressAndSandboxesOnLoopback: NATS is
// reachable only inside docker-compose.yml's network.
func TestComposeFile_PublishesOnlyIngressAndSandboxesOnLoopback(t *testing.T) {
	t.Parallel()
	compose, err := os.ReadFile("../../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var published []string
	for _, m := range regexp.MustCompile(`(?m)^\s*ports:\s*\[(.*)\]`).FindAllSubmatch(compose, -1) {
		published = append(published, strings.Split(string(m[1]), ",")...)
	}
	want := []string{`"127.0.0.1:8080:8080"`, `"127.0.0.1:8081:8080"`, `"127.0.0.1:8090:8090"`}
	if strings.Join(published, " ") != strings.Join(want, " ") || strings.Count(string(compose), "ports:") != len(want) {
		t.Errorf("published ports %q, want only %q", published, want)
	}
}
