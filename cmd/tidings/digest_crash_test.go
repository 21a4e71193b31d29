package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tidings/tidings/mail/mailtest"
	"github.com/tidings/tidings/newsletter"
	"github.com/tidings/tidings/store/redistest"
)

// childEnv makes the test binary run as the tidings binary (see TestMain), so
// that a test can kill a real process.
const childEnv = "TIDINGS_TEST_CHILD"

// TestDigestSendSurvivesKills is the crash test: 2,000 confirmed subscribers,
// a `digest send` process killed with SIGKILL at random moments three times,
// then run to the end. Every confirmed subscriber gets the issue; nobody gets
// it twice except messages in flight at a kill; pending and unsubscribed
// addresses get nothing; a further send sends nothing.
func TestDigestSendSurvivesKills(t *testing.T) {
	if testing.Short() {
		t.Skip("the crash test runs a sender four times")
	}
	t.Run("sqlite", func(t *testing.T) {
		crashTest(t, "sqlite:"+filepath.Join(t.TempDir(), "crash.db"))
	})
	t.Run("redis", func(t *testing.T) {
		crashTest(t, redistest.Server(t))
	})
}

func crashTest(t *testing.T, storeURL string) {
	const (
		confirmed = 2000
		workers   = 4
		kills     = 3
	)
	ctx := context.Background()
	dir := t.TempDir()
	t.Setenv("TIDINGS_SECRET_KEY", "cXVpdGUgYSBsb25nIHRlc3Qgc2VjcmV0IGtleSwgMzIrIGJ5dGVz")
	common := []string{"--store", storeURL, "--data", dir, "--base-url", "https://news.example.org"}

	// Confirmed subscribers by import; pending ones by the sign-up form's
	// path; unsubscribed ones by import, then unsubscribing.
	var csv strings.Builder
	csv.WriteString("email\n")
	for i := range confirmed {
		fmt.Fprintf(&csv, "reader%04d@example.org\n", i)
	}
	for i := range 20 {
		fmt.Fprintf(&csv, "leaver%02d@example.org\n", i)
	}
	importFile := filepath.Join(dir, "subs.csv")
	if err := os.WriteFile(importFile, []byte(csv.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := tidings(t, ctx, append([]string{"subscribers", "import", importFile}, common...)...); code != 0 {
		t.Fatalf("import: %d %s %s", code, out, errOut)
	}
	leavers, pending := nonRecipients(t, ctx, storeURL, dir)

	sink := mailtest.NewServer(t, mailtest.ServerOptions{Discard: true})
	send := append([]string{"digest", "send", "--smtp", sink.URL() + "?tls=none", "--smtp-rate", "0",
		"--smtp-connections", fmt.Sprint(workers), "--digest-lease", "1s"}, common...)

	for kill := range kills {
		before := sink.Count()
		cmd := exec.Command(os.Args[0], send...)
		cmd.Env = append(os.Environ(), childEnv+"=1")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Kill once some mail has gone out, at a random moment of the send.
		target := before + 50 + rand.IntN(400)
		if !sink.WaitCount(target, 30*time.Second) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("kill %d: the sender delivered only %d messages", kill+1, sink.Count())
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		err := cmd.Wait()
		t.Logf("kill %d after %d messages: %v", kill+1, sink.Count(), err)
		if sink.Count() >= confirmed {
			t.Fatalf("kill %d came too late: everything was sent already", kill+1)
		}
	}
	code, out, errOut := tidings(t, ctx, send...)
	if code != 0 || !strings.Contains(out, "still owed 0") {
		t.Fatalf("final send: %d %s %s", code, out, errOut)
	}

	dupes := 0
	for i := range confirmed {
		addr := fmt.Sprintf("reader%04d@example.org", i)
		switch n := sink.CountTo(addr); {
		case n == 0:
			t.Errorf("%s never received the issue", addr)
		case n > 1:
			dupes += n - 1
		}
	}
	t.Logf("%d messages for %d subscribers: %d duplicates after %d kills", sink.Count(), confirmed, dupes, kills)
	// In flight at a kill: each worker's batch, sent but not yet recorded.
	if inFlight := workers * newsletter.DefaultBatch; dupes > inFlight*kills {
		t.Errorf("%d duplicates; at most the %d messages in flight at each of %d kills may go twice", dupes, inFlight, kills)
	}
	for _, addr := range append(leavers, pending...) {
		if n := sink.CountTo(addr); n != 0 {
			t.Errorf("%s received %d messages but is not a confirmed subscriber", addr, n)
		}
	}

	// A second send sends nothing.
	total := sink.Count()
	if code, out, errOut := tidings(t, ctx, send...); code != 0 || !strings.Contains(out, "still owed 0") {
		t.Fatalf("second send: %d %s %s", code, out, errOut)
	}
	if sink.Count() != total {
		t.Errorf("a second send sent %d more messages", sink.Count()-total)
	}
}

// nonRecipients makes 20 of the imported "leaver" subscribers unsubscribe by
// their link's token, and 20 new addresses sign up without confirming.
func nonRecipients(t *testing.T, ctx context.Context, storeURL, dir string) (leavers, pending []string) {
	t.Helper()
	a := &app{stdout: io.Discard, stderr: io.Discard}
	a.cfg = Config{Store: storeURL, Data: dir, BaseURL: "https://news.example.org", SMTPConnections: 1}
	st, err := a.openStore(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc, _, tr, err := a.newsletterService(st)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	var tokens []string
	err = svc.EachSubscriber(ctx, newsletter.Confirmed, func(sub newsletter.Subscriber, addr string) error {
		if strings.HasPrefix(addr, "leaver") {
			leavers = append(leavers, addr)
			u, err := url.Parse(svc.UnsubscribeURL(sub.ID))
			if err != nil {
				return err
			}
			tokens = append(tokens, u.Query().Get("token"))
		}
		return nil
	})
	if err != nil || len(tokens) != 20 {
		t.Fatalf("finding the leavers: %v (%d found)", err, len(tokens))
	}
	for _, tok := range tokens {
		if err := svc.Unsubscribe(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 20 {
		addr := fmt.Sprintf("waiter%02d@example.org", i)
		if err := svc.Subscribe(ctx, addr, "/", fmt.Sprintf("192.0.2.%d", i+1)); err != nil {
			t.Fatal(err)
		}
		pending = append(pending, addr)
	}
	return leavers, pending
}
