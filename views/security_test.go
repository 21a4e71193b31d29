package views_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/tidings/tidings/admin"
	"github.com/tidings/tidings/comments"
	tmail "github.com/tidings/tidings/mail"
	"github.com/tidings/tidings/newsletter"
	"github.com/tidings/tidings/store/sqlite"
	"github.com/tidings/tidings/views"
)

// guardSite is the whole site on one SQLite file (comments, newsletter,
// admin, every service real), served with or without Options.TrustProxy,
// the setting --trust-proxy gives. The comment service's clock stands still
// unless the test steps it, so a burst of posts is one instant however
// slow the machine; the admin clock runs ahead by an offset.
type guardSite struct {
	*adminSite
	dbPath string
	outbox []string // where the comment and newsletter mails go
	nl     *newsletter.Service
	cclock *clock // set, so it stands still until stepped
	week   string // last week's issue, composed in its week
}

// must stops the test on an error of its setting up.
func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func newGuardSite(t *testing.T, trust bool) *guardSite {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	gs := &guardSite{dbPath: filepath.Join(dir, "x.db"), cclock: &clock{t: time.Now().Add(time.Minute)}}
	sq, err := sqlite.Open(ctx, gs.dbPath)
	must(t, err)
	t.Cleanup(func() { sq.Close() })
	as := &adminSite{sq: sq, clock: &aheadClock{}}
	as.newsroom = fillNewsroom(t, sq)
	keys, svc, cout := commentService(t, comments.Options{Store: sq, Stories: sq, Now: gs.cclock.Now})
	as.svc, as.keys = svc, keys
	nout := filepath.Join(dir, "outbox")
	tr, err := tmail.Open("", nout, tmail.Options{})
	must(t, err)
	t.Cleanup(func() { tr.Close() })
	gs.outbox = []string{cout, nout}
	// Last week's issue, composed in its own week, for the digest forms.
	nlClock := &aheadClock{offset: -7 * 24 * time.Hour}
	gs.nl, err = newsletter.NewService(newsletter.Options{Store: sq, Stories: sq, Keys: keys, Mail: tr, BaseURL: testBase, Now: nlClock.Now})
	must(t, err)
	is, err := gs.nl.IssueFor(ctx, "")
	must(t, err)
	gs.week = is.Week
	nlClock.set(0)
	as.admin, err = admin.NewService(admin.Options{Store: sq, Keys: keys, Now: as.clock.Now})
	must(t, err)
	must(t, as.admin.SetPassword(ctx, adminPassword))
	as.serve(t, views.Options{Stories: sq, BaseURL: "http://localhost:8080", Forms: keys, Comments: svc,
		Newsletter: gs.nl, Admin: as.admin, TrustProxy: trust})
	as.id = as.ids["whatsapp"]
	as.story, gs.adminSite = fmt.Sprintf(whatsappPath, as.id), as
	return gs
}

// send makes one request as a browser on this site would, with headers
// (name, value pairs) and the admin cookie ck if set, following no
// redirect.
func (gs *guardSite) send(t *testing.T, method, path, ctype, body string, ck *http.Cookie, header ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, gs.ts.URL+path, strings.NewReader(body))
	must(t, err)
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Accept-Encoding", "identity")
	if ck != nil {
		req.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := noRedirects.Do(req)
	must(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// spoofHeaders are the headers a client may send to name its own address.
var spoofHeaders = []string{"X-Forwarded-For", "X-Real-IP", "Forwarded", "True-Client-IP", "CF-Connecting-IP"}

// spoof is header name naming a new address on request i; "all" sets
// every one of spoofHeaders.
func spoof(name string) func(i int) []string {
	return func(i int) []string {
		ip := fmt.Sprintf("198.51.%d.%d", i/200, i%200+1)
		var h []string
		for _, n := range spoofHeaders {
			if name != "all" && n != name {
				continue
			}
			v := ip
			if n == "Forwarded" {
				v = "for=" + ip
			}
			h = append(h, n, v)
		}
		return h
	}
}

// xff is an X-Forwarded-For header from format, whose one verb is
// (i+1)*step on request i.
func xff(format string, step int) func(i int) []string {
	return func(i int) []string { return []string{"X-Forwarded-For", fmt.Sprintf(format, (i+1)*step)} }
}

// rounds is how many posts each rate case sends.
const rounds = 30

// comment posts comment i through form f with headers and returns the
// status. A peer other than "" sends it from that address, in process:
// over loopback every peer is 127.0.0.1.
func (gs *guardSite) comment(t *testing.T, f htmlForm, i int, peer string, header []string) int {
	t.Helper()
	vals := url.Values{"author": {"Rotator"}, "email": {"rotator@example.org"}, "comment": {fmt.Sprintf("Comment number %d.", i)}}
	for k, v := range f.Fields {
		vals[k] = slices.Clone(v)
	}
	if peer == "" {
		resp, _ := gs.send(t, http.MethodPost, f.Action, formType, vals.Encode(), nil, header...)
		return resp.StatusCode
	}
	req := httptest.NewRequest(http.MethodPost, f.Action, strings.NewReader(vals.Encode()))
	req.RemoteAddr, req.Header["Content-Type"] = peer+":40000", []string{formType}
	for ; len(header) > 1; header = header[2:] {
		req.Header.Set(header[0], header[1])
	}
	rec := httptest.NewRecorder()
	gs.srv.Handler().ServeHTTP(rec, req)
	return rec.Code
}

// Posting comments from one client: without --trust-proxy no header a
// client sends moves the rate limit, which bites at the same count as
// without any; with it, X-Forwarded-For names the client by its right-most
// address not of a trusted proxy (loopback, private), so each address
// counts alone, but entries a client prepends, addresses of one IPv6 /64,
// the other headers, and any header from a peer that is no trusted proxy
// change nothing.
func TestSecurityCommentRateLimit(t *testing.T) {
	none, burst, paced := func(int) []string { return nil }, 1, comments.RateHourly
	for _, trust := range []bool{false, true} {
		gs := newGuardSite(t, trust)
		for _, tc := range []struct {
			name, on string // on: "" for both settings, else "false" or "true" only
			header   func(i int) []string
			paced    bool   // the clock steps past RateInterval between posts
			peer     string // the client's own address, when not loopback
			want     int    // accepted; the others get 429
		}{
			{name: "no headers", header: none, want: burst},
			{name: "no headers, paced", header: none, paced: true, want: paced},
			{name: "rotating X-Forwarded-For", on: "false", header: spoof("X-Forwarded-For"), want: burst},
			{name: "rotating X-Real-IP", header: spoof("X-Real-IP"), want: burst},
			{name: "rotating Forwarded", header: spoof("Forwarded"), want: burst},
			{name: "rotating True-Client-IP", header: spoof("True-Client-IP"), want: burst},
			{name: "rotating CF-Connecting-IP", header: spoof("CF-Connecting-IP"), want: burst},
			{name: "rotating all five", on: "false", header: spoof("all"), want: burst},
			{name: "rotating all five, paced", on: "false", header: spoof("all"), paced: true, want: paced},
			{name: "distinct X-Forwarded-For clients", on: "true", header: spoof("X-Forwarded-For"), want: rounds},
			{name: "rotating all five from a public peer", on: "true", header: spoof("all"), peer: "192.0.2.200", want: burst},
			{name: "fake entries before the proxy's", on: "true", want: burst, header: xff("198.51.100.%d, 203.0.113.77", 1)},
			{name: "private entries before the proxy's", on: "true", want: burst, header: xff("10.0.%d.1, 203.0.113.78", 1)},
			{name: "one IPv6 /64", on: "true", want: burst, header: xff("2001:db8:5:6:%x::1", 977)},
		} {
			if tc.on != "" && tc.on != strconv.FormatBool(trust) {
				continue
			}
			t.Run(fmt.Sprintf("trust-proxy=%v/%s", trust, tc.name), func(t *testing.T) {
				gs.cclock.Set(gs.cclock.Now().Add(2 * time.Hour)) // a fresh hour for every client
				f := commentForm(t, gs.page(t, gs.story))
				got, limited := 0, 0
				for i := range rounds {
					if tc.paced {
						gs.cclock.Set(gs.cclock.Now().Add(comments.RateInterval + time.Second))
					}
					switch code := gs.comment(t, f, i, tc.peer, tc.header(i)); code {
					case http.StatusSeeOther:
						got++
					case http.StatusTooManyRequests:
						limited++
					default:
						t.Fatalf("post %d: %d", i, code)
					}
				}
				t.Logf("%d posts: accepted %d, 429 %d", rounds, got, limited)
				if got != tc.want {
					t.Errorf("accepted %d of %d posts, want %d", got, rounds, tc.want)
				}
			})
		}
	}
}

// mails counts the messages written to the site's outboxes.
func (gs *guardSite) mails() int {
	n := 0
	for _, dir := range gs.outbox {
		files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
		n += len(files)
	}
	return n
}

// Signing up from one client rotating headers: an address gets one
// confirmation mail whatever the headers say, the client's hourly sign-ups
// run out just the same, and the consent record keeps the address the site
// trusts (the peer, or behind --trust-proxy the right-most untrusted
// X-Forwarded-For entry), never one a client picked.
func TestSecuritySubscribe(t *testing.T) {
	for _, trust := range []bool{false, true} {
		t.Run(fmt.Sprintf("trust-proxy=%v", trust), func(t *testing.T) {
			gs := newGuardSite(t, trust)
			csrf := onlyForm(t, gs.page(t, "/")).Fields.Get("csrf")
			hdr := append(spoof("all")(99), "X-Forwarded-For", "198.51.100.3, 203.0.113.44")
			if resp, _ := gs.send(t, http.MethodPost, "/subscribe", formType, signUp(csrf, "consent.record@example.org"), nil, hdr...); resp.StatusCode != http.StatusOK {
				t.Fatalf("sign-up: %d", resp.StatusCode)
			}
			want := map[bool]string{false: "127.0.0.1", true: "203.0.113.44"}[trust]
			norm, _ := newsletter.NormaliseAddress("consent.record@example.org")
			sub, err := gs.sq.SubscriberByIndex(context.Background(), gs.keys.BlindIndex(newsletter.IndexForm(norm)))
			must(t, err)
			if sub.ConsentIP != gs.keys.HashIP(want) {
				t.Errorf("the consent record is not the hash of %s", want)
			}

			before := gs.mails()
			accepted := 0
			for i := range rounds {
				resp, body := gs.send(t, http.MethodPost, "/subscribe", formType, signUp(csrf, "rotating.signup@example.org"), nil, spoof("all")(i)...)
				switch resp.StatusCode {
				case http.StatusOK:
					accepted++
				case http.StatusTooManyRequests:
					if !strings.Contains(body, "rotating.signup@example.org") {
						t.Errorf("sign-up %d: the 429 form lost the address", i)
					}
				default:
					t.Fatalf("sign-up %d: %d\n%s", i, resp.StatusCode, body)
				}
			}
			if n := gs.mails() - before; n != 1 {
				t.Errorf("%d sign-ups of one address rotating headers sent %d mails, want 1", rounds, n)
			}
			// Without --trust-proxy the headers make no new client: the
			// peer's hour runs out (the consent sign-up was its first).
			wantAccepted := map[bool]int{false: newsletter.DefaultSignupsPerHour - 1, true: rounds}[trust]
			if accepted != wantAccepted {
				t.Errorf("%d of %d sign-ups rotating headers accepted, want %d", accepted, rounds, wantAccepted)
			}

			// Many addresses from one client: at most the hourly limit of
			// them get a mail.
			before = gs.mails()
			for i := range rounds {
				gs.send(t, http.MethodPost, "/subscribe", formType, signUp(csrf, fmt.Sprintf("victim%d@example.org", i)), nil)
			}
			n := gs.mails() - before
			t.Logf("%d addresses signed up by one client: %d confirmation mails", rounds, n)
			if n > newsletter.DefaultSignupsPerHour {
				t.Errorf("one client had %d confirmation mails sent to strangers, want at most %d", n, newsletter.DefaultSignupsPerHour)
			}
		})
	}
}

// login posts the login form with password and headers; it returns the
// status and the session cookie, if one was set.
func (gs *guardSite) login(t *testing.T, password string, header ...string) (int, *http.Cookie) {
	t.Helper()
	vals := url.Values{"csrf": {gs.keys.FormToken(time.Now())}, "password": {password}}
	resp, body := gs.send(t, http.MethodPost, "/admin/login", formType, vals.Encode(), nil, header...)
	if resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("Retry-After") != "900" {
		t.Errorf("429 without Retry-After: 900\n%s", body)
	}
	return resp.StatusCode, session(resp)
}

// Ten failed logins in 15 minutes and the client is refused, 429 even with
// the right password; rotating headers does not make a new client without
// --trust-proxy, nor prepending entries or moving within an IPv6 /64 with
// it.
func TestSecurityLoginThrottle(t *testing.T) {
	for _, tc := range []struct {
		name   string
		trust  bool
		header func(i int) []string // request i; i == MaxFailures is the right password
		want   int                  // the answer to the right password
		other  string               // an address that must still get in
	}{
		{"no headers", false, func(int) []string { return nil }, http.StatusTooManyRequests, ""},
		{"rotating all five headers", false, spoof("all"), http.StatusTooManyRequests, ""},
		{"fake entries before the proxy's", true, xff("198.51.100.%d, 203.0.113.60", 1), http.StatusTooManyRequests, "203.0.113.61"},
		{"one IPv6 /64", true, xff("2001:db8:77:1:%x::7", 4099), http.StatusTooManyRequests, "2001:db8:77:2::1"},
		{"distinct clients", true, spoof("X-Forwarded-For"), http.StatusSeeOther, ""},
	} {
		t.Run(fmt.Sprintf("trust-proxy=%v/%s", tc.trust, tc.name), func(t *testing.T) {
			gs := newGuardSite(t, tc.trust)
			for i := range admin.MaxFailures {
				if code, _ := gs.login(t, fmt.Sprintf("wrong guess %d", i), tc.header(i)...); code != http.StatusUnauthorized {
					t.Fatalf("failure %d: %d, want 401", i+1, code)
				}
			}
			code, ck := gs.login(t, adminPassword, tc.header(admin.MaxFailures)...)
			t.Logf("%d failures, then the right password: %d", admin.MaxFailures, code)
			if code != tc.want || (ck != nil) != (tc.want == http.StatusSeeOther) {
				t.Errorf("the right password after %d failures: %d, cookie %v; want %d", admin.MaxFailures, code, ck != nil, tc.want)
			}
			if tc.other != "" {
				if code, _ := gs.login(t, adminPassword, "X-Forwarded-For", tc.other); code != http.StatusSeeOther {
					t.Errorf("another client, %s: %d, want 303", tc.other, code)
				}
			}
		})
	}
}

// adminRoutes walks the routes under /admin registered on the server, so
// a route added later is walked too: "METHOD /path" of each GET and HEAD,
// the path of each POST, with :week filled in.
func adminRoutes(t *testing.T, srv *views.Server, week string) (gets, posts []string) {
	t.Helper()
	e, ok := srv.Handler().(*echo.Echo)
	if !ok {
		t.Fatalf("the handler is a %T, not Echo", srv.Handler())
	}
	for _, r := range e.Routes() {
		path := strings.ReplaceAll(r.Path, ":week", week)
		switch {
		case r.Path != "/admin" && !strings.HasPrefix(r.Path, "/admin/"):
		case strings.Contains(path, ":"):
			t.Errorf("route %s %s: a parameter this test cannot fill", r.Method, r.Path)
		case r.Method == http.MethodGet || r.Method == http.MethodHead:
			gets = append(gets, r.Method+" "+path)
		case r.Method == http.MethodPost:
			posts = append(posts, path)
		default:
			t.Errorf("route %s %s: a method this test does not know", r.Method, r.Path)
		}
	}
	slices.Sort(gets)
	slices.Sort(posts)
	return slices.Compact(gets), slices.Compact(posts)
}

// fingerprint is a digest of every row of every table but the admin
// sessions (a request with a session touches its own; responses are
// checked for new session cookies instead), and of the mails written.
func (gs *guardSite) fingerprint(t *testing.T) string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+gs.dbPath+"?mode=ro")
	must(t, err)
	defer db.Close()
	h := sha256.New()
	for _, table := range gs.rows(t, db, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'admin_sessions' ORDER BY name`) {
		table := table[0].(string)
		for _, row := range gs.rows(t, db, `SELECT * FROM "`+table+`"`) {
			fmt.Fprintf(h, "%s:%v\n", table, row)
		}
	}
	fmt.Fprintf(h, "mails:%d\n", gs.mails())
	return hex.EncodeToString(h.Sum(nil))
}

// rows runs a query and returns every row.
func (gs *guardSite) rows(t *testing.T, db *sql.DB, q string) [][]any {
	t.Helper()
	rows, err := db.Query(q)
	must(t, err)
	defer rows.Close()
	cols, _ := rows.Columns()
	var out [][]any
	for rows.Next() {
		vals, ptrs := make([]any, len(cols)), make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		must(t, rows.Scan(ptrs...))
		out = append(out, vals)
	}
	must(t, rows.Err())
	return out
}

// armed is the body a POST to path would act on if it were let through:
// vals with the fields that change something there.
func (gs *guardSite) armed(t *testing.T, path string, vals url.Values, held int64, src int64) (string, string) {
	t.Helper()
	set := map[string][]string{
		"/admin/login":              {"password", adminPassword},
		"/admin/comments":           {"one", "approve:" + strconv.FormatInt(held, 10)},
		"/admin/feeds":              {"one", "remove:" + strconv.FormatInt(src, 10)},
		"/admin/feeds/add":          {"url", "https://added.example/feed.xml", "ontopic", "1"},
		"/admin/subscribers/lookup": {"email", "erase.me@example.org"},
		"/admin/subscribers/remove": {"email", "erase.me@example.org", "confirm", "erase.me@example.org"},
		"/admin/digests/test":       {"week", gs.week, "email", "tester@example.org"},
		"/admin/digests/send":       {"week", gs.week},
	}[path]
	for i := 0; i+1 < len(set); i += 2 {
		vals.Set(set[i], set[i+1])
	}
	if path != "/admin/feeds/import" {
		return formType, vals.Encode()
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, vs := range vals {
		for _, v := range vs {
			_ = mw.WriteField(k, v)
		}
	}
	fw, _ := mw.CreateFormFile("file", "feeds.txt")
	_, _ = fw.Write([]byte("https://imported.example/feed.xml\n"))
	_ = mw.Close()
	return mw.FormDataContentType(), buf.String()
}

// session is the admin session cookie a response set, or nil.
func session(resp *http.Response) *http.Cookie {
	for _, ck := range resp.Cookies() {
		if strings.HasSuffix(ck.Name, "tidings_admin") && ck.Value != "" {
			return ck
		}
	}
	return nil
}

// Every route under /admin, walked from the router: without a session a
// GET goes to the login and a POST gets 401; with one, a POST without a
// valid form token or from another site gets 403 (the login and logout
// forms too); nothing changes either way. Every answer is no-store and
// noindex, and a session from before a password change is refused.
func TestSecurityAdminRoutes(t *testing.T) {
	gs := newGuardSite(t, false)
	ctx := context.Background()
	held := gs.held(t, "Ada", "ada.routes@example.org", "Held while the routes are walked.")
	must(t, gs.nl.Subscribe(ctx, "erase.me@example.org", "/", "192.0.2.9"))
	src := gs.srcs["Byteline"]
	gets, posts := adminRoutes(t, gs.srv, gs.week)
	t.Logf("%d admin routes: %d GET/HEAD, %d POST", len(gets)+len(posts), len(gets), len(posts))
	if len(posts) < 11 || !slices.Contains(posts, "/admin/login") || !slices.Contains(posts, "/admin/logout") {
		t.Fatalf("the walk found too few admin routes: %v", posts)
	}
	token := func() string { return gs.keys.FormToken(time.Now()) }
	refusals := []struct {
		name, csrf, query string
		header            []string
	}{
		{name: "no token"},
		{name: "forged token", csrf: "1700000000.bm90IGEgcmVhbCBzaWduYXR1cmU"},
		{name: "expired token", csrf: gs.keys.FormToken(time.Now().Add(-25 * time.Hour))},
		{name: "token in the URL only", query: "?csrf=" + url.QueryEscape(token())},
		{name: "another site's Origin", csrf: token(), header: []string{"Origin", "https://evil.example"}},
		{name: "Sec-Fetch-Site cross-site", csrf: token(), header: []string{"Sec-Fetch-Site", "cross-site"}},
		{name: "opaque Origin", csrf: token(), header: []string{"Origin", "null"}},
	}
	refuse := func(t *testing.T, ck *http.Cookie) {
		for _, path := range posts {
			for _, rc := range refusals {
				ctype, body := gs.armed(t, path, url.Values{"csrf": {rc.csrf}}, held, src)
				resp, page := gs.send(t, http.MethodPost, path+rc.query, ctype, body, ck, rc.header...)
				if resp.StatusCode != http.StatusForbidden {
					t.Errorf("%s: POST %s %d, want 403\n%.300s", rc.name, path, resp.StatusCode, page)
				}
				checkPrivate(t, rc.name+": POST "+path, resp, "")
				if session(resp) != nil {
					t.Errorf("%s: POST %s set a session cookie", rc.name, path)
				}
			}
			if ck == nil && path != "/admin/login" { // a valid token, but no session
				ctype, body := gs.armed(t, path, url.Values{"csrf": {token()}}, held, src)
				resp, page := gs.send(t, http.MethodPost, path, ctype, body, nil)
				if resp.StatusCode != http.StatusUnauthorized {
					t.Errorf("no session: POST %s %d, want 401\n%.300s", path, resp.StatusCode, page)
				}
				checkPrivate(t, "no session: POST "+path, resp, "")
			}
		}
	}

	before := gs.fingerprint(t)
	t.Run("no session", func(t *testing.T) {
		for _, mp := range gets {
			method, path, _ := strings.Cut(mp, " ")
			resp, _ := gs.send(t, method, path, "", "", nil)
			code, loc, want := resp.StatusCode, resp.Header.Get("Location"), "/admin/login" // a prefix
			switch {
			case path == "/admin/login":
				want = ""
			case path == "/admin":
				want = "/admin/"
			}
			if (want == "" && code != http.StatusOK) || (want != "" && (code/100 != 3 || !strings.HasPrefix(loc, want))) {
				t.Errorf("%s without a session: %d to %q, want a redirect to %q (or the page, for the login)", mp, code, loc, want)
			}
			checkPrivate(t, mp, resp, "")
		}
		refuse(t, nil)
	})
	if after := gs.fingerprint(t); after != before {
		t.Error("requests without a session changed the store or sent mail")
	}

	a := gs.client()
	a.mustLogin(t)
	before = gs.fingerprint(t)
	t.Run("session, bad token or another site", func(t *testing.T) { refuse(t, a.cookie) })
	if after := gs.fingerprint(t); after != before {
		t.Error("refused POSTs with a session changed the store or sent mail")
	}
	t.Run("session, every page private", func(t *testing.T) {
		for _, mp := range append(gets, "GET /admin/no-such-page") {
			method, path, _ := strings.Cut(mp, " ")
			resp, body := gs.send(t, method, path, "", "", a.cookie)
			if resp.StatusCode >= 500 || (path != "/admin/login" && strings.HasPrefix(resp.Header.Get("Location"), "/admin/login")) {
				t.Errorf("%s with a session: %d to %q\n%.300s", mp, resp.StatusCode, resp.Header.Get("Location"), body)
			}
			checkPrivate(t, mp+" with a session", resp, "")
		}
	})
	if resp, _ := gs.send(t, http.MethodGet, "/admin/", "", "", a.cookie); resp.StatusCode != http.StatusOK {
		t.Fatalf("the session did not survive the refused POSTs (logout among them): %d", resp.StatusCode)
	}

	t.Run("password changed", func(t *testing.T) {
		old := a.cookie
		must(t, gs.admin.SetPassword(ctx, "another long admin passphrase"))
		before := gs.fingerprint(t)
		ctype, body := gs.armed(t, "/admin/comments", url.Values{"csrf": {token()}}, held, src)
		if resp, page := gs.send(t, http.MethodPost, "/admin/comments", ctype, body, old); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("POST with a session from before the change: %d, want 401\n%.300s", resp.StatusCode, page)
		}
		if gs.fingerprint(t) != before || gs.status(t, held) != comments.Pending {
			t.Error("a session from before the password change changed something")
		}
		resp, _ := gs.send(t, http.MethodGet, "/admin/comments", "", "", old)
		if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, "/admin/login") {
			t.Errorf("GET with a session from before the change: %d to %q", resp.StatusCode, loc)
		}
		if code, _ := gs.login(t, adminPassword); code != http.StatusUnauthorized {
			t.Errorf("the old password after the change: %d, want 401", code)
		}
		code, ck := gs.login(t, "another long admin passphrase")
		if code != http.StatusSeeOther || ck == nil {
			t.Fatalf("the new password: %d", code)
		}
		a.cookie = ck
	})

	// The control: with a session, a token and no foreign Origin, each armed
	// body does act, so the refusals above were not of harmless forms.
	t.Run("accepted, each form acts", func(t *testing.T) {
		for _, path := range slices.DeleteFunc(slices.Clone(posts), func(p string) bool { return p == "/admin/logout" }) { // last, below
			before := gs.fingerprint(t)
			ctype, body := gs.armed(t, path, url.Values{"csrf": {token()}}, held, src)
			if path == "/admin/login" {
				vals := url.Values{"csrf": {token()}, "password": {"another long admin passphrase"}}
				ctype, body = formType, vals.Encode()
			}
			resp, page := gs.send(t, http.MethodPost, path, ctype, body, a.cookie)
			if resp.StatusCode >= 400 {
				t.Errorf("POST %s with a session and a token: %d\n%.300s", path, resp.StatusCode, page)
				continue
			}
			switch path {
			case "/admin/subscribers/lookup": // looks, changes nothing
			case "/admin/login":
				if a.cookie = session(resp); a.cookie == nil {
					t.Fatal("a login with a session and a token set no new session cookie")
				}
			default:
				// A digest send runs in the background: wait for its mark.
				for deadline := time.Now().Add(10 * time.Second); gs.fingerprint(t) == before; time.Sleep(50 * time.Millisecond) {
					if time.Now().After(deadline) {
						t.Errorf("POST %s with a session and a token changed nothing: the body is not armed", path)
						break
					}
				}
			}
		}
		if resp, _ := gs.send(t, http.MethodPost, "/admin/logout", formType, url.Values{"csrf": {token()}}.Encode(), a.cookie); resp.StatusCode != http.StatusSeeOther {
			t.Errorf("logout: %d", resp.StatusCode)
		}
		if resp, _ := gs.send(t, http.MethodGet, "/admin/", "", "", a.cookie); resp.StatusCode != http.StatusSeeOther {
			t.Errorf("the session after logout: %d", resp.StatusCode)
		}
	})
}
