package newsletter_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tidings/tidings/mail"
	"github.com/tidings/tidings/mail/mailtest"
	"github.com/tidings/tidings/newsletter"
	"github.com/tidings/tidings/store/redistest"
)

// badSMTPEnv scales TestSendThroughBadSMTP: the number of confirmed
// subscribers (default 1,000).
const badSMTPEnv = "TIDINGS_BADSMTP_SUBSCRIBERS"

// badFaults is the sink's misbehaviour: every reply to DATA late by up to
// 5 ms, a 4xx with probability 3% at each of MAIL, RCPT and DATA, and 2% of
// received messages answered by a closed connection instead of 250 (the
// message is delivered, the sender does not know).
var badFaults = mailtest.Faults{Seed: 20261202, Delay: 5 * time.Millisecond, TempFail: 0.03, DropAfterBody: 0.02}

// TestSendThroughBadSMTP: one Send of a digest through a slow, flaky mail
// server that drops connections after message bodies completes; it reaches
// every confirmed subscriber, nobody else, and nobody twice except for the
// messages whose 250 was lost; temporary refusals mark nobody bounced.
func TestSendThroughBadSMTP(t *testing.T) {
	n := 1000
	if v := os.Getenv(badSMTPEnv); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			t.Fatalf("%s=%q: want a positive number", badSMTPEnv, v)
		}
	}
	for _, tc := range []struct{ name, url string }{
		{"sqlite", "sqlite:" + filepath.Join(t.TempDir(), "bad.db")},
		{"redis", redistest.Server(t)},
	} {
		t.Run(tc.name, func(t *testing.T) { sendThroughBadSMTP(t, tc.url, n, badFaults) })
	}
}

// TestSendThroughBadSMTPGreetingDrops: the same, and besides, 40% of
// connections are closed before the greeting. Such a drop looks like a
// server that is down, so it may stop a Send (with a connect error); Sends
// resumed as the scheduler does at its next tick complete the digest with the
// same guarantees, after at most one stop per dropped greeting.
func TestSendThroughBadSMTPGreetingDrops(t *testing.T) {
	f := badFaults
	f.DropGreeting = 0.4
	sendThroughBadSMTP(t, "sqlite:"+filepath.Join(t.TempDir(), "greet.db"), 300, f)
}

// sendThroughBadSMTP sends a digest to n confirmed subscribers (and 300
// others who must get nothing) through a sink with faults, resuming the send
// only after a stop owed to a dropped greeting, and checks what arrived.
func sendThroughBadSMTP(t *testing.T, storeURL string, n int, faults mailtest.Faults) {
	ctx := context.Background()
	f := newNLFixture(t, storeURL, nil)
	f.seedStories(t, "Court Strikes Down Bulk Data Retention", "Browser Blocks Third-Party Cookies")

	// n confirmed subscribers; 100 each pending, unsubscribed and bounced,
	// who must receive nothing.
	confirmed := make([]string, n)
	var csv strings.Builder
	for i := range confirmed {
		confirmed[i] = fmt.Sprintf("reader%06d@example.org", i)
		csv.WriteString(confirmed[i] + "\n")
	}
	if rep, err := f.svc.Import(ctx, strings.NewReader(csv.String()), func(int, error) {}); err != nil || rep.Added != n {
		t.Fatalf("import: %+v %v", rep, err)
	}
	var others []string
	var subs []newsletter.Subscriber
	for _, st := range []newsletter.Status{newsletter.Pending, newsletter.Unsubscribed, newsletter.Bounced} {
		for i := range 100 {
			addr := fmt.Sprintf("%s%03d@example.org", st, i)
			others = append(others, addr)
			sub := newsletter.Subscriber{Index: f.keys.BlindIndex(newsletter.IndexForm(addr)), Sealed: f.keys.Seal(addr),
				Status: st, CreatedAt: f.now()}
			switch st {
			case newsletter.Unsubscribed:
				sub.ConfirmedAt, sub.UnsubscribedAt = f.now(), f.now()
			case newsletter.Bounced:
				sub.ConfirmedAt, sub.HardFailures = f.now(), newsletter.HardFailuresToBounce
			}
			subs = append(subs, sub)
		}
	}
	if _, err := f.st.AddSubscribers(ctx, subs); err != nil {
		t.Fatal(err)
	}

	sink := mailtest.NewServer(t, mailtest.ServerOptions{Discard: true, Faults: &faults})
	tr, err := mail.Open(sink.URL()+"?tls=none", "", mail.Options{Rate: -1, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	svc, err := newsletter.NewService(newsletter.Options{Store: f.st, Stories: f.st, Keys: f.keys, Mail: tr,
		BaseURL: "https://news.example.org", From: "Tidings <digest@news.example.org>", Now: f.now})
	if err != nil {
		t.Fatal(err)
	}

	// Short back-offs (2 ms, doubling), and eight tries: a delivery fails
	// for good only after 8 temporary failures in a row, about 0.09^8 = 5e-9.
	opts := newsletter.SendOptions{Lease: 3 * time.Second, RetryBase: 2 * time.Millisecond, MaxAttempts: 8}
	if faults.DropGreeting > 0 {
		// Claim one at a time, so that a stopped Send leaves no claims a
		// resumed one would wait a lease for.
		opts.Batch = 1
	}
	start := time.Now()
	week, runs := "", 0
	var rep newsletter.SendReport
	for {
		runs++
		rep, err = svc.Send(ctx, week, opts)
		week = rep.Week
		if err == nil {
			break
		}
		// A connection closed before the greeting looks like a server that
		// is down: the send stops, and is resumed (the scheduler does so at
		// its next tick). Each stop must be owed to one such drop.
		var se *mail.SendError
		if !errors.As(err, &se) || se.Step != mail.StepConnect || runs > sink.Faults().GreetingDrops {
			t.Fatalf("send run %d: %v (after %d greeting drops)", runs, err, sink.Faults().GreetingDrops)
		}
	}
	took := time.Since(start)

	fc := sink.Faults()
	dups, missing := 0, 0
	for _, addr := range confirmed {
		switch c := sink.CountTo(addr); {
		case c == 0:
			missing++
		case c > 1:
			dups += c - 1
		}
	}
	var wrong []string
	for _, addr := range others {
		if sink.CountTo(addr) != 0 {
			wrong = append(wrong, addr)
		}
	}
	attempts, maxAttempts := 0, 0
	for after := int64(0); ; {
		page, err := f.st.Subscribers(ctx, newsletter.SubscriberFilter{Status: newsletter.Confirmed, AfterID: after, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, sub := range page {
			if sub.HardFailures != 0 {
				t.Errorf("subscriber %d has %d hard failures after temporary refusals only", sub.ID, sub.HardFailures)
			}
			d, err := f.st.Delivery(ctx, week, sub.ID)
			if err != nil {
				t.Fatal(err)
			}
			attempts += d.Attempts
			maxAttempts = max(maxAttempts, d.Attempts)
		}
		after = page[len(page)-1].ID
	}
	counts, err := svc.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}

	t.Logf("%d confirmed subscribers, %d send runs, %v", n, runs, took.Round(time.Millisecond))
	t.Logf("faults: %d greeting drops, 4xx %d at MAIL + %d at RCPT + %d at DATA, %d drops after the body, %d replies delayed (%v in all)",
		fc.GreetingDrops, fc.MailTemp, fc.RcptTemp, fc.DataTemp, fc.BodyDrops, fc.Delays, fc.DelayTotal.Round(time.Millisecond))
	t.Logf("received %d copies: %d missing, %d duplicates (bound: %d drops after the body); %d connections; attempts recorded %d (max %d per delivery)",
		sink.Count(), missing, dups, fc.BodyDrops, sink.Connections(), attempts, maxAttempts)
	t.Logf("report %+v; subscribers %v", rep, counts)

	if rep.Pending != 0 || rep.Planned != n || rep.Sent != n || rep.Failed != 0 || rep.Skipped != 0 || rep.Bounced != 0 {
		t.Errorf("report %+v, want all %d sent", rep, n)
	}
	if missing != 0 {
		t.Errorf("%d confirmed subscribers received nothing", missing)
	}
	if len(wrong) != 0 {
		t.Errorf("%d addresses not confirmed received the digest, e.g. %s", len(wrong), wrong[0])
	}
	if dups > fc.BodyDrops {
		t.Errorf("%d duplicates, more than the %d messages whose 250 was lost", dups, fc.BodyDrops)
	}
	if attempts > n+fc.TempFails()+fc.BodyDrops {
		t.Errorf("%d attempts recorded, more than %d messages + %d faults that fail one", attempts, n, fc.TempFails()+fc.BodyDrops)
	}
	if sink.Count() != n+dups {
		t.Errorf("the sink holds %d copies, want %d + %d duplicates", sink.Count(), n, dups)
	}
	if counts[newsletter.Confirmed] != n || counts[newsletter.Bounced] != 100 {
		t.Errorf("subscribers after the send: %v; want %d confirmed and the 100 bounced before", counts, n)
	}
	is, err := f.st.Issue(ctx, week)
	if err != nil || is.SentAt.IsZero() {
		t.Errorf("issue %s not marked sent: %v", week, err)
	}
	// The faults did happen, or this proved nothing.
	if fc.BodyDrops == 0 || fc.MailTemp == 0 || fc.RcptTemp == 0 || fc.DataTemp == 0 || faults.DropGreeting > 0 && fc.GreetingDrops == 0 {
		t.Errorf("too few faults to mean anything: %+v", fc)
	}
}
