package newsletter_test

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/tidings/tidings/newsletter"
)

// The operator's look-up, history and test message, on every store: three
// weekly issues, one address refused every time (so bounced after the
// third), then a test message that is recorded nowhere.
func TestOperatorPages(t *testing.T) {
	for name, url := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			f := newNLFixture(t, url, func(_, to string) error {
				if strings.HasPrefix(to, "gone") || strings.HasPrefix(to, "refused") {
					return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
				}
				return nil
			})
			if _, err := f.svc.Import(ctx, strings.NewReader("ada@example.org\ngone@example.org\nGrace@Example.org\n"), func(int, error) {}); err != nil {
				t.Fatal(err)
			}
			var weeks []string
			for i := range newsletter.HardFailuresToBounce {
				f.seedStories(t, fmt.Sprintf("Week %d: Encryption Holds Up", i))
				rep, err := f.svc.Send(ctx, "", f.sendOpts())
				if err != nil || rep.Sent != 2 || rep.Failed != 1 {
					t.Fatalf("send %d: %+v %v", i, rep, err)
				}
				weeks = append(weeks, rep.Week)
				f.advance(7 * 24 * time.Hour)
			}

			sub, err := f.svc.Lookup(ctx, " grace@example.ORG ")
			if err != nil || sub.Status != newsletter.Confirmed || sub.ConfirmedAt.IsZero() {
				t.Errorf("look-up: %+v %v", sub, err)
			}
			if sub, err := f.svc.Lookup(ctx, "GONE@example.org"); err != nil || sub.Status != newsletter.Bounced {
				t.Errorf("look-up of the refused address: %+v %v", sub, err)
			}
			if _, err := f.svc.Lookup(ctx, "nobody@example.org"); !errors.Is(err, newsletter.ErrNotFound) {
				t.Errorf("look-up of an unknown address: %v", err)
			}
			var bad *newsletter.AddressError
			if _, err := f.svc.Lookup(ctx, "no-at-sign"); !errors.As(err, &bad) {
				t.Errorf("look-up of a malformed address: %v", err)
			}

			hist, err := f.svc.History(ctx, 0)
			if err != nil || len(hist) != len(weeks) {
				t.Fatalf("history: %d issues, %v", len(hist), err)
			}
			for i, rec := range hist {
				want := weeks[len(weeks)-1-i]
				d := rec.Deliveries
				if rec.Issue.Week != want || d.Sent != 2 || d.Failed != 1 || d.Pending != 0 || rec.Bounced != 1 {
					t.Errorf("history[%d]: %s %+v bounced %d, want %s with 2 sent, 1 failed and bounced", i, rec.Issue.Week, d, rec.Bounced, want)
				}
			}
			if hist, err := f.svc.History(ctx, 1); err != nil || len(hist) != 1 || hist[0].Issue.Week != weeks[len(weeks)-1] {
				t.Errorf("history of 1: %v %v", hist, err)
			}

			// A test of this week's issue, once composed.
			week := f.svc.CurrentWeek()
			if err := f.svc.SendTest(ctx, week, "editor@example.org"); !errors.Is(err, newsletter.ErrNotFound) {
				t.Errorf("a test of an issue not composed: %v", err)
			}
			f.seedStories(t, "Regulators Fine a Data Broker")
			is, err := f.svc.IssueFor(ctx, "")
			if err != nil {
				t.Fatal(err)
			}
			before := f.sink.Count()
			if err := f.svc.SendTest(ctx, week, "Editor@Example.org"); err != nil {
				t.Fatal(err)
			}
			m := f.lastTo(t, "Editor@example.org")
			subject, _ := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
			if subject != "[Test] "+is.Subject || m.Header.Get("List-Unsubscribe") != "" || strings.Contains(string(m.Body), newsletter.UnsubscribePlaceholder) {
				t.Errorf("the test message: subject %q, List-Unsubscribe %q", subject, m.Header.Get("List-Unsubscribe"))
			}
			if err := f.svc.SendTest(ctx, week, "refused@example.org"); !errors.Is(err, newsletter.ErrTestFailed) || strings.Contains(err.Error(), "refused@") {
				t.Errorf("a refused test: %v", err)
			}
			if err := f.svc.SendTest(ctx, week, "two@@example.org"); !errors.As(err, &bad) {
				t.Errorf("a test to a malformed address: %v", err)
			}
			if got := f.sink.Count(); got != before+1 {
				t.Errorf("the tests delivered %d messages, want 1", got-before)
			}
			if c, err := f.svc.Deliveries(ctx, week); err != nil || c.Total() != 0 {
				t.Errorf("the test was recorded: %+v %v", c, err)
			}
			if is, err := f.svc.StoredIssue(ctx, week); err != nil || !is.SendStartedAt.IsZero() {
				t.Errorf("the test started the send: %v", err)
			}
		})
	}
}
