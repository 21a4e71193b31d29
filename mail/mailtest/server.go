// Package mailtest runs an in-process SMTP server (emersion/go-smtp) on a free
// loopback port, for tests and benchmarks of mail delivery: it records or counts
// what it receives, can offer STARTTLS or speak implicit TLS with a certificate
// made at start, require AUTH PLAIN, refuse chosen recipients, and inject
// faults (see Faults).
package mailtest

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	netmail "net/mail"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Credentials are a user name and password the server accepts.
type Credentials struct {
	User, Pass string
}

// ServerOptions configure a Server; the zero value is a plain server that
// accepts and keeps every message.
type ServerOptions struct {
	// TLS offers STARTTLS with a self-signed certificate; see Server.TLSConfig.
	TLS bool
	// ImplicitTLS speaks TLS from the first byte, like a port 465 server; URL
	// then starts with smtps://.
	ImplicitTLS bool
	// Auth, when set, requires AUTH PLAIN with these credentials before MAIL.
	// go-smtp offers AUTH only over TLS unless plain-text auth is allowed here.
	Auth *Credentials
	// AllowInsecureAuth offers AUTH on a connection without TLS too.
	AllowInsecureAuth bool
	// Reject is called for each RCPT; a non-nil error is the reply, e.g.
	// &smtp.SMTPError{Code: 451, ...} for a temporary refusal, 550 for a permanent one.
	Reject func(from, to string) error
	// Discard counts messages but keeps neither bodies nor headers (benchmarks).
	Discard bool
	// Faults, when set, make the server slow and unreliable on purpose.
	Faults *Faults
}

// Received is one delivered copy of a message (one per recipient).
type Received struct {
	From, To string
	Data     []byte         // the message as sent, after dot-unstuffing
	Header   netmail.Header // parsed with net/mail
	Body     []byte         // what follows the header
	TLS      bool           // the session was encrypted
	User     string         // the authenticated user, if any
}

// Server is a running in-process SMTP server.
type Server struct {
	opts      ServerOptions
	srv       *smtp.Server
	ln        net.Listener
	clientTLS *tls.Config
	serveDone chan struct{}
	closeOnce sync.Once
	faults    *faultState // nil without ServerOptions.Faults

	mu      sync.Mutex
	msgs    []Received
	count   int
	perAddr map[string]int
	conns   int
	changed chan struct{} // closed and replaced whenever count grows
}

// NewServer starts a server for the length of a test or benchmark.
func NewServer(t testing.TB, o ServerOptions) *Server {
	t.Helper()
	s, err := Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// Start starts a server without a testing.TB (benchmark programs); stop it with Close.
func Start(o ServerOptions) (*Server, error) {
	s := &Server{opts: o, perAddr: map[string]int{}, changed: make(chan struct{}), serveDone: make(chan struct{})}
	if o.Faults != nil {
		s.faults = newFaultState(*o.Faults)
	}
	srv := smtp.NewServer(smtp.BackendFunc(s.newSession))
	srv.Domain = "mailtest.localhost"
	srv.ReadTimeout = time.Minute
	srv.WriteTimeout = time.Minute
	srv.MaxMessageBytes = 32 << 20
	srv.AllowInsecureAuth = o.AllowInsecureAuth
	srv.ErrorLog = log.New(io.Discard, "", 0)
	if o.TLS || o.ImplicitTLS {
		cfg, pool, err := selfSigned()
		if err != nil {
			return nil, err
		}
		s.clientTLS = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		if o.TLS {
			srv.TLSConfig = cfg
		}
		if o.ImplicitTLS {
			ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
			if err != nil {
				return nil, fmt.Errorf("mailtest: listen: %w", err)
			}
			s.ln = ln
		}
	}
	if s.ln == nil {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("mailtest: listen: %w", err)
		}
		s.ln = ln
	}
	s.srv = srv
	go func() {
		defer close(s.serveDone)
		_ = srv.Serve(countingListener{s.ln, s})
	}()
	return s, nil
}

// Close stops the server and drops every connection. It is safe to call twice.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		_ = s.srv.Close()
		// Serve may not have registered the listener yet, so srv.Close may have
		// missed it: close it here too, or Serve would wait in Accept for ever.
		_ = s.ln.Close()
		<-s.serveDone
	})
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL is the address to give mail.Open: smtp://[user:pass@]127.0.0.1:port, or
// smtps:// with ImplicitTLS. With TLS, also pass TLSConfig in mail.Options.
func (s *Server) URL() string {
	u := url.URL{Scheme: "smtp", Host: s.Addr()}
	if s.opts.ImplicitTLS {
		u.Scheme = "smtps"
	}
	if s.opts.Auth != nil {
		u.User = url.UserPassword(s.opts.Auth.User, s.opts.Auth.Pass)
	}
	return u.String()
}

// TLSConfig is a client configuration that trusts the server's certificate, nil
// without TLS.
func (s *Server) TLSConfig() *tls.Config {
	if s.clientTLS == nil {
		return nil
	}
	return s.clientTLS.Clone()
}

// Messages returns a copy of what was received so far (nothing with Discard).
func (s *Server) Messages() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.msgs...)
}

// Count is the number of copies delivered so far.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count
}

// CountTo is the number of copies delivered to addr.
func (s *Server) CountTo(addr string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.perAddr[addr]
}

// Connections is the number of connections accepted so far.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns
}

// WaitCount waits until at least n copies were delivered, or timeout passes,
// and reports whether n was reached.
func (s *Server) WaitCount(n int, timeout time.Duration) bool {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		s.mu.Lock()
		count, changed := s.count, s.changed
		s.mu.Unlock()
		if count >= n {
			return true
		}
		select {
		case <-changed:
		case <-timer.C:
			return false
		}
	}
}

// deliver records one message for each recipient.
func (s *Server) deliver(from string, to []string, data []byte, tlsOn bool, user string) {
	var hdr netmail.Header
	var body []byte
	if !s.opts.Discard {
		if m, err := netmail.ReadMessage(bytes.NewReader(data)); err == nil {
			hdr = m.Header
			body, _ = io.ReadAll(m.Body)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rcpt := range to {
		s.count++
		s.perAddr[rcpt]++
		if !s.opts.Discard {
			s.msgs = append(s.msgs, Received{From: from, To: rcpt, Data: data, Header: hdr, Body: body, TLS: tlsOn, User: user})
		}
	}
	close(s.changed)
	s.changed = make(chan struct{})
}

// countingListener counts accepted connections and closes those the faults
// drop before the greeting.
type countingListener struct {
	net.Listener
	s *Server
}

func (l countingListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return c, err
		}
		l.s.mu.Lock()
		l.s.conns++
		l.s.mu.Unlock()
		if !l.s.faults.dropGreeting() {
			return c, nil
		}
		_ = c.Close()
	}
}

func (s *Server) newSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{s: s, conn: c}, nil
}

// session is one SMTP session; go-smtp starts a new one after STARTTLS.
type session struct {
	s    *Server
	conn *smtp.Conn
	user string
	from string
	to   []string
	tx   txFaults // the faults drawn for this transaction
}

func (ss *session) authed() bool { return ss.s.opts.Auth == nil || ss.user != "" }

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if !ss.authed() {
		return smtp.ErrAuthRequired
	}
	if err := ss.s.faults.atMail(); err != nil {
		return err
	}
	ss.from, ss.to = from, ss.to[:0]
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if !ss.authed() {
		return smtp.ErrAuthRequired
	}
	if ss.s.opts.Reject != nil {
		if err := ss.s.opts.Reject(ss.from, to); err != nil {
			return err
		}
	}
	tx, err := ss.s.faults.atRcpt(to)
	if err != nil {
		return err
	}
	ss.tx = tx
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	if !ss.authed() {
		return smtp.ErrAuthRequired
	}
	if len(ss.to) == 0 {
		return errors.New("mailtest: no recipients")
	}
	var data []byte
	if ss.s.opts.Discard {
		if _, err := io.Copy(io.Discard, r); err != nil {
			return err
		}
	} else {
		var err error
		if data, err = io.ReadAll(r); err != nil {
			return err
		}
	}
	if err := ss.s.faults.beforeReply(ss.tx); err != nil {
		ss.to = ss.to[:0]
		return err
	}
	_, tlsOn := ss.conn.TLSConnectionState()
	ss.s.deliver(ss.from, ss.to, data, tlsOn, ss.user)
	ss.to = ss.to[:0]
	if ss.s.faults.dropAfterBody(ss.tx) {
		_ = ss.conn.Conn().Close()
		return errDropped
	}
	return nil
}

func (ss *session) Reset() { ss.from, ss.to = "", ss.to[:0] }

func (ss *session) Logout() error { return nil }

// AuthMechanisms offers PLAIN when credentials are required, nothing otherwise.
func (ss *session) AuthMechanisms() []string {
	if ss.s.opts.Auth == nil {
		return nil
	}
	return []string{"PLAIN"}
}

// Auth checks AUTH PLAIN against the configured credentials.
func (ss *session) Auth(mech string) (sasl.Server, error) {
	if ss.s.opts.Auth == nil || mech != "PLAIN" {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		want := ss.s.opts.Auth
		if (identity != "" && identity != user) || user != want.User || pass != want.Pass {
			return smtp.ErrAuthFailed
		}
		ss.user = user
		return nil
	}), nil
}
