package broker

import (
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/cleeng-connector/connector/internal/config"
	"github.com/nats-io/nats.go"
)

// Auth says how the connection to NATS authenticates and whether it is
// encrypted. At most one of User, NKeySeedFile and CredsFile is set.
type Auth struct {
	// User and Password authenticate with a user of the server's
	// authorization block: kept out of the URL, which gets printed.
	User, Password string
	// NKeySeedFile holds an NKey user seed (SU...): the server keeps only
	// its public key.
	NKeySeedFile string
	// CredsFile is a .creds file (a user JWT and its seed) of a server in
	// operator mode.
	CredsFile string
	// TLSCA is a PEM file of the CAs to trust for the server's certificate;
	// setting it (or TLSCert) requires TLS. Empty with a tls:// URL: the
	// system's roots.
	TLSCA string
	// TLSCert and TLSKey are a client certificate and its key, for a server
	// that verifies clients (mutual TLS).
	TLSCert, TLSKey string
}

// TLS reports whether the connection must be encrypted whatever the URL says.
func (a Auth) TLS() bool { return a.TLSCA != "" || a.TLSCert != "" }

// options are the nats.go options of a. The files are read here, so a
// missing or malformed one is reported before any connection is tried.
func (a Auth) options() ([]nats.Option, error) {
	var opts []nats.Option
	switch {
	case a.User != "":
		opts = append(opts, nats.UserInfo(a.User, a.Password))
	case a.NKeySeedFile != "":
		opt, err := nats.NkeyOptionFromSeed(a.NKeySeedFile)
		if err != nil {
			return nil, fmt.Errorf("NATS NKey seed %s: %w", a.NKeySeedFile, err)
		}
		opts = append(opts, opt)
	case a.CredsFile != "":
		opts = append(opts, nats.UserCredentials(a.CredsFile))
	}
	if a.TLSCA != "" {
		opts = append(opts, nats.RootCAs(a.TLSCA))
	}
	if a.TLSCert != "" {
		opts = append(opts, nats.ClientCert(a.TLSCert, a.TLSKey))
	}
	return opts, nil
}

// PlaintextRemote is the first server of urls that a connection with auth
// would reach unencrypted on a network (not loopback), or "" when there is
// none: auth requires TLS, or a tls:// (or wss://) URL does (nats.go then
// encrypts every connection of the list), or every server is this machine.
func PlaintextRemote(urls string, auth Auth) string {
	var remote string
	for _, raw := range strings.Split(urls, ",") {
		u, err := url.Parse(strings.TrimSpace(raw))
		switch {
		case err != nil:
			return config.RedactURL(raw)
		case u.Scheme == "tls" || u.Scheme == "wss":
			return ""
		case remote == "" && !loopback(u.Hostname()):
			remote = u.Host
		}
	}
	if auth.TLS() {
		return ""
	}
	return remote
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
