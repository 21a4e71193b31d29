package mail

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"os"
	"syscall"
)

// ErrClosed is returned by Send after Close.
var ErrClosed = errors.New("mail: transport closed")

// Steps of an SMTP delivery, as reported in SendError.Step.
const (
	StepConnect = "connect" // dial, greeting, EHLO, STARTTLS, AUTH
	StepMail    = "mail"    // MAIL FROM
	StepRcpt    = "rcpt"    // RCPT TO: a reply here concerns this recipient
	StepData    = "data"    // DATA, the message, the final reply
)

// SendError is a failed delivery: the step that failed and the server's reply
// code (0 when the failure was not a reply, such as a broken connection). A
// permanent error in StepConnect (a wrong password) is about the setup, not the
// recipient: a caller should stop rather than give up on every address.
type SendError struct {
	Step string
	Code int
	Err  error
}

// Error describes the step, the reply code and the cause.
func (e *SendError) Error() string {
	if e.Code != 0 {
		return fmt.Sprintf("mail: smtp %s: %d: %v", e.Step, e.Code, e.Err)
	}
	return fmt.Sprintf("mail: smtp %s: %v", e.Step, e.Err)
}

// Unwrap returns the cause.
func (e *SendError) Unwrap() error { return e.Err }

// newSendError wraps err with its step and, when it is a server reply, its code.
func newSendError(step string, err error) *SendError {
	se := &SendError{Step: step, Err: err}
	var te *textproto.Error
	if errors.As(err, &te) {
		se.Code = te.Code
	}
	return se
}

// replyCode returns the SMTP reply code carried by err, or 0.
func replyCode(err error) int {
	var se *SendError
	if errors.As(err, &se) && se.Code != 0 {
		return se.Code
	}
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code
	}
	return 0
}

// IsTemporary reports whether err may go away if the same message is sent again
// later: a 4xx reply, a connection that failed or broke, a timeout.
func IsTemporary(err error) bool {
	if err == nil {
		return false
	}
	if code := replyCode(err); code != 0 {
		return code >= 400 && code < 500
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, ErrClosed) {
		return false
	}
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.ECONNABORTED), errors.Is(err, syscall.EPIPE),
		errors.Is(err, syscall.ETIMEDOUT), errors.Is(err, syscall.EHOSTUNREACH),
		errors.Is(err, syscall.ENETUNREACH):
		return true
	case errors.As(err, &ne) && ne.Timeout():
		return true
	}
	var oe *net.OpError
	var de *net.DNSError
	return errors.As(err, &oe) && (oe.Op == "dial" || oe.Op == "read" || oe.Op == "write") ||
		errors.As(err, &de) && (de.IsTemporary || de.IsTimeout)
}

// IsPermanent reports whether the server refused for good (a 5xx reply): sending
// the same message again will fail again.
func IsPermanent(err error) bool {
	code := replyCode(err)
	return code >= 500 && code < 600
}
