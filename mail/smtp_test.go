package mail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	gomail "github.com/wneessen/go-mail"
	"golang.org/x/time/rate"

	"github.com/tidings/tidings/mail/mailtest"
)

const sender = "Tidings <news@tidings.example>"

// render makes a small digest for to.
func render(t testing.TB, to string, n int) []byte {
	t.Helper()
	p, err := Prepare(digest(), ph)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := p.Render(nil, Recipient{To: to, MessageID: fmt.Sprintf("m%d@tidings.example", n), URL: "https://tidings.example/u?t=" + to})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func open(t testing.TB, url string, o Options) Transport {
	t.Helper()
	tr, err := Open(url, "", o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	return tr
}

func TestSendPlain(t *testing.T) {
	s := mailtest.NewServer(t, mailtest.ServerOptions{})
	tr := open(t, s.URL(), Options{Rate: -1})
	raw := render(t, "alice@example.com", 1)
	if err := tr.Send(context.Background(), sender, "alice@example.com", raw); err != nil {
		t.Fatal(err)
	}
	msgs := s.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	got := msgs[0]
	if got.From != "news@tidings.example" || got.To != "alice@example.com" || got.TLS {
		t.Errorf("envelope %q → %q, TLS %v", got.From, got.To, got.TLS)
	}
	if !bytes.Equal(got.Data, raw) {
		t.Errorf("the server got other bytes than were rendered")
	}
	p := parseMessage(t, got.Data)
	if !strings.Contains(p.text, "https://tidings.example/u?t=alice@example.com") {
		t.Errorf("URL missing from the text part: %q", p.text)
	}
	if p.header.Get("Message-ID") != "<m1@tidings.example>" {
		t.Errorf("Message-ID %q", p.header.Get("Message-ID"))
	}
}

func TestSTARTTLS(t *testing.T) {
	s := mailtest.NewServer(t, mailtest.ServerOptions{TLS: true})
	for _, url := range []string{s.URL(), s.URL() + "?tls=required"} {
		tr := open(t, url, Options{Rate: -1, TLSConfig: s.TLSConfig()})
		if err := tr.Send(context.Background(), sender, "a@example.com", render(t, "a@example.com", 1)); err != nil {
			t.Fatalf("%s: %v", url, err)
		}
	}
	for _, m := range s.Messages() {
		if !m.TLS {
			t.Errorf("message arrived without TLS")
		}
	}
	// Without trusting the certificate, the handshake must fail: no silent fallback.
	tr := open(t, s.URL(), Options{Rate: -1})
	err := tr.Send(context.Background(), sender, "a@example.com", render(t, "a@example.com", 1))
	if err == nil || s.Count() != 2 {
		t.Errorf("untrusted certificate: err %v, count %d", err, s.Count())
	}
	// tls=none never upgrades.
	tr = open(t, s.URL()+"?tls=none", Options{Rate: -1})
	if err := tr.Send(context.Background(), sender, "a@example.com", render(t, "a@example.com", 1)); err != nil {
		t.Fatal(err)
	}
	if msgs := s.Messages(); len(msgs) != 3 || msgs[2].TLS {
		t.Errorf("tls=none: %d messages, last over TLS", len(msgs))
	}
}

func TestTLSRequiredWithoutSTARTTLS(t *testing.T) {
	s := mailtest.NewServer(t, mailtest.ServerOptions{})
	tr := open(t, s.URL()+"?tls=required", Options{Rate: -1})
	err := tr.Send(context.Background(), sender, "a@example.com", render(t, "a@example.com", 1))
	var se *SendError
	if !errors.As(err, &se) || se.Step != StepConnect || s.Count() != 0 {
		t.Errorf("err %v, count %d", err, s.Count())
	}
}

func TestSMTPS(t *testing.T) {
	s := mailtest.NewServer(t, mailtest.ServerOptions{ImplicitTLS: true, Auth: &mailtest.Credentials{User: "tidings", Pass: "s3cret:/@"}})
	if !strings.HasPrefix(s.URL(), "smtps://") {
		t.Fatalf("URL %s", s.URL())
	}
	tr := open(t, s.URL(), Options{Rate: -1, TLSConfig: s.TLSConfig()})
	if err := tr.Send(context.Background(), sender, "a@example.com", render(t, "a@example.com", 1)); err != nil {
		t.Fatal(err)
	}
	if m := s.Messages(); len(m) != 1 || !m[0].TLS || m[0].User != "tidings" {
		t.Errorf("messages %+v", m)
	}
}

func TestAuth(t *testing.T) {
	creds := &mailtest.Credentials{User: "tidings", Pass: "right"}
	s := mailtest.NewServer(t, mailtest.ServerOptions{TLS: true, Auth: creds})
	tr := open(t, s.URL(), Options{Rate: -1, TLSConfig: s.TLSConfig()})
	if err := tr.Send(context.Background(), sender, "a@example.com", render(t, "a@example.com", 1)); err != nil {
		t.Fatal(err)
	}
	if m := s.Messages(); len(m) != 1 || m[0].User != "tidings" {
		t.Fatalf("messages %+v", m)
	}

	wrong := strings.Replace(s.URL(), ":right@", ":wrong@", 1)
	tr = open(t, wrong, Options{Rate: -1, TLSConfig: s.TLSConfig()})
	err := tr.Send(context.Background(), sender, "a@example.com", render(t, "a@example.com", 2))
	var se *SendError
	if !IsPermanent(err) || IsTemporary(err) || !errors.As(err, &se) || se.Step != StepConnect || se.Code != 535 {
		t.Errorf("wrong password: %v (permanent %v)", err, IsPermanent(err))
	}
	if strings.Contains(fmt.Sprint(err), "wrong") {
		t.Errorf("error shows the password: %v", err)
	}
	if s.Count() != 1 {
		t.Errorf("count %d", s.Count())
	}
}

// Without TLS the client keeps the password to itself, even if the server offers PLAIN.
func TestAuthRefusedWithoutTLS(t *testing.T) {
	s := mailtest.NewServer(t, mailtest.ServerOptions{Auth: &mailtest.Credentials{User: "u", Pass: "p"}, AllowInsecureAuth: true})
	tr := open(t, s.URL(), Options{Rate: -1})
	err := tr.Send(context.Background(), sender, "a@example.com", render(t, "a@example.com", 1))
	var se *SendError
	if !errors.As(err, &se) || se.Step != StepConnect || s.Count() != 0 {
		t.Errorf("err %v, count %d", err, s.Count())
	}
}

func TestReplies(t *testing.T) {
	s := mailtest.NewServer(t, mailtest.ServerOptions{Reject: func(_, to string) error {
		switch {
		case strings.HasPrefix(to, "busy@"):
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"}
		case strings.HasPrefix(to, "gone@"):
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
		}
		return nil
	}})
	tr := open(t, s.URL(), Options{Rate: -1, Connections: 1})
	ctx := context.Background()

	err := tr.Send(ctx, sender, "busy@example.com", render(t, "busy@example.com", 1))
	var se *SendError
	if !IsTemporary(err) || IsPermanent(err) || !errors.As(err, &se) || se.Step != StepRcpt || se.Code != 451 {
		t.Errorf("451: %v temporary=%v permanent=%v", err, IsTemporary(err), IsPermanent(err))
	}
	err = tr.Send(ctx, sender, "gone@example.com", render(t, "gone@example.com", 2))
	if !IsPermanent(err) || IsTemporary(err) || !errors.As(err, &se) || se.Step != StepRcpt || se.Code != 550 {
		t.Errorf("550: %v temporary=%v permanent=%v", err, IsTemporary(err), IsPermanent(err))
	}
	// The session survives refusals: the next message goes over the same connection.
	if err := tr.Send(ctx, sender, "ok@example.com", render(t, "ok@example.com", 3)); err != nil {
		t.Fatal(err)
	}
	if s.Count() != 1 || s.CountTo("ok@example.com") != 1 || s.Connections() != 1 {
		t.Errorf("count %d, connections %d", s.Count(), s.Connections())
	}
}

func TestServerGone(t *testing.T) {
	s := mailtest.NewServer(t, mailtest.ServerOptions{})
	tr := open(t, s.URL(), Options{Rate: -1, Timeout: 5 * time.Second})
	if err := tr.Send(context.Background(), sender, "a@example.com", render(t, "a@example.com", 1)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	err := tr.Send(context.Background(), sender, "a@example.com", render(t, "a@example.com", 2))
	if err == nil || !IsTemporary(err) || IsPermanent(err) {
		t.Errorf("server gone: %v temporary=%v", err, IsTemporary(err))
	}
}

// An idle connection the server dropped is replaced without failing the message.
func TestReconnectAfterDrop(t *testing.T) {
	s := mailtest.NewServer(t, mailtest.ServerOptions{})
	tr := open(t, s.URL(), Options{Rate: -1, Connections: 1})
	ctx := context.Background()
	if err := tr.Send(ctx, sender, "a@example.com", render(t, "a@example.com", 1)); err != nil {
		t.Fatal(err)
	}
	// Break the pooled connection from the client side, as an idle timeout would.
	st := tr.(*smtpTransport)
	c := <-st.slots
	_ = c.Close()
	st.slots <- c
	if err := tr.Send(ctx, sender, "b@example.com", render(t, "b@example.com", 2)); err != nil {
		t.Fatalf("after drop: %v", err)
	}
	if s.Count() != 2 || s.Connections() != 2 {
		t.Errorf("count %d, connections %d", s.Count(), s.Connections())
	}
}

func TestConnectionReuse(t *testing.T) {
	s := mailtest.NewServer(t, mailtest.ServerOptions{})
	tr := open(t, s.URL(), Options{Rate: -1})
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for i := range 50 {
		wg.Go(func() {
			to := fmt.Sprintf("r%d@example.com", i)
			errs <- tr.Send(context.Background(), sender, to, render(t, to, i))
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if s.Count() != 50 || s.CountTo("r7@example.com") != 1 {
		t.Errorf("count %d", s.Count())
	}
	if n := s.Connections(); n < 1 || n > DefaultConnections {
		t.Errorf("%d connections for 50 messages, want 1..%d", n, DefaultConnections)
	}
}

// countingWaiter records how often the transport asks the limiter.
type countingWaiter struct {
	mu    sync.Mutex
	calls int
}

func (w *countingWaiter) Wait(context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls++
	return nil
}

func TestRateLimit(t *testing.T) {
	s := mailtest.NewServer(t, mailtest.ServerOptions{})
	for _, tc := range []struct {
		rate  float64
		limit rate.Limit
		burst int
	}{
		{0, 20, 1}, {5, 5, 1}, {1000, 1000, 10}, {-1, 0, 0},
	} {
		tr := open(t, s.URL(), Options{Rate: tc.rate}).(*smtpTransport)
		l, _ := tr.limit.(*rate.Limiter)
		switch {
		case tc.limit == 0 && tr.limit != nil:
			t.Errorf("rate %v: want no limiter", tc.rate)
		case tc.limit != 0 && (l == nil || l.Limit() != tc.limit || l.Burst() != tc.burst):
			t.Errorf("rate %v: limiter %+v", tc.rate, l)
		}
	}

	// Every message asks the (shared) limiter first.
	tr := open(t, s.URL(), Options{Rate: 5}).(*smtpTransport)
	w := &countingWaiter{}
	tr.limit = w
	for i := range 3 {
		if err := tr.Send(context.Background(), sender, "a@example.com", render(t, "a@example.com", i)); err != nil {
			t.Fatal(err)
		}
	}
	if w.calls != 3 {
		t.Errorf("limiter asked %d times for 3 messages", w.calls)
	}

	// A real limiter holds the second message back: at 1 message per 1000 s the
	// wait would outlast the context, so Send fails at once and nothing is sent.
	before := s.Count()
	tr = open(t, s.URL(), Options{Rate: 0.001}).(*smtpTransport)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := tr.Send(ctx, sender, "a@example.com", render(t, "a@example.com", 1)); err != nil {
		t.Fatal(err)
	}
	if err := tr.Send(ctx, sender, "a@example.com", render(t, "a@example.com", 2)); err == nil {
		t.Error("second message passed a limit of one per 1000 s")
	}
	if s.Count() != before+1 {
		t.Errorf("%d messages got through", s.Count()-before)
	}
}

func TestSendValidation(t *testing.T) {
	s := mailtest.NewServer(t, mailtest.ServerOptions{})
	tr := open(t, s.URL(), Options{Rate: -1})
	raw := render(t, "a@example.com", 1)
	for _, tc := range [][2]string{
		{sender, "a@example.com\r\nRCPT TO:<b@example.com>"},
		{"news@tidings.example\r\nRSET", "a@example.com"},
		{sender, "<a@example.com>"},
		{"", "a@example.com"},
	} {
		if err := tr.Send(context.Background(), tc[0], tc[1], raw); err == nil {
			t.Errorf("Send(%q, %q) accepted", tc[0], tc[1])
		}
	}
	if s.Count() != 0 {
		t.Errorf("%d messages sent", s.Count())
	}
}

func TestClose(t *testing.T) {
	s := mailtest.NewServer(t, mailtest.ServerOptions{})
	tr := open(t, s.URL(), Options{Rate: -1})
	if err := tr.Send(context.Background(), sender, "a@example.com", render(t, "a@example.com", 1)); err != nil {
		t.Fatal(err)
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	if err := tr.Send(context.Background(), sender, "a@example.com", render(t, "a@example.com", 2)); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
	if err := tr.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestParseSMTPURL(t *testing.T) {
	for _, tc := range []struct {
		url  string
		want smtpConfig
	}{
		{"smtp://mail.example.com", smtpConfig{host: "mail.example.com", port: 587, policy: gomail.TLSOpportunistic}},
		{"smtp://u:p%40ss@mail.example.com:2525?tls=required", smtpConfig{host: "mail.example.com", port: 2525, policy: gomail.TLSMandatory, user: "u", pass: "p@ss", auth: true}},
		{"smtp://mail.example.com:25?tls=none", smtpConfig{host: "mail.example.com", port: 25, policy: gomail.NoTLS}},
		{"smtps://u:p@mail.example.com", smtpConfig{host: "mail.example.com", port: 465, implicitTLS: true, policy: gomail.TLSMandatory, user: "u", pass: "p", auth: true}},
		{"smtp://[::1]:25", smtpConfig{host: "::1", port: 25, policy: gomail.TLSOpportunistic}},
	} {
		got, err := parseSMTPURL(tc.url)
		if err != nil || got != tc.want {
			t.Errorf("%s: %+v, %v; want %+v", tc.url, got, err, tc.want)
		}
	}
	for _, bad := range []string{
		"http://mail.example.com", "smtp://", "smtp://host:0", "smtp://host:99999", "smtp://host/path",
		"smtp://host?tls=maybe", "smtps://host?tls=none", "smtp://host?foo=1", "smtp://:pw@host",
		"smtp://u:secretpw@host:notaport",
	} {
		_, err := parseSMTPURL(bad)
		if err == nil {
			t.Errorf("%s accepted", bad)
		} else if strings.Contains(err.Error(), "secretpw") {
			t.Errorf("%s: error shows the password: %v", bad, err)
		}
	}
}

// TestDotStuffing sends bodies whose lines start with dots, one that starts
// with a dot, one with bare LFs and one without a final line break: the
// server must receive each exactly as given (with the line break SMTP adds
// to the last), whichever way it was written.
func TestDotStuffing(t *testing.T) {
	s := mailtest.NewServer(t, mailtest.ServerOptions{})
	tr := open(t, s.URL(), Options{Rate: -1, Connections: 1})
	head := "From: news@tidings.example\r\nTo: a@example.com\r\nSubject: dots\r\n\r\n"
	for i, tc := range []struct{ raw, want string }{
		{head + ".one\r\n..two\r\n.\r\nend\r\n", head + ".one\r\n..two\r\n.\r\nend\r\n"},
		{".starts with a dot\r\n", ".starts with a dot\r\n"},
		{head + "bare\n.lf\nlines\n", head + "bare\r\n.lf\r\nlines\r\n"},
		{head + "no final break", head + "no final break\r\n"},
	} {
		to := fmt.Sprintf("d%d@example.com", i)
		if err := tr.Send(context.Background(), sender, to, []byte(tc.raw)); err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		msgs := s.Messages()
		if got := string(msgs[len(msgs)-1].Data); got != tc.want {
			t.Errorf("%d: the server got %q, want %q", i, got, tc.want)
		}
	}
}
