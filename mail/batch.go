package mail

import (
	"context"
	"errors"
	"fmt"
	"net/textproto"

	"github.com/wneessen/go-mail/smtp"
)

// Outgoing is one message of SendEach: a rendered message and its recipient.
type Outgoing struct {
	To  string // bare address
	Raw []byte // the whole message, CRLF line ends
}

// eachSender is a Transport that sends several messages better than one by
// one.
type eachSender interface {
	sendEach(ctx context.Context, from string, msgs []Outgoing, result func(i int, err error) bool)
}

// SendEach sends msgs in order from the envelope sender from, through t,
// and calls result once for each message, in order, with its outcome (nil:
// the server accepted it) as soon as that is known. When result returns
// false, the messages after that one are not sent and get no call.
//
// Over SMTP, the messages share one connection, and when the server offers
// PIPELINING (RFC 2920) each message's body goes in one write with the next
// one's MAIL, RCPT and DATA: one round trip a message instead of two. Other
// transports send them one by one with Send.
func SendEach(ctx context.Context, t Transport, from string, msgs []Outgoing, result func(i int, err error) bool) {
	if es, ok := t.(eachSender); ok {
		es.sendEach(ctx, from, msgs, result)
		return
	}
	for i, m := range msgs {
		if !result(i, t.Send(ctx, from, m.To, m.Raw)) {
			return
		}
	}
}

// sendEach implements eachSender: the messages go over one connection, in a
// chain where the server pipelines, one at a time where it does not.
func (t *smtpTransport) sendEach(ctx context.Context, from string, msgs []Outgoing, result func(int, error) bool) {
	envFrom, err := envelopeAddr(from)
	var c *smtp.Client
	if err == nil {
		c, err = t.acquire(ctx)
	}
	if err != nil {
		for i := range msgs {
			if !result(i, err) {
				return
			}
		}
		return
	}
	defer func() { t.slots <- c }()
	for i := 0; i < len(msgs); {
		if c != nil && chainable(c, envFrom, msgs[i]) {
			var stop bool
			if i, c, stop = t.chain(ctx, c, envFrom, msgs, i, result); stop {
				return
			}
			continue
		}
		err := t.ready(ctx, msgs[i].To)
		if err == nil {
			c, err = t.deliver(ctx, c, envFrom, msgs[i].To, msgs[i].Raw)
		}
		if !result(i, err) {
			return
		}
		i++
	}
}

// acquire waits for a connection slot (nil: not dialled yet).
func (t *smtpTransport) acquire(ctx context.Context) (*smtp.Client, error) {
	select {
	case <-t.done:
		return nil, ErrClosed
	default:
	}
	select {
	case c := <-t.slots:
		return c, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("mail: waiting for a connection: %w", ctx.Err())
	case <-t.done:
		return nil, ErrClosed
	}
}

// ready checks, before a message is started, the recipient, the context and
// the transport, and waits for the rate limit.
func (t *smtpTransport) ready(ctx context.Context, to string) error {
	if err := checkAddr(to); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("mail: %w", err)
	}
	select {
	case <-t.done:
		return ErrClosed
	default:
	}
	if t.limit != nil {
		if err := t.limit.Wait(ctx); err != nil {
			return fmt.Errorf("mail: rate limit: %w", err)
		}
	}
	return nil
}

// chainable reports whether m can be sent in a pipelined chain over c.
func chainable(c *smtp.Client, from string, m Outgoing) bool {
	ok, _ := c.Extension("PIPELINING")
	return ok && isASCII(from) && isASCII(m.To) && crlfOnly(m.Raw)
}

// chain sends msgs from i on over c, whose server pipelines: each message's
// body goes in one write with the next message's envelope, and the body's
// final reply is read with the next envelope's replies. It stops at the end,
// at a message that cannot be chained, or when the connection breaks, and
// returns the first message not yet handed to result, the connection to keep
// (nil when broken) and whether result asked to stop.
//
// A broken connection fails the message whose body was sent (the server may
// have taken it: sent again, it may arrive twice) but not the next one, of
// which the server took nothing: the caller sends it again on a new
// connection.
func (t *smtpTransport) chain(ctx context.Context, c *smtp.Client, from string, msgs []Outgoing, i int, result func(int, error) bool) (int, *smtp.Client, bool) {
	tx := c.Text
	w := tx.Writer.W
	var body []byte
	prev := -1 // the message whose envelope the server accepted; its body is due
	for {
		if prev < 0 && (i >= len(msgs) || !chainable(c, from, msgs[i])) {
			return i, c, false
		}
		if err := c.UpdateDeadline(t.timeout); err != nil {
			return t.broken(c, prev, i, err, result)
		}
		if prev >= 0 {
			body = appendData(body[:0], msgs[prev].Raw)
			w.Write(body) // an error sticks in w until Flush
		}
		// Start the next message behind the body, unless it cannot be.
		start := i < len(msgs) && chainable(c, from, msgs[i])
		var startErr error
		if start {
			if startErr = t.ready(ctx, msgs[i].To); startErr == nil {
				writeEnvelope(tx, from, msgs[i].To)
			}
		}
		if err := w.Flush(); err != nil {
			return t.broken(c, prev, i, err, result)
		}
		if prev >= 0 {
			_, _, err := tx.ReadResponse(250)
			var proto *textproto.Error
			if err != nil && !errors.As(err, &proto) {
				return t.broken(c, prev, i, err, result)
			}
			if !result(prev, wrapStep(StepData, err)) {
				if start && startErr == nil {
					// The server has our next envelope; ending the session
					// without a body drops that transaction.
					_ = c.Close()
					return i, nil, true
				}
				return i, c, true
			}
			prev = -1
		}
		switch {
		case !start:
			// The loop's first test returns, or chains again.
		case startErr != nil:
			if !result(i, startErr) {
				return i + 1, c, true
			}
			i++
		default:
			step, err := readEnvelope(tx)
			var proto *textproto.Error
			if err != nil && !errors.As(err, &proto) {
				return t.broken(c, -1, i, err, result)
			}
			if err != nil {
				if rerr := c.Reset(); rerr != nil {
					_ = c.Close()
					c = nil
				}
				if !result(i, newSendError(step, err)) {
					return i + 1, c, true
				}
				if c == nil {
					return i + 1, nil, false
				}
			} else {
				prev = i
			}
			i++
		}
	}
}

// broken closes c after it failed with err, fails prev (when ≥ 0) with err,
// and returns for chain: message i goes again on a new connection.
func (t *smtpTransport) broken(c *smtp.Client, prev, i int, err error, result func(int, error) bool) (int, *smtp.Client, bool) {
	_ = c.Close()
	if prev >= 0 && !result(prev, newSendError(StepData, err)) {
		return i, nil, true
	}
	return i, nil, false
}

// wrapStep is newSendError for a possibly nil err.
func wrapStep(step string, err error) error {
	if err == nil {
		return nil
	}
	return newSendError(step, err)
}
