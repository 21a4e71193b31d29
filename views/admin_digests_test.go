package views_test

import (
	"context"
	"mime"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tidings/tidings/newsletter"
)

// refreshing reports whether a page reloads itself.
func refreshing(body string) bool {
	return strings.Contains(body, `<meta http-equiv="refresh" content="2">`)
}

// count reads a number the digests page shows in <dd class="CLASS">.
func count(t *testing.T, body, class string) string {
	t.Helper()
	m := regexp.MustCompile(`<dd class="` + class + `">(\d+)</dd>`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("the page shows no %s count", class)
	}
	return m[1]
}

// The digests page, end to end: compose, preview (HTML and text), a test
// message, then the real send in the background with its progress, and the
// history; each confirmed subscriber is mailed exactly once.
func TestAdminDigests(t *testing.T) {
	ls := newLetterAdminSite(t)
	subs := []string{"ada@example.org", "grace@example.org", "linus@example.net"}
	ls.confirmed(t, subs...)
	if err := ls.nl.Subscribe(context.Background(), "pending.person@example.net", "/", "192.0.2.9"); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	week := ls.nl.CurrentWeek()
	a := ls.client()
	a.mustLogin(t)

	// The dashboard shows the next digest, and no last one yet.
	_, body := a.get(t, "/admin/")
	if !strings.Contains(body, "Next digest") || !strings.Contains(body, "7 Dec 2026, 08:00 UTC") || strings.Contains(body, "Last digest") {
		t.Errorf("the dashboard before any send:\n%s", body)
	}

	// Nothing is composed by looking.
	resp, body := a.get(t, "/admin/digests")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "not composed yet") || !strings.Contains(body, "7 Dec 2026, 08:00 UTC") {
		t.Fatalf("GET /admin/digests: %d\n%s", resp.StatusCode, body)
	}
	checkPrivate(t, "GET /admin/digests", resp, body)
	if _, err := ls.nl.StoredIssue(ctx, week); err == nil {
		t.Fatal("viewing the digests page composed the issue")
	}
	resp, body = a.post(t, "/admin/digests/compose")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/digests?done=composed" {
		t.Fatalf("compose: %d to %q\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	is, err := ls.nl.StoredIssue(ctx, week)
	if err != nil {
		t.Fatal(err)
	}
	_, body = a.get(t, "/admin/digests?done=composed")
	for _, want := range []string{"This week’s issue is composed", `<pre class="digest-text">`, "Regulator Fines Retailer Over Face Scans", "[the subscriber&#39;s unsubscribe link]",
		`href="/admin/digests/preview/` + week + `"`, `name="week" value="` + week + `"`, "Send issue " + week + " now"} {
		if !strings.Contains(body, want) {
			t.Errorf("the digests page lacks %q", want)
		}
	}
	if strings.Contains(body, newsletter.UnsubscribePlaceholder) || refreshing(body) {
		t.Error("the preview shows the placeholder, or the page refreshes with no send running")
	}

	// The HTML preview: the stored issue, under the archive's CSP.
	resp, body = a.get(t, "/admin/digests/preview/"+week)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Regulator Fines Retailer Over Face Scans") || strings.Contains(body, newsletter.UnsubscribePlaceholder) {
		t.Errorf("preview: %d\n%s", resp.StatusCode, body)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "style-src 'self' 'unsafe-inline'") || !strings.Contains(csp, "script-src 'none'") {
		t.Errorf("preview CSP %q", csp)
	}
	checkPrivate(t, "preview", resp, "")
	if resp, _ := a.get(t, "/admin/digests/preview/2020-W01"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("preview of a week never composed: %d", resp.StatusCode)
	}

	// A test: refused with what was typed kept; then one message.
	for _, tc := range []struct {
		typed, week string
		code        int
		msg         string
	}{
		{"", week, http.StatusBadRequest, "Enter the address the test should go to."},
		{"editor@", week, http.StatusBadRequest, "Something is missing after the @."},
		{"editor@example.org", "last week", http.StatusBadRequest, "The form names no issue week."},
		{"editor@example.org", "2020-W01", http.StatusConflict, "No issue was composed in week 2020-W01"},
	} {
		resp, body := a.post(t, "/admin/digests/test", "email", tc.typed, "week", tc.week)
		if resp.StatusCode != tc.code || !strings.Contains(body, tc.msg) {
			t.Errorf("test to %q (%s): %d, want %d with %q\n%s", tc.typed, tc.week, resp.StatusCode, tc.code, tc.msg, body)
		}
		if tc.typed == "editor@" {
			checkKept(t, "test to editor@", body, tc.typed)
		}
	}
	resp, body = a.post(t, "/admin/digests/test", "email", "editor@example.org", "week", week)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/digests?done=test" {
		t.Fatalf("test: %d to %q\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	if got := ls.sink.CountTo("editor@example.org"); got != 1 {
		t.Fatalf("the test address received %d messages, want 1", got)
	}
	for _, m := range ls.sink.Messages() {
		subject, _ := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
		if m.To == "editor@example.org" && (!strings.HasPrefix(subject, "[Test] Tidings") || strings.Contains(string(m.Data), newsletter.UnsubscribePlaceholder)) {
			t.Errorf("the test message: subject %q\n%s", m.Header.Get("Subject"), m.Data)
		}
	}
	if dc, err := ls.nl.Deliveries(ctx, week); err != nil || dc.Total() != 0 {
		t.Errorf("the test was recorded as a delivery: %+v %v", dc, err)
	}
	if is, _ := ls.nl.StoredIssue(ctx, week); !is.SendStartedAt.IsZero() {
		t.Error("the test started the send")
	}

	// Send now, held at the mail server while the page is looked at.
	open := ls.closeGate()
	defer open()
	resp, body = a.post(t, "/admin/digests/send", "week", week)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/digests?done=started" {
		t.Fatalf("send: %d to %q\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	_, body = a.get(t, "/admin/digests?done=started")
	if !refreshing(body) || !strings.Contains(body, "sending") || !strings.Contains(body, "<progress") || strings.Contains(body, "Send issue "+week+" now") {
		t.Errorf("the page while the send runs:\n%s", body)
	}
	if resp, _ := a.post(t, "/admin/digests/send", "week", week); resp.Header.Get("Location") != "/admin/digests?done=busy" {
		t.Errorf("a second send while one runs: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	open()
	deadline := time.Now().Add(time.Minute)
	for refreshing(body) {
		if time.Now().After(deadline) {
			t.Fatalf("the send did not end; the page says:\n%s", body)
		}
		time.Sleep(20 * time.Millisecond)
		_, body = a.get(t, "/admin/digests")
	}
	if got := count(t, body, "count-sent"); got != "3" {
		t.Errorf("progress: %s sent, want 3\n%s", got, body)
	}
	for _, class := range []string{"count-failed", "count-pending", "count-skipped"} {
		if got := count(t, body, class); got != "0" {
			t.Errorf("progress: %s %s, want 0", got, class)
		}
	}
	if !strings.Contains(body, "This week’s issue has been sent.") || !strings.Contains(body, `<tr id="issue-`+week+`">`) {
		t.Errorf("after the send, the page says:\n%s", body)
	}
	for _, addr := range subs {
		if got := ls.sink.CountTo(addr); got != 1 {
			t.Errorf("%s received %d digests, want 1", addr, got)
		}
	}
	if got := ls.sink.CountTo("pending.person@example.net"); got != 1 { // its confirmation mail only
		t.Errorf("the pending address received %d messages, want its confirmation only", got)
	}
	if is, err = ls.nl.StoredIssue(ctx, week); err != nil || is.SentAt.IsZero() {
		t.Errorf("the issue is not marked sent: %v", err)
	}
	// Sending again sends nothing.
	if resp, _ := a.post(t, "/admin/digests/send", "week", week); resp.Header.Get("Location") != "/admin/digests?done=sent" {
		t.Errorf("a send of a sent issue: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if got := ls.sink.Count(); got != len(subs)+2 {
		t.Errorf("the sink received %d messages, want %d", got, len(subs)+2)
	}
	// The dashboard shows the last issue's results; the archive lists it.
	_, body = a.get(t, "/admin/")
	if !strings.Contains(body, `<dd class="last-digest">3 sent</dd>`) {
		t.Errorf("the dashboard after the send:\n%s", body)
	}
	if _, body := fetch(t, ls.ts.URL+"/newsletter"); !strings.Contains(body, week) {
		t.Errorf("the archive does not list %s", week)
	}
}

// A mail server that refuses the test message: a clear page, the address
// kept, and a status saying the fault is upstream.
func TestAdminDigestTestRefused(t *testing.T) {
	ls := newLetterAdminSite(t)
	a := ls.client()
	a.mustLogin(t)
	if resp, _ := a.post(t, "/admin/digests/compose"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("compose: %d", resp.StatusCode)
	}
	ls.sink.Close()
	resp, body := a.post(t, "/admin/digests/test", "email", "editor@example.org", "week", ls.nl.CurrentWeek())
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(body, "The mail server did not take the test message") {
		t.Errorf("test with the mail server down: %d\n%s", resp.StatusCode, body)
	}
	checkKept(t, "test with the mail server down", body, "editor@example.org")
}
