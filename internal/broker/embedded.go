package broker

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gofrs/flock"
	"github.com/nats-io/nats-server/v2/server"
)

// Embedded is a nats-server running in this process, holding its store.
type Embedded struct {
	*server.Server
	lock *flock.Flock
}

// LockFile is the file in an embedded server's store directory that the
// server holds locked while it runs (gofrs/flock: an flock(2) lock, which
// the kernel releases when the process dies) and in which it writes its
// process id and client URL, so that another process about to open the
// same store learns where to connect instead.
const LockFile = "connector.lock"

// StoreInUseError says that another process serves the store: two servers
// on one JetStream store would corrupt it.
type StoreInUseError struct {
	Dir string
	// PID and URL are the holder's, as it wrote them; zero and empty while
	// it is still starting.
	PID int
	URL string
}

func (e *StoreInUseError) Error() string {
	holder := "another process"
	if e.PID != 0 {
		holder += " (pid " + strconv.Itoa(e.PID) + ")"
	}
	if e.URL == "" {
		return fmt.Sprintf("the NATS store in %s is held by %s: set NATS_URL to the URL it printed to reach its server instead", e.Dir, holder)
	}
	return fmt.Sprintf("the NATS store in %s is held by %s, which serves it at %s: set NATS_URL=%s to reach it instead", e.Dir, holder, e.URL, e.URL)
}

// StartEmbedded starts a JetStream-enabled nats-server on 127.0.0.1:port
// (0 or -1: a free port) with its store in storeDir, which it locks (see
// LockFile): a store another process holds is a *StoreInUseError. The
// server has no authentication, so it listens on loopback only. It is
// ready for clients when this returns.
func StartEmbedded(storeDir string, port int) (*Embedded, error) {
	if err := os.MkdirAll(storeDir, 0o750); err != nil {
		return nil, fmt.Errorf("NATS_STORE_DIR %s: %w", storeDir, err)
	}
	path := filepath.Join(storeDir, LockFile)
	lock := flock.New(path, flock.SetFlag(os.O_CREATE|os.O_RDWR), flock.SetPermissions(0o600))
	locked, err := lock.TryLock()
	if err != nil {
		return nil, fmt.Errorf("NATS_STORE_DIR %s: lock: %w", storeDir, err)
	}
	if !locked {
		return nil, storeHolder(storeDir, path)
	}
	if port > 0 {
		// nats-server reports a port it cannot listen on only by never
		// becoming ready: ask first, for an error that says why.
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			_ = lock.Unlock()
			return nil, fmt.Errorf("embedded NATS: %w (NATS_EMBEDDED_PORT=0 picks a free port)", err)
		}
		ln.Close()
	} else {
		port = -1 // nats-server's "any free port"; its 0 means 4222
	}
	srv, err := server.NewServer(&server.Options{
		Host:      "127.0.0.1",
		Port:      port,
		JetStream: true,
		StoreDir:  storeDir,
		NoSigs:    true,
		NoLog:     true,
	})
	if err != nil {
		_ = lock.Unlock()
		return nil, fmt.Errorf("embedded NATS: %w", err)
	}
	e := &Embedded{Server: srv, lock: lock}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		e.Shutdown()
		return nil, errors.New("embedded NATS: not ready for connections within 10s")
	}
	if err := os.WriteFile(path, fmt.Appendf(nil, "%d\n%s\n", os.Getpid(), srv.ClientURL()), 0o600); err != nil {
		e.Shutdown()
		return nil, fmt.Errorf("NATS_STORE_DIR %s: %w", storeDir, err)
	}
	return e, nil
}

// storeHolder reads who holds the store's lock file.
func storeHolder(dir, path string) error {
	e := &StoreInUseError{Dir: dir}
	b, err := os.ReadFile(path)
	if err != nil {
		return errors.Join(e, err)
	}
	pid, url, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	e.PID, _ = strconv.Atoi(pid)
	e.URL = url
	return e
}

// Shutdown stops the server, waits for its store to be flushed and closed,
// and releases the store.
func (e *Embedded) Shutdown() {
	e.Server.Shutdown()
	e.WaitForShutdown()
	_ = e.lock.Unlock()
}
