package views_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tidings/tidings/admin"
	"github.com/tidings/tidings/comments"
	"github.com/tidings/tidings/feeds"
	"github.com/tidings/tidings/views"
)

// checkPrivate fails unless an admin response may be kept by no cache and
// shown by no search engine.
func checkPrivate(t *testing.T, what string, resp *http.Response, body string) {
	t.Helper()
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("%s: Cache-Control %q, want no-store", what, cc)
	}
	if !strings.Contains(resp.Header.Get("X-Robots-Tag"), "noindex") {
		t.Errorf("%s: X-Robots-Tag %q, want noindex", what, resp.Header.Get("X-Robots-Tag"))
	}
	if body != "" && !strings.Contains(body, `<meta name="robots" content="noindex">`) {
		t.Errorf("%s: no robots noindex meta tag", what)
	}
}

// Without a session, every admin page but the login refuses: a GET is sent
// to the login (and back after it), a POST gets 401, and nothing changes.
func TestAdminNeedsSession(t *testing.T) {
	as := newAdminSite(t, "http://localhost:8080")
	id := as.held(t, "Ada", "ada.session@example.org", "Held until someone logs in.")
	anon := as.client()
	for path, want := range map[string]string{
		"/admin/":         "/admin/login",
		"/admin/comments": "/admin/login?next=%2Fadmin%2Fcomments",
		"/admin":          "/admin/",
	} {
		resp, _ := anon.get(t, path)
		if loc := resp.Header.Get("Location"); resp.StatusCode/100 != 3 || loc != want {
			t.Errorf("GET %s without a session: %d to %q, want a redirect to %s", path, resp.StatusCode, loc, want)
		}
		checkPrivate(t, "GET "+path, resp, "")
	}
	for _, path := range []string{"/admin/comments", "/admin/logout"} {
		resp, body := anon.post(t, path, "one", "approve:"+strconv.FormatInt(id, 10))
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "You are not logged in") {
			t.Errorf("POST %s without a session: %d\n%s", path, resp.StatusCode, body)
		}
		checkPrivate(t, "POST "+path, resp, body)
	}
	// A cookie naming no session is no better, and is taken back.
	forged := as.client()
	forged.cookie = &http.Cookie{Name: "tidings_admin", Value: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}
	if resp, body := forged.post(t, "/admin/comments", "one", "approve:"+strconv.FormatInt(id, 10)); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("POST with a forged cookie: %d\n%s", resp.StatusCode, body)
	}
	if forged.cookie != nil {
		t.Error("a forged cookie was not taken back")
	}
	forged.cookie = &http.Cookie{Name: "tidings_admin", Value: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}
	if resp, _ := forged.get(t, "/admin/comments"); resp.Header.Get("Location") != "/admin/login?ended=1&next=%2Fadmin%2Fcomments" {
		t.Errorf("GET with a forged cookie: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if st := as.status(t, id); st != comments.Pending {
		t.Errorf("a refused POST made the comment %s", st)
	}
	// The login page itself is open, private and not indexed.
	resp, body := anon.get(t, "/admin/login")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `type="password" name="password"`) {
		t.Fatalf("GET /admin/login: %d\n%s", resp.StatusCode, body)
	}
	checkPrivate(t, "GET /admin/login", resp, body)
}

// Every admin POST needs the form token (and a same-origin browser), with
// or without a session: 403, and nothing changes.
func TestAdminFormsNeedToken(t *testing.T) {
	as := newAdminSite(t, "http://localhost:8080")
	id := as.held(t, "Ada", "ada.csrf@example.org", "Held until a real form says otherwise.")
	a := as.client()
	a.mustLogin(t)
	one := strconv.FormatInt(id, 10)
	for _, tc := range []struct {
		name   string
		vals   url.Values
		header []string
	}{
		{"no token", url.Values{"one": {"approve:" + one}}, nil},
		{"forged token", url.Values{"one": {"approve:" + one}, "csrf": {"1700000000.bm90IGEgcmVhbCBzaWduYXR1cmU"}}, nil},
		{"expired token", url.Values{"one": {"approve:" + one}, "csrf": {as.keys.FormToken(time.Now().Add(-25 * time.Hour))}}, nil},
		{"another site", url.Values{"one": {"approve:" + one}, "csrf": {as.keys.FormToken(time.Now())}}, []string{"Sec-Fetch-Site", "cross-site"}},
	} {
		for _, path := range []string{"/admin/comments", "/admin/logout", "/admin/login"} {
			vals := url.Values{}
			for k, v := range tc.vals {
				vals[k] = v
			}
			vals.Set("password", adminPassword)
			resp, body := a.postRaw(t, path, vals, tc.header...)
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s: POST %s %d, want 403\n%s", tc.name, path, resp.StatusCode, body)
			}
		}
	}
	if st := as.status(t, id); st != comments.Pending {
		t.Errorf("a POST without a valid token made the comment %s", st)
	}
	if resp, _ := a.get(t, "/admin/"); resp.StatusCode != http.StatusOK {
		t.Errorf("a logout without a token logged out: GET /admin/ %d", resp.StatusCode)
	}
	// Every form of the admin pages carries a current token.
	for _, path := range []string{"/admin/login", "/admin/", "/admin/comments"} {
		_, body := a.get(t, path)
		if path == "/admin/login" {
			_, body = as.client().get(t, path)
		}
		forms := postForms(body)
		if len(forms) == 0 {
			t.Errorf("%s: no form", path)
		}
		for _, f := range forms {
			if tok := f.Fields["csrf"]; len(tok) != 1 {
				t.Errorf("%s: a form to %s has %d csrf fields", path, f.Action, len(tok))
			} else if _, err := as.keys.CheckFormToken(tok[0], time.Now(), 24*time.Hour); err != nil {
				t.Errorf("%s: a form to %s: %v", path, f.Action, err)
			}
		}
	}
}

func TestAdminLogin(t *testing.T) {
	as := newAdminSite(t, "http://localhost:8080")
	a := as.client()
	for _, tc := range []struct {
		password string
		code     int
		want     string
	}{
		{"", http.StatusBadRequest, "Enter the admin password."},
		{"not the password", http.StatusUnauthorized, "That is not the admin password."},
		{strings.Repeat("x", 5000), http.StatusUnauthorized, "That is not the admin password."},
	} {
		resp, body := a.login(t, tc.password)
		if resp.StatusCode != tc.code || !strings.Contains(body, tc.want) || !strings.Contains(body, `aria-invalid="true"`) {
			t.Errorf("password %.20q: %d, want %d with %q\n%s", tc.password, resp.StatusCode, tc.code, tc.want, body)
		}
		if a.cookie != nil {
			t.Errorf("password %.20q: a session cookie was set", tc.password)
		}
		checkPrivate(t, "a refused login", resp, body)
	}
	resp, _ := a.login(t, adminPassword)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/" {
		t.Fatalf("login: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	ck := a.cookie
	if ck == nil || ck.Name != "tidings_admin" || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/admin" || ck.Secure {
		t.Errorf("the session cookie on http: %+v, want tidings_admin, HttpOnly, SameSite=Lax, Path=/admin", ck)
	}
	resp, body := a.get(t, "/admin/")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "<h1>Dashboard</h1>") {
		t.Fatalf("dashboard: %d\n%s", resp.StatusCode, body)
	}
	checkPrivate(t, "dashboard", resp, body)
	// Logged in, the login page leads on.
	if resp, _ := a.get(t, "/admin/login?next=/admin/comments"); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/comments" {
		t.Errorf("GET /admin/login logged in: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}

	// On https: the __Host- cookie, Secure, for the whole site.
	ss := newAdminSite(t, "https://news.example.org")
	b := ss.client()
	b.mustLogin(t)
	if ck := b.cookie; ck.Name != "__Host-tidings_admin" || !ck.Secure || ck.Path != "/" || ck.Domain != "" || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode {
		t.Errorf("the session cookie on https: %+v", ck)
	}
	if resp, _ := b.get(t, "/admin/"); resp.StatusCode != http.StatusOK {
		t.Errorf("dashboard on https: %d", resp.StatusCode)
	}
}

// A login leads back to the admin page asked for, and never elsewhere.
func TestAdminLoginNext(t *testing.T) {
	as := newAdminSite(t, "http://localhost:8080")
	for next, want := range map[string]string{
		"/admin/comments":           "/admin/comments",
		"":                          "/admin/",
		"//evil.example/admin/":     "/admin/",
		"https://evil.example":      "/admin/",
		"/admin/../stories":         "/admin/",
		"/admin//evil.example":      "/admin/",
		"/admin/login":              "/admin/",
		"/admin/comments\r\nX-A: b": "/admin/",
		`/admin/\evil.example`:      "/admin/",
	} {
		a := as.client()
		resp, body := a.get(t, "/admin/login?next="+url.QueryEscape(next))
		f := onlyForm(t, body)
		f.Fields.Set("password", adminPassword)
		resp, _ = a.postRaw(t, f.Action, f.Fields)
		if loc := resp.Header.Get("Location"); loc != want {
			t.Errorf("next %q: to %q, want %q", next, loc, want)
		}
		// The field sent by hand counts no more than the query.
		b := as.client()
		resp, _ = b.post(t, "/admin/login", "password", adminPassword, "next", next)
		if loc := resp.Header.Get("Location"); loc != want {
			t.Errorf("posted next %q: to %q, want %q", next, loc, want)
		}
	}
}

// The 11th login from one address within 15 minutes is refused, even with
// the right password; another address is not affected.
func TestAdminLoginThrottle(t *testing.T) {
	as := newAdminSite(t, "http://localhost:8080")
	a := as.client()
	for i := range admin.MaxFailures {
		if resp, _ := a.login(t, "wrong password "+strconv.Itoa(i)); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i+1, resp.StatusCode)
		}
	}
	resp, body := a.login(t, adminPassword)
	if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, "Too many failed logins") || resp.Header.Get("Retry-After") != "900" {
		t.Errorf("11th attempt with the right password: %d, Retry-After %q\n%s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	if a.cookie != nil {
		t.Error("a throttled login set a cookie")
	}
	as.client().mustLogin(t)
	// After the window, the right password works again.
	as.clock.set(admin.FailureWindow + time.Minute)
	a.mustLogin(t)
}

// Each login gets a new token, and the session the browser had ends.
func TestAdminSessionRotation(t *testing.T) {
	as := newAdminSite(t, "http://localhost:8080")
	a := as.client()
	a.mustLogin(t)
	first := a.cookie
	// Logged in, the login page leads on; a login form sent from a page
	// opened before still logs in, with a new token.
	if resp, _ := a.post(t, "/admin/login", "password", adminPassword); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("second login: %d", resp.StatusCode)
	}
	second := a.cookie
	if first.Value == second.Value {
		t.Fatal("a second login kept the token")
	}
	a.cookie = first
	if resp, _ := a.get(t, "/admin/"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("the token before the second login still works: %d", resp.StatusCode)
	}
	a.cookie = second
	if resp, _ := a.get(t, "/admin/"); resp.StatusCode != http.StatusOK {
		t.Errorf("the new token: %d", resp.StatusCode)
	}
}

// A session unused for two hours ends; using it keeps it alive.
func TestAdminIdleExpiry(t *testing.T) {
	as := newAdminSite(t, "http://localhost:8080")
	a := as.client()
	a.mustLogin(t)
	as.clock.set(admin.DefaultIdleTimeout - time.Minute)
	if resp, _ := a.get(t, "/admin/"); resp.StatusCode != http.StatusOK {
		t.Fatalf("just before the idle timeout: %d", resp.StatusCode)
	}
	as.clock.set(2*admin.DefaultIdleTimeout - 2*time.Minute)
	if resp, _ := a.get(t, "/admin/"); resp.StatusCode != http.StatusOK {
		t.Fatalf("used again just before the idle timeout: %d", resp.StatusCode)
	}
	as.clock.set(3 * admin.DefaultIdleTimeout)
	resp, _ := a.get(t, "/admin/comments")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/login?ended=1&next=%2Fadmin%2Fcomments" {
		t.Fatalf("after the idle timeout: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if a.cookie != nil {
		t.Error("the ended session's cookie was not taken back")
	}
	if _, body := a.get(t, resp.Header.Get("Location")); !strings.Contains(body, "Your session has ended.") {
		t.Errorf("the login page does not say the session ended:\n%s", body)
	}
}

func TestAdminLogout(t *testing.T) {
	as := newAdminSite(t, "http://localhost:8080")
	a := as.client()
	a.mustLogin(t)
	token := a.cookie
	resp, _ := a.post(t, "/admin/logout")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/login?out=1" || a.cookie != nil {
		t.Fatalf("logout: %d to %q, cookie %v", resp.StatusCode, resp.Header.Get("Location"), a.cookie)
	}
	if _, body := a.get(t, "/admin/login?out=1"); !strings.Contains(body, "You are logged out.") {
		t.Error("the login page does not say so after a logout")
	}
	a.cookie = token // the old cookie, kept by someone
	if resp, _ := a.get(t, "/admin/"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("the token after logout: %d, want a redirect to the login", resp.StatusCode)
	}
}

func TestAdminDashboard(t *testing.T) {
	as := newAdminSite(t, "http://localhost:8080")
	ctx := context.Background()
	as.held(t, "Ada", "ada.dash@example.org", "One.")
	as.held(t, "Grace", "grace.dash@example.org", "Two.")
	src, err := as.sq.Source(ctx, as.srcs["Night Watch"])
	if err != nil {
		t.Fatal(err)
	}
	src.LastError, src.ErrorCount, src.LastPolledAt = "HTTP 500", 2, time.Date(2026, 11, 22, 7, 30, 0, 0, time.UTC)
	if err := as.sq.UpdateSource(ctx, src); err != nil {
		t.Fatal(err)
	}
	if _, _, err := as.sq.AddStory(ctx, feeds.Story{SourceID: src.ID, GUID: "today", URL: "https://nightwatch.example/today",
		Title: "Published Today", PublishedAt: time.Now().UTC(), FirstSeenAt: time.Now().UTC(), Visible: true}); err != nil {
		t.Fatal(err)
	}
	a := as.client()
	a.mustLogin(t)
	_, body := a.get(t, "/admin/")
	for _, want := range []string{
		"<dt>Stories published today</dt><dd>1</dd>",
		`<dt>Comments awaiting moderation</dt><dd><a href="/admin/comments">2</a></dd>`,
		"<dt>Confirmed subscribers</dt><dd>0</dd>",
		"<dt>Sources polled</dt><dd>3</dd>",
		"<dt>Sources failing</dt><dd>1</dd>",
		"22 Nov 2026, 07:30 UTC",
		"Moderation queue (2)",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the dashboard lacks %q", want)
		}
	}
}

// Admin pages exist only with an admin service, which needs form tokens.
func TestAdminOff(t *testing.T) {
	n := newNewsroom(t)
	for _, path := range []string{"/admin/login", "/admin/", "/admin/comments"} {
		if resp, _ := fetch(t, n.ts.URL+path); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s without admin: %d, want 404", path, resp.StatusCode)
		}
		if resp, _ := post(t, n.ts.URL+path, formType, "password=x"); resp.StatusCode != http.StatusNotFound {
			t.Errorf("POST %s without admin: %d, want 404", path, resp.StatusCode)
		}
	}
	as := newAdminSite(t, testBase)
	if _, err := views.New(views.Options{Stories: as.sq, Admin: as.admin}); err == nil {
		t.Error("New accepted Admin without Forms")
	}
}
