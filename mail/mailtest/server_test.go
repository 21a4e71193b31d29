package mailtest

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

const msg = "From: a@example.com\r\nTo: b@example.com\r\nSubject: hi\r\n\r\nbody\r\n"

func send(t *testing.T, s *Server, to string) error {
	t.Helper()
	c, err := smtp.Dial(s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.SendMail("a@example.com", []string{to}, strings.NewReader(msg))
}

func TestServerRecords(t *testing.T) {
	s := NewServer(t, ServerOptions{Reject: func(_, to string) error {
		if to == "no@example.com" {
			return &smtp.SMTPError{Code: 550, Message: "no"}
		}
		return nil
	}})
	if s.TLSConfig() != nil || !strings.HasPrefix(s.URL(), "smtp://127.0.0.1:") {
		t.Errorf("URL %s", s.URL())
	}
	if err := send(t, s, "b@example.com"); err != nil {
		t.Fatal(err)
	}
	var se *smtp.SMTPError
	if err := send(t, s, "no@example.com"); !errors.As(err, &se) || se.Code != 550 {
		t.Errorf("rejected recipient: %v", err)
	}
	if !s.WaitCount(1, time.Minute) || s.Count() != 1 || s.CountTo("b@example.com") != 1 || s.CountTo("no@example.com") != 0 {
		t.Errorf("count %d", s.Count())
	}
	m := s.Messages()
	if len(m) != 1 || m[0].From != "a@example.com" || m[0].Header.Get("Subject") != "hi" ||
		string(m[0].Body) != "body\r\n" || string(m[0].Data) != msg {
		t.Errorf("messages %+v", m)
	}
	if s.Connections() != 2 {
		t.Errorf("%d connections", s.Connections())
	}
	// Two messages were never sent, so the wait gives up.
	if s.WaitCount(3, time.Millisecond) {
		t.Error("WaitCount(3) reported success")
	}
}

func TestServerDiscard(t *testing.T) {
	s, err := Start(ServerOptions{Discard: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for range 3 {
		if err := send(t, s, "b@example.com"); err != nil {
			t.Fatal(err)
		}
	}
	if s.Count() != 3 || s.CountTo("b@example.com") != 3 || len(s.Messages()) != 0 {
		t.Errorf("count %d, kept %d", s.Count(), len(s.Messages()))
	}
	s.Close()
	s.Close()
	if _, err := smtp.Dial(s.Addr()); err == nil {
		t.Error("server still accepts after Close")
	}
}

func TestServerAuth(t *testing.T) {
	s := NewServer(t, ServerOptions{TLS: true, Auth: &Credentials{User: "u", Pass: "p"}})
	if !strings.HasPrefix(s.URL(), "smtp://u:p@127.0.0.1:") {
		t.Errorf("URL %s", s.URL())
	}
	for _, tc := range []struct {
		pass string
		ok   bool
	}{{"p", true}, {"x", false}} {
		cfg := s.TLSConfig()
		cfg.ServerName = "127.0.0.1"
		c, err := smtp.DialStartTLS(s.Addr(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		err = c.Auth(sasl.NewPlainClient("", "u", tc.pass))
		if (err == nil) != tc.ok {
			t.Errorf("password %q: %v", tc.pass, err)
		}
		if !tc.ok {
			if err := c.SendMail("a@example.com", []string{"b@example.com"}, strings.NewReader(msg)); err == nil {
				t.Error("sent without AUTH")
			}
		} else if err := c.SendMail("a@example.com", []string{"b@example.com"}, strings.NewReader(msg)); err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	if m := s.Messages(); len(m) != 1 || m[0].User != "u" || !m[0].TLS {
		t.Errorf("messages %+v", m)
	}
}
