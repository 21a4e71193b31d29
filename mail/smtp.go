package mail

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math"
	"net"
	"net/textproto"
	"slices"
	"strings"
	"sync"
	"time"

	gomail "github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"
	"golang.org/x/time/rate"
)

// waiter is the part of *rate.Limiter the transport uses.
type waiter interface {
	Wait(ctx context.Context) error
}

// smtpTransport keeps up to N connections open and sends each message over
// one of them with MAIL, RCPT and DATA: the bytes are rendered once by the
// caller and written as they are. go-mail dials, negotiates TLS and logs in.
type smtpTransport struct {
	client  *gomail.Client
	timeout time.Duration
	limit   waiter            // nil: unlimited
	slots   chan *smtp.Client // one entry per connection; nil until dialled
	done    chan struct{}     // closed by Close
	closing sync.Once
}

// connKey carries, in a dial's context, where to record the raw connection.
type connKey struct{}

// trackingDial dials TCP and records the connection, so that it can be closed
// when go-mail gives up after connecting (a failed EHLO, STARTTLS or AUTH
// returns an error but leaves the socket open).
func trackingDial(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, addr)
	if p, ok := ctx.Value(connKey{}).(*net.Conn); ok && err == nil {
		*p = conn
	}
	return conn, err
}

func openSMTP(cfg smtpConfig, o Options) (*smtpTransport, error) {
	if math.IsNaN(o.Rate) {
		return nil, fmt.Errorf("mail: rate is not a number")
	}
	if err := checkControls("HELO", o.HELO); err != nil || strings.ContainsAny(o.HELO, " \t") {
		return nil, fmt.Errorf("mail: HELO name %q", o.HELO)
	}
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if o.TLSConfig != nil {
		tlsCfg = o.TLSConfig.Clone()
	}
	if tlsCfg.ServerName == "" {
		tlsCfg.ServerName = cfg.host
	}
	opts := []gomail.Option{
		gomail.WithPort(cfg.port),
		gomail.WithTimeout(o.Timeout),
		gomail.WithHELO(o.HELO),
		gomail.WithTLSPolicy(cfg.policy),
		gomail.WithTLSConfig(tlsCfg),
		gomail.WithoutSMTPUTF8(), // addresses are ASCII (checkAddr)
	}
	if cfg.implicitTLS {
		// go-mail only knows the connection is encrypted (and so allows PLAIN or
		// LOGIN) when it dials the TLS connection itself.
		opts = append(opts, gomail.WithSSL())
	} else {
		opts = append(opts, gomail.WithDialContextFunc(trackingDial))
	}
	if cfg.auth {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(cfg.user), gomail.WithPassword(cfg.pass))
	}
	client, err := gomail.NewClient(cfg.host, opts...)
	if err != nil {
		return nil, fmt.Errorf("mail: smtp client: %w", err)
	}
	t := &smtpTransport{
		client:  client,
		timeout: o.Timeout,
		slots:   make(chan *smtp.Client, o.Connections),
		done:    make(chan struct{}),
	}
	for range o.Connections {
		t.slots <- nil
	}
	if o.Rate > 0 && !math.IsInf(o.Rate, 1) {
		// A burst of one keeps every one-second window within the limit (+1);
		// fast limits get 10 ms worth so the waits do not get too short to time.
		burst := max(1, int(math.Ceil(o.Rate/100)))
		t.limit = rate.NewLimiter(rate.Limit(o.Rate), burst)
	}
	return t, nil
}

// Send implements Transport.
func (t *smtpTransport) Send(ctx context.Context, from, to string, raw []byte) error {
	var out error
	t.sendEach(ctx, from, []Outgoing{{To: to, Raw: raw}}, func(_ int, err error) bool {
		out = err
		return true
	})
	return out
}

// deliver sends one message over c (dialling when c is nil) and returns the
// connection to keep, nil when it is no longer usable.
func (t *smtpTransport) deliver(ctx context.Context, c *smtp.Client, from, to string, raw []byte) (*smtp.Client, error) {
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return c, fmt.Errorf("mail: %w", err)
		}
		reused := c != nil
		if c == nil {
			var err error
			if c, err = t.dial(ctx); err != nil {
				return nil, err
			}
		}
		step, err := t.transact(c, from, to, raw)
		if err == nil {
			return c, nil
		}
		se := newSendError(step, err)
		if se.Code != 0 && se.Code != 421 {
			// The server answered and the session goes on once the transaction is reset.
			if rerr := c.Reset(); rerr != nil {
				_ = c.Close()
				c = nil
			}
			return c, se
		}
		_ = c.Close()
		c = nil
		// A connection that sat idle may have been dropped by the server. Nothing
		// was sent yet, so one more try on a fresh connection is safe.
		if reused && step == StepMail && attempt == 0 {
			continue
		}
		return nil, se
	}
}

// dial opens, secures and authenticates one connection. A connection that
// the server drops or resets after accepting it (before or during the
// greeting, EHLO or STARTTLS) is dialled once more: nothing was sent, and a
// busy server does that now and then. A server that refuses connections, or
// answers with an error, fails at once.
func (t *smtpTransport) dial(ctx context.Context) (*smtp.Client, error) {
	for attempt := 0; ; attempt++ {
		var raw net.Conn
		c, err := t.client.DialToSMTPClientWithContext(context.WithValue(ctx, connKey{}, &raw))
		if err == nil {
			return c, nil
		}
		if raw != nil {
			_ = raw.Close()
		}
		se := newSendError(StepConnect, err)
		if raw == nil || se.Code != 0 || !IsTemporary(se) || attempt > 0 || ctx.Err() != nil {
			return nil, se
		}
	}
}

// transact runs MAIL, RCPT and DATA; it returns the step that failed.
func (t *smtpTransport) transact(c *smtp.Client, from, to string, raw []byte) (string, error) {
	if err := c.UpdateDeadline(t.timeout); err != nil {
		return StepMail, err
	}
	if ok, _ := c.Extension("PIPELINING"); ok && isASCII(from) && isASCII(to) {
		return pipelined(c.Text, from, to, raw)
	}
	if err := c.Mail("<" + from + ">"); err != nil {
		return StepMail, err
	}
	if err := c.Rcpt("<" + to + ">"); err != nil {
		return StepRcpt, err
	}
	if err := c.UpdateDeadline(t.timeout); err != nil {
		return StepData, err
	}
	w, err := c.Data()
	if err != nil {
		return StepData, err
	}
	if _, err := w.Write(raw); err != nil {
		return StepData, err
	}
	return StepData, w.Close()
}

// Close implements Transport: it waits for sends in progress, then says QUIT.
func (t *smtpTransport) Close() error {
	t.closing.Do(func() {
		close(t.done)
		for range cap(t.slots) {
			c := <-t.slots
			if c == nil {
				continue
			}
			_ = c.UpdateDeadline(min(t.timeout, 5*time.Second))
			if err := c.Quit(); err != nil {
				_ = c.Close()
			}
		}
	})
	return nil
}

// pipelined is transact for a server that offers PIPELINING (RFC 2920):
// MAIL, RCPT and DATA go in one write and their three replies are read in
// order, then the body goes in one more; two round trips instead of four.
func pipelined(tx *textproto.Conn, from, to string, raw []byte) (string, error) {
	writeEnvelope(tx, from, to)
	if err := tx.Writer.W.Flush(); err != nil {
		return StepMail, err
	}
	if step, err := readEnvelope(tx); err != nil {
		return step, err
	}
	if err := writeData(tx, raw); err != nil {
		return StepData, err
	}
	_, _, err := tx.ReadResponse(250)
	return StepData, err
}

// writeEnvelope buffers MAIL, RCPT and DATA for one message.
func writeEnvelope(tx *textproto.Conn, from, to string) {
	tx.Writer.W.WriteString("MAIL FROM:<" + from + ">\r\nRCPT TO:<" + to + ">\r\nDATA\r\n")
}

// readEnvelope reads the replies to writeEnvelope's three commands and
// returns the step that failed first. Every reply is read even after a
// refusal, so the session stays in step for the RSET that follows; an error
// that is not a *textproto.Error means the connection is gone.
func readEnvelope(tx *textproto.Conn) (string, error) {
	var step string
	var first error
	for _, r := range []struct {
		step string
		code int
	}{{StepMail, 250}, {StepRcpt, 25}, {StepData, 354}} {
		_, _, err := tx.ReadResponse(r.code)
		var proto *textproto.Error
		if err != nil && !errors.As(err, &proto) {
			return r.step, err
		}
		if err != nil && first == nil {
			step, first = r.step, err
		}
		if err == nil && r.step == StepData && first != nil {
			// A server that took DATA although MAIL or RCPT failed gets an
			// empty message ended at once, which it must refuse.
			w := tx.Writer.W
			if _, err := w.WriteString(".\r\n"); err != nil {
				return step, err
			}
			if err := w.Flush(); err != nil {
				return step, err
			}
			if _, _, err := tx.ReadResponse(250); err != nil && !errors.As(err, &proto) {
				return step, err
			}
		}
	}
	return step, first
}

var (
	crlf    = []byte("\r\n")
	crlfDot = []byte("\r\n.")
)

// crlfOnly reports whether every line of raw ends in CRLF (all of ours do).
func crlfOnly(raw []byte) bool {
	return bytes.Count(raw, crlf[1:]) == bytes.Count(raw, crlf)
}

// writeData sends raw as the DATA body with its ending. A message in CRLF
// form is dot-stuffed with one replace and sent in one write; anything else
// goes through textproto's byte-by-byte DotWriter.
func writeData(tx *textproto.Conn, raw []byte) error {
	if !crlfOnly(raw) {
		dw := tx.DotWriter()
		if _, err := dw.Write(raw); err != nil {
			return err
		}
		return dw.Close()
	}
	w := tx.Writer.W
	if _, err := w.Write(appendData(nil, raw)); err != nil {
		return err
	}
	return w.Flush()
}

// appendData appends raw, in CRLF form, dot-stuffed and ended with ".".
func appendData(body, raw []byte) []byte {
	body = slices.Grow(body, len(raw)+len(raw)/64+8)
	if len(raw) > 0 && raw[0] == '.' {
		body = append(body, '.')
	}
	for rest := raw; ; {
		i := bytes.Index(rest, crlfDot)
		if i < 0 {
			body = append(body, rest...)
			break
		}
		body = append(body, rest[:i+len(crlfDot)]...)
		body = append(body, '.')
		rest = rest[i+len(crlfDot):]
	}
	if len(raw) > 0 && !bytes.HasSuffix(raw, crlf) {
		body = append(body, crlf...)
	}
	return append(body, ".\r\n"...)
}

func isASCII(s string) bool {
	for i := range len(s) {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
