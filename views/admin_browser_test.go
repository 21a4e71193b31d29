package views_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/tidings/tidings/comments"
)

// browserLogin logs in through the login form open in tab and returns
// where the browser lands.
func browserLogin(t *testing.T, tab context.Context, password string) string {
	t.Helper()
	if err := chromedp.Do(tab, chromedp.SendKeys(chromedp.ID("admin-password"), password)); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(tab, chromedp.WaitEvent(page.LoadEventFired, nil,
		chromedp.Click(chromedp.CSS(`form.admin-login button[type="submit"]`)))); err != nil {
		t.Fatal(err)
	}
	loc, err := chromedp.Run(tab, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// TestBrowserModerates logs in through the real form in Chromium (its real
// Origin and Sec-Fetch-Site headers must pass the form guard, its cookie
// jar must keep the session), approves a held comment in the queue, and
// finds it on the story page.
func TestBrowserModerates(t *testing.T) {
	as := newAdminSite(t, "http://localhost:8080")
	id := as.held(t, "Ada Lovelace", "ada.browser.admin@example.org", "Approved in a real browser.")
	tab := browser(t, as.ts.URL)

	// The story page, before (and so cached): no held comment on it.
	if err := chromedp.Do(tab, chromedp.Navigate(as.ts.URL+as.story)); err != nil {
		t.Fatal(err)
	}
	if text := articleText(t, tab, id); text != "" {
		t.Fatalf("the held comment is on the story page:\n%s", text)
	}

	// The queue sends to the login, which sends back.
	if err := chromedp.Do(tab, chromedp.Navigate(as.ts.URL+"/admin/comments")); err != nil {
		t.Fatal(err)
	}
	if loc, _ := chromedp.Run(tab, chromedp.Location()); !strings.HasPrefix(loc, as.ts.URL+"/admin/login?next=") {
		t.Fatalf("the queue without a session led to %s", loc)
	}
	if loc := browserLogin(t, tab, "not the password"); !strings.HasPrefix(loc, as.ts.URL+"/admin/login") {
		t.Fatalf("a wrong password led to %s", loc)
	}
	if msg, err := chromedp.Run(tab, chromedp.Text(chromedp.ID("login-error"))); err != nil || !strings.Contains(msg, "not the admin password") {
		t.Errorf("after a wrong password the page says %q (%v)", msg, err)
	}
	if loc := browserLogin(t, tab, adminPassword); loc != as.ts.URL+"/admin/comments" {
		body, _ := chromedp.Run(tab, chromedp.Text(chromedp.CSS("main")))
		t.Fatalf("the login led to %s:\n%s", loc, body)
	}
	entry, err := chromedp.Run(tab, chromedp.Text(chromedp.ID(fmt.Sprintf("held-%d", id))))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Ada Lovelace", "ada.browser.admin@example.org", comments.ReasonFirst, "WhatsApp Boss Clashes", "Approved in a real browser."} {
		if !strings.Contains(entry, want) {
			t.Errorf("the queue entry lacks %q:\n%s", want, entry)
		}
	}
	screenshot(t, tab, as.ts.URL+"/admin/comments", 375, filepath.Join(artifacts(t), "admin-queue-375.png"))

	if _, err := chromedp.Run(tab, chromedp.WaitEvent(page.LoadEventFired, nil,
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`button[value="approve:%d"]`, id))))); err != nil {
		t.Fatal(err)
	}
	if flash, err := chromedp.Run(tab, chromedp.Text(chromedp.CSS(".notice"))); err != nil || flash != "1 comment approved." {
		t.Errorf("after approving, the queue says %q (%v)", flash, err)
	}
	if st := as.status(t, id); st != comments.Approved {
		t.Fatalf("the comment is %s after approving in the browser", st)
	}
	if err := chromedp.Do(tab, chromedp.Navigate(as.ts.URL+as.story)); err != nil {
		t.Fatal(err)
	}
	if text := articleText(t, tab, id); !strings.Contains(text, "Approved in a real browser.") {
		t.Errorf("the approved comment is not on the story page at once:\n%q", text)
	}
	// Logging out ends the session: the queue sends to the login again.
	if err := chromedp.Do(tab, chromedp.Navigate(as.ts.URL+"/admin/")); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(tab, chromedp.WaitEvent(page.LoadEventFired, nil,
		chromedp.Click(chromedp.CSS(`.admin-nav button[type="submit"]`)))); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(tab, chromedp.Navigate(as.ts.URL+"/admin/comments")); err != nil {
		t.Fatal(err)
	}
	if loc, _ := chromedp.Run(tab, chromedp.Location()); !strings.HasPrefix(loc, as.ts.URL+"/admin/login") {
		t.Errorf("after logging out, the queue led to %s", loc)
	}
}

// TestAdminAccessibility runs axe-core (see TestAccessibility) on the login
// page, the dashboard and a moderation queue holding comments, in light and
// dark mode, and fails on serious or critical violations.
func TestAdminAccessibility(t *testing.T) {
	axePath := os.Getenv("TIDINGS_AXE")
	if axePath == "" {
		skipOrFail(t, "TIDINGS_AXE is not set; .ci/run installs axe-core from npm and sets it to axe.min.js")
	}
	axeJS, err := os.ReadFile(axePath)
	if err != nil {
		t.Fatalf("reading axe-core: %v", err)
	}
	as := newAdminSite(t, "http://localhost:8080")
	as.held(t, "Ada", "ada.axe@example.org", "Metadata is data.\n\nSee https://eff.example/x")
	as.held(t, "Grace", "grace.axe@example.org", "Agreed.")
	tab := browser(t, as.ts.URL)
	// A second browser context, without the session, sees the login page.
	anon, cancel := chromedp.NewContext(tab, chromedp.WithNewBrowserContext())
	defer cancel()
	if err := chromedp.Do(tab, chromedp.Navigate(as.ts.URL+"/admin/login")); err != nil {
		t.Fatal(err)
	}
	if loc := browserLogin(t, tab, adminPassword); loc != as.ts.URL+"/admin/" {
		t.Fatalf("the login led to %s", loc)
	}
	// This week's issue, composed through its button, fills the digests page.
	if err := chromedp.Do(tab, chromedp.Navigate(as.ts.URL+"/admin/digests")); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(tab, chromedp.WaitEvent(page.LoadEventFired, nil,
		chromedp.Click(chromedp.CSS(`form[action="/admin/digests/compose"] button`)))); err != nil {
		t.Fatalf("composing from the digests page: %v", err)
	}
	check := func(t *testing.T, ctx context.Context, path string) {
		t.Helper()
		for _, v := range axePage(t, ctx, axeJS, as.ts.URL+path, "") {
			if msg := describe(v); v.Impact == "serious" || v.Impact == "critical" {
				t.Error(msg)
			} else {
				t.Log(msg)
			}
		}
	}
	for _, scheme := range []string{"light", "dark"} {
		for _, ctx := range []context.Context{tab, anon} {
			if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
				Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
			}); err != nil {
				t.Fatal(err)
			}
		}
		t.Run("login/"+scheme, func(t *testing.T) { check(t, anon, "/admin/login?ended=1") })
		t.Run("dashboard/"+scheme, func(t *testing.T) { check(t, tab, "/admin/") })
		t.Run("queue/"+scheme, func(t *testing.T) { check(t, tab, "/admin/comments?done=approve&n=2") })
		t.Run("feeds/"+scheme, func(t *testing.T) { check(t, tab, "/admin/feeds?done=poll&id=1") })
		t.Run("subscribers/"+scheme, func(t *testing.T) { check(t, tab, "/admin/subscribers?done=removed") })
		t.Run("digests/"+scheme, func(t *testing.T) { check(t, tab, "/admin/digests?done=composed") })
	}
}
