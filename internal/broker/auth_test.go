package broker_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cleeng-connector/connector/internal/broker"
	"github.com/cleeng-connector/connector/internal/devcerts"
	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"
)

// secureServer starts a JetStream nats-server on loopback that requires TLS
// with certs' server certificate (and a client certificate when
// verifyClients), configured further by setup, and returns its client URL.
func secureServer(t *testing.T, certs devcerts.Files, verifyClients bool, setup func(*server.Options)) string {
	t.Helper()
	tlsConfig, err := server.GenTLSConfig(&server.TLSConfigOpts{
		CertFile: certs.ServerCert, KeyFile: certs.ServerKey, CaFile: certs.CA, Verify: verifyClients,
	})
	if err != nil {
		t.Fatal(err)
	}
	opts := &server.Options{
		Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoSigs: true, NoLog: true,
		TLS: true, TLSVerify: verifyClients, TLSConfig: tlsConfig, TLSTimeout: 5,
	}
	setup(opts)
	srv, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	t.Cleanup(srv.Shutdown)
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	return srv.ClientURL()
}

// TestOpen_AuthenticatesEveryWayOverTLS: each way Auth offers reaches a
// server that requires it, over TLS checked against the development CA, and
// declares the topology; the same server refuses a connection without it
// (and without the CA), and the refusal does not print the password.
func TestOpen_AuthenticatesEveryWayOverTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certs, err := devcerts.Write(dir, []string{"localhost", "127.0.0.1"}, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	const password = "s3cret-nats-password"
	seedFile, nkeyUser := nkeySeedFile(t, dir)
	credsFile, trusted := operatorCreds(t, dir)
	for _, tc := range []struct {
		name          string
		verifyClients bool
		setup         func(*server.Options)
		good, bad     broker.Auth
	}{
		{
			name:  "user and password",
			setup: func(o *server.Options) { o.Username, o.Password = "connector", password },
			good:  broker.Auth{User: "connector", Password: password, TLSCA: certs.CA},
			bad:   broker.Auth{User: "connector", Password: "wrong-" + password, TLSCA: certs.CA},
		},
		{
			name:  "TLS without the CA",
			setup: func(o *server.Options) { o.Username, o.Password = "connector", password },
			good:  broker.Auth{User: "connector", Password: password, TLSCA: certs.CA},
			bad:   broker.Auth{User: "connector", Password: password},
		},
		{
			name:          "client certificate",
			verifyClients: true,
			setup:         func(*server.Options) {},
			good:          broker.Auth{TLSCA: certs.CA, TLSCert: certs.ClientCert, TLSKey: certs.ClientKey},
			bad:           broker.Auth{TLSCA: certs.CA},
		},
		{
			name:  "NKey seed",
			setup: func(o *server.Options) { o.Nkeys = []*server.NkeyUser{{Nkey: nkeyUser}} },
			good:  broker.Auth{NKeySeedFile: seedFile, TLSCA: certs.CA},
			bad:   broker.Auth{TLSCA: certs.CA},
		},
		{
			name:  "creds file",
			setup: trusted,
			good:  broker.Auth{CredsFile: credsFile, TLSCA: certs.CA},
			bad:   broker.Auth{TLSCA: certs.CA},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			url := secureServer(t, certs, tc.verifyClients, tc.setup)
			b, err := broker.Open(context.Background(), broker.Options{URL: url, Auth: tc.good, Name: "auth-test"})
			if err != nil {
				t.Fatalf("with %s: %v", tc.name, err)
			}
			defer b.Close()
			if err := b.Ready(context.Background()); err != nil {
				t.Fatal(err)
			}
			if !b.Conn.TLSRequired() || b.Conn.ConnectedUrlRedacted() == "" {
				t.Errorf("connection not over TLS")
			}
			bad, err := broker.Open(context.Background(), broker.Options{URL: url, Auth: tc.bad, Name: "auth-test"})
			if err == nil {
				bad.Close()
				t.Fatalf("connected without %s", tc.name)
			}
			if strings.Contains(err.Error(), password) {
				t.Errorf("refusal prints the password: %v", err)
			}
		})
	}
}

// nkeySeedFile writes a new NKey user's seed into dir and returns the file
// and the user's public key.
func nkeySeedFile(t *testing.T, dir string) (string, string) {
	t.Helper()
	user, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	seed, _ := user.Seed()
	pub, _ := user.PublicKey()
	path := filepath.Join(dir, "user.nk")
	if err := os.WriteFile(path, seed, 0o600); err != nil {
		t.Fatal(err)
	}
	return path, pub
}

// operatorCreds makes an operator, an account with JetStream and a user of
// it (and the system account JetStream needs), writes the user's .creds file into dir and returns it with the
// server setting that trusts the operator and knows the account.
func operatorCreds(t *testing.T, dir string) (string, func(*server.Options)) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	operator, err := nkeys.CreateOperator()
	must(err)
	operatorPub, _ := operator.PublicKey()
	operatorClaims := jwt.NewOperatorClaims(operatorPub)
	operatorJWT, err := operatorClaims.Encode(operator)
	must(err)
	operatorClaims, err = jwt.DecodeOperatorClaims(operatorJWT)
	must(err)
	account, err := nkeys.CreateAccount()
	must(err)
	accountPub, _ := account.PublicKey()
	accountClaims := jwt.NewAccountClaims(accountPub)
	accountClaims.Limits.JetStreamLimits = jwt.JetStreamLimits{MemoryStorage: -1, DiskStorage: -1, Streams: -1, Consumer: -1}
	accountJWT, err := accountClaims.Encode(operator)
	must(err)
	system, err := nkeys.CreateAccount()
	must(err)
	systemPub, _ := system.PublicKey()
	systemJWT, err := jwt.NewAccountClaims(systemPub).Encode(operator)
	must(err)
	user, err := nkeys.CreateUser()
	must(err)
	userPub, _ := user.PublicKey()
	userJWT, err := jwt.NewUserClaims(userPub).Encode(account)
	must(err)
	seed, _ := user.Seed()
	creds, err := jwt.FormatUserConfig(userJWT, seed)
	must(err)
	path := filepath.Join(dir, "user.creds")
	must(os.WriteFile(path, creds, 0o600))
	return path, func(o *server.Options) {
		resolver := &server.MemAccResolver{}
		must(resolver.Store(accountPub, accountJWT))
		must(resolver.Store(systemPub, systemJWT))
		o.SystemAccount = systemPub
		o.TrustedOperators = []*jwt.OperatorClaims{operatorClaims}
		o.AccountResolver = resolver
	}
}

// TestOpen_RedactsThePasswordOfTheURL: a password given in NATS_URL never
// reaches an error or the printable URL.
func TestOpen_RedactsThePasswordOfTheURL(t *testing.T) {
	t.Parallel()
	_, err := broker.Open(context.Background(), broker.Options{URL: "nats://connector:hunter2@127.0.0.1:1"})
	if err == nil || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "connector:xxxxx@127.0.0.1:1") {
		t.Errorf("error %v: want the URL with its password redacted", err)
	}
}

// TestStartEmbedded_RefusesAStoreAnotherServerHolds: a second server on the
// same store is refused with the first one's URL to use instead; once the
// first has stopped, the store is free.
func TestStartEmbedded_RefusesAStoreAnotherServerHolds(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first, err := broker.StartEmbedded(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	second, err := broker.StartEmbedded(dir, 0)
	var inUse *broker.StoreInUseError
	if !errors.As(err, &inUse) {
		second.Shutdown()
		first.Shutdown()
		t.Fatalf("second server on the store: %v, want StoreInUseError", err)
	}
	if inUse.URL != first.ClientURL() || inUse.PID != os.Getpid() || !strings.Contains(err.Error(), "NATS_URL="+first.ClientURL()) {
		t.Errorf("error %v (%+v): want the holder's pid %d and NATS_URL=%s", err, *inUse, os.Getpid(), first.ClientURL())
	}
	first.Shutdown()
	again, err := broker.StartEmbedded(dir, 0)
	if err != nil {
		t.Fatalf("after the holder stopped: %v", err)
	}
	again.Shutdown()
}

func TestPlaintextRemote(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		urls string
		auth broker.Auth
		want string
	}{
		{"nats://127.0.0.1:4222", broker.Auth{}, ""},
		{"nats://localhost:4222,nats://[::1]:4223", broker.Auth{}, ""},
		{"nats://127.0.0.1:4222,nats://nats-2:4222", broker.Auth{}, "nats-2:4222"},
		{"nats://u:p@nats-1:4222", broker.Auth{User: "u"}, "nats-1:4222"},
		{"nats://nats-1:4222", broker.Auth{TLSCA: "ca.pem"}, ""},
		{"nats://nats-1:4222", broker.Auth{TLSCert: "c.pem", TLSKey: "k.pem"}, ""},
		{"tls://nats-1:4222,nats://nats-2:4222", broker.Auth{}, ""},
	} {
		if got := broker.PlaintextRemote(tc.urls, tc.auth); got != tc.want {
			t.Errorf("PlaintextRemote(%q, %+v) = %q, want %q", tc.urls, tc.auth, got, tc.want)
		}
	}
}
