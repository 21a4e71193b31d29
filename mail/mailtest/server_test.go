package mailtest

import (
	"errors"
	"fmt"
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

// try sends msg to to over a fresh connection, one command at a time, and
// names what happened: greeting, mail, rcpt or data (a 4xx there), dropped
// (the connection broke after the body), or ok.
func try(t *testing.T, s *Server, to string) string {
	t.Helper()
	c, err := smtp.Dial(s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("localhost"); err != nil { // the client reads the greeting here
		return "greeting"
	}
	temp := func(step string, err error) string {
		var se *smtp.SMTPError
		if !errors.As(err, &se) || se.Code < 400 || se.Code > 499 {
			t.Fatalf("%s: %v, want a 4xx", step, err)
		}
		return step
	}
	if err := c.Mail("a@example.com", nil); err != nil {
		return temp("mail", err)
	}
	if err := c.Rcpt(to, nil); err != nil {
		return temp("rcpt", err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	err = w.Close()
	var se *smtp.SMTPError
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &se):
		return temp("data", err)
	}
	return "dropped"
}

func TestFaultsEachKindCounted(t *testing.T) {
	for _, tc := range []struct {
		f      Faults
		want   string
		count  int // messages recorded
		counts FaultCounts
	}{
		{Faults{DropGreeting: 1}, "greeting", 0, FaultCounts{GreetingDrops: 1}},
		{Faults{TempFail: 1}, "mail", 0, FaultCounts{MailTemp: 1}},
		{Faults{DropAfterBody: 1}, "dropped", 1, FaultCounts{BodyDrops: 1}},
		{Faults{Seed: 1}, "ok", 1, FaultCounts{}},
	} {
		t.Run(tc.want, func(t *testing.T) {
			s := NewServer(t, ServerOptions{Faults: &tc.f})
			if got := try(t, s, "b@example.com"); got != tc.want {
				t.Errorf("outcome %q, want %q", got, tc.want)
			}
			if s.Count() != tc.count || s.Faults() != tc.counts {
				t.Errorf("%d recorded, faults %+v; want %d, %+v", s.Count(), s.Faults(), tc.count, tc.counts)
			}
		})
	}
}

// TestFaultsSeeded: a mix of every fault, counted exactly; the same seed
// gives the same outcomes, message for message; a delivery dropped after its
// body is recorded.
func TestFaultsSeeded(t *testing.T) {
	f := Faults{Seed: 7, Delay: 2 * time.Millisecond, DropGreeting: 0.1, TempFail: 0.1, DropAfterBody: 0.1}
	run := func(f Faults) ([]string, *Server, time.Duration) {
		s := NewServer(t, ServerOptions{Faults: &f, Discard: true})
		var outs []string
		start := time.Now()
		for i := range 200 {
			outs = append(outs, try(t, s, fmt.Sprintf("r%d@example.com", i%50)))
		}
		return outs, s, time.Since(start)
	}
	outs, s, took := run(f)
	tally := map[string]int{}
	for _, o := range outs {
		tally[o]++
	}
	fc := s.Faults()
	t.Logf("outcomes %v, faults %+v", tally, fc)
	if tally["greeting"] != fc.GreetingDrops || tally["mail"] != fc.MailTemp || tally["rcpt"] != fc.RcptTemp ||
		tally["data"] != fc.DataTemp || tally["dropped"] != fc.BodyDrops {
		t.Errorf("outcomes %v differ from the counted faults %+v", tally, fc)
	}
	for _, k := range []string{"greeting", "mail", "rcpt", "data", "dropped", "ok"} {
		if tally[k] == 0 {
			t.Errorf("no %q among 200 tries", k)
		}
	}
	if s.Count() != tally["ok"]+tally["dropped"] {
		t.Errorf("%d recorded, want %d delivered + %d dropped after the body", s.Count(), tally["ok"], tally["dropped"])
	}
	if fc.Delays == 0 || took < fc.DelayTotal {
		t.Errorf("%d delays of %v in all, but the tries took %v", fc.Delays, fc.DelayTotal, took)
	}
	again, s2, _ := run(f)
	if fmt.Sprint(again) != fmt.Sprint(outs) || s2.Faults() != fc {
		t.Errorf("the same seed gave other outcomes:\n%v\n%v", outs, again)
	}
	f.Seed++
	if other, _, _ := run(f); fmt.Sprint(other) == fmt.Sprint(outs) {
		t.Error("another seed gave the same outcomes")
	}
}
