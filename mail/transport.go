package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// Transport sends raw messages.
type Transport interface {
	// Send delivers raw (a whole message, CRLF line ends) from the envelope
	// sender from ("addr" or "Name <addr>") to the bare address to. It is safe
	// for concurrent use and blocks for a free connection and the rate limit.
	Send(ctx context.Context, from, to string, raw []byte) error
	// Close waits for sends in progress and closes every connection.
	Close() error
}

// Options tune an SMTP transport; the zero value gives the defaults.
type Options struct {
	Connections int           // default 4
	Rate        float64       // messages per second, default 20; <0 means unlimited
	Timeout     time.Duration // per SMTP command/connection, default 30s
	HELO        string        // host name for EHLO; default "localhost"
	TLSConfig   *tls.Config   // optional (tests: trust the test server's certificate)
}

// Defaults for Options.
const (
	DefaultConnections = 4
	DefaultRate        = 20
	DefaultTimeout     = 30 * time.Second
	DefaultHELO        = "localhost"
)

func (o Options) withDefaults() Options {
	if o.Connections <= 0 {
		o.Connections = DefaultConnections
	}
	if o.Rate == 0 {
		o.Rate = DefaultRate
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.HELO == "" {
		o.HELO = DefaultHELO
	}
	return o
}

// Open returns the transport for smtpURL:
//
//	smtp://[user:pass@]host[:port]   port 587 by default; STARTTLS when offered
//	smtp://…?tls=required            refuse a server without STARTTLS
//	smtp://…?tls=none                never STARTTLS
//	smtps://[user:pass@]host[:port]  implicit TLS, port 465 by default
//
// With user info, the client authenticates with the best mechanism the server
// offers (go-mail's discovery); over a connection without TLS it will not send a
// password in the clear (PLAIN or LOGIN). With an empty smtpURL, every message
// is written as an .eml file to outboxDir, which is created (0700) if needed.
//
// Open does not connect: the first Send does, and a failed connection is tried
// again on the next Send.
func Open(smtpURL, outboxDir string, o Options) (Transport, error) {
	if smtpURL == "" {
		return openOutbox(outboxDir)
	}
	cfg, err := parseSMTPURL(smtpURL)
	if err != nil {
		return nil, err
	}
	return openSMTP(cfg, o.withDefaults())
}

// smtpConfig is a parsed SMTP URL.
type smtpConfig struct {
	host        string
	port        int
	implicitTLS bool
	policy      gomail.TLSPolicy
	user, pass  string
	auth        bool
}

// parseSMTPURL reads an SMTP URL; its errors never repeat the password.
func parseSMTPURL(raw string) (smtpConfig, error) {
	var cfg smtpConfig
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the URL, password included
		}
		return cfg, fmt.Errorf("mail: SMTP URL: %w", err)
	}
	switch u.Scheme {
	case "smtp":
		cfg.port, cfg.policy = 587, gomail.TLSOpportunistic
	case "smtps":
		cfg.port, cfg.implicitTLS, cfg.policy = 465, true, gomail.TLSMandatory
	default:
		return cfg, fmt.Errorf("mail: SMTP URL %s: scheme must be smtp or smtps", u.Redacted())
	}
	cfg.host = u.Hostname()
	if cfg.host == "" || (u.Path != "" && u.Path != "/") || u.Fragment != "" || u.Opaque != "" {
		return cfg, fmt.Errorf("mail: SMTP URL %s: want scheme://[user:pass@]host[:port]", u.Redacted())
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return cfg, fmt.Errorf("mail: SMTP URL %s: bad port", u.Redacted())
		}
		cfg.port = n
	}
	q := u.Query()
	for k := range q {
		if k != "tls" {
			return cfg, fmt.Errorf("mail: SMTP URL %s: unknown parameter %q", u.Redacted(), k)
		}
	}
	switch mode := q.Get("tls"); {
	case mode == "":
	case mode == "required":
		cfg.policy = gomail.TLSMandatory
	case mode == "none" && !cfg.implicitTLS:
		cfg.policy = gomail.NoTLS
	default:
		return cfg, fmt.Errorf("mail: SMTP URL %s: tls=%q: want required or none (smtp only)", u.Redacted(), mode)
	}
	if u.User != nil {
		cfg.auth = true
		cfg.user = u.User.Username()
		cfg.pass, _ = u.User.Password()
		if cfg.user == "" {
			return cfg, fmt.Errorf("mail: SMTP URL %s: empty user name", u.Redacted())
		}
	}
	return cfg, nil
}
