package console

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/cleeng-connector/connector/internal/broker"
)

// MinPasswordLength is the shortest password the production console accepts.
const MinPasswordLength = 16

// pageTimeout bounds the JetStream reads of one page.
const pageTimeout = 15 * time.Second

// Config is what the console serves and whom it lets in.
type Config struct {
	// User and Password are the HTTP Basic credentials of the console.
	User, Password string
	// Broker is bound to the deployment's streams and buckets.
	Broker *broker.Broker
	Logger zerolog.Logger
}

// Console serves the operator console.
type Console struct {
	cfg Config
	// userHash and passwordHash are compared in constant time, whatever
	// the length of what a client sends.
	userHash, passwordHash [32]byte
	// csrfKey signs the tokens of the console's forms; a restart makes the
	// forms of the old process stale, which only asks for a reload.
	csrfKey []byte
	pages   map[string]*template.Template
	static  http.Handler
}

//go:embed templates/*.html static/*
var files embed.FS

// CheckAddr refuses a listen address other than a loopback one: the
// console speaks plain HTTP with Basic credentials, so it is reached
// through a tunnel or a TLS proxy beside it, never over a network.
func CheckAddr(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port: %w", addr, err)
	}
	if ip := net.ParseIP(host); host == "localhost" || ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("%q is not a loopback address: the console serves plain HTTP with Basic credentials; listen on 127.0.0.1 and reach it through a tunnel or a TLS proxy beside it", addr)
}

// New builds the console. It refuses empty credentials, whatever the role:
// the dev stack passes fixed ones.
func New(cfg Config) (*Console, error) {
	if cfg.User == "" || cfg.Password == "" {
		return nil, errors.New("console: no credentials")
	}
	if cfg.Broker == nil {
		return nil, errors.New("console: no broker")
	}
	c := &Console{cfg: cfg, userHash: sha256.Sum256([]byte(cfg.User)), passwordHash: sha256.Sum256([]byte(cfg.Password)),
		csrfKey: make([]byte, 32), pages: map[string]*template.Template{}}
	_, _ = rand.Read(c.csrfKey) // never fails (crypto/rand)
	names, err := fs.Glob(files, "templates/*.html")
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		if name == "templates/layout.html" || name == "templates/partials.html" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(files, "templates/layout.html", "templates/partials.html", name)
		if err != nil {
			return nil, fmt.Errorf("console: template %s: %w", name, err)
		}
		c.pages[strings.TrimSuffix(strings.TrimPrefix(name, "templates/"), ".html")] = t
	}
	static, err := fs.Sub(files, "static")
	if err != nil {
		return nil, err
	}
	c.static = http.StripPrefix("/static/", http.FileServerFS(static))
	return c, nil
}

// Handler serves every page behind the credentials.
func (c *Console) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", c.overview)
	mux.HandleFunc("GET /dead-letters", c.deadLetters)
	mux.HandleFunc("GET /dead-letters/{seq}", c.deadLetter)
	mux.HandleFunc("GET /dead-letters/{seq}/replay", c.confirmReplay)
	mux.HandleFunc("POST /dead-letters/{seq}/replay", c.replay)
	mux.HandleFunc("GET /operations", c.operations)
	mux.HandleFunc("GET /operation", c.operation)
	mux.HandleFunc("GET /timeline", c.timeline)
	mux.HandleFunc("GET /nats", c.nats)
	mux.Handle("GET /static/", c.static)
	// Browsers send the Basic credentials with any request to the console,
	// a forged cross-site form included: such POSTs are refused before the
	// token is even looked at.
	return securityHeaders(c.authenticate(http.NewCrossOriginProtection().Handler(mux)))
}

// securityHeaders: no script, style or form target but the console's own,
// never framed, never cached (pages show payment data).
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

func (c *Console) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, password, ok := r.BasicAuth()
		u, p := sha256.Sum256([]byte(user)), sha256.Sum256([]byte(password))
		if !ok || subtle.ConstantTimeCompare(u[:], c.userHash[:])&subtle.ConstantTimeCompare(p[:], c.passwordHash[:]) != 1 {
			if ok {
				c.cfg.Logger.Warn().Str("remote", r.RemoteAddr).Msg("console: wrong credentials")
			}
			w.Header().Set("WWW-Authenticate", `Basic realm="connector console", charset="UTF-8"`)
			http.Error(w, "the console needs its credentials (CONSOLE_USER, CONSOLE_PASSWORD)", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// token signs a form's action: the replay of one letter is confirmed with
// a token no other page or site can produce.
func (c *Console) token(action string) string {
	m := hmac.New(sha256.New, c.csrfKey)
	m.Write([]byte(action))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (c *Console) validToken(action, got string) bool {
	return hmac.Equal([]byte(c.token(action)), []byte(got))
}

// page is what every template gets: its title, the current section for the
// navigation, and its own data.
type page struct {
	Title   string
	Section string
	Data    any
}

func (c *Console) render(w http.ResponseWriter, status int, name, title string, data any) {
	t, ok := c.pages[name]
	if !ok {
		panic("console: no template " + name)
	}
	var b strings.Builder
	if err := t.Execute(&b, page{Title: title, Section: name, Data: data}); err != nil {
		c.cfg.Logger.Error().Err(err).Str("page", name).Msg("console: render")
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(b.String()))
}

// fail shows an error page. The messages are the console's own and the
// JetStream errors, which hold no secrets.
func (c *Console) fail(w http.ResponseWriter, status int, err error) {
	if status >= 500 {
		c.cfg.Logger.Error().Err(err).Msg("console")
	}
	c.render(w, status, "error", http.StatusText(status), err.Error())
}

func pageContext(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), pageTimeout)
}
