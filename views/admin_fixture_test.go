package views_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidings/tidings/admin"
	"github.com/tidings/tidings/comments"
	tmail "github.com/tidings/tidings/mail"
	"github.com/tidings/tidings/newsletter"
	"github.com/tidings/tidings/store/sqlite"
	"github.com/tidings/tidings/views"
)

const adminPassword = "a long admin passphrase"

// adminSite is the newsroom on SQLite with comments, the newsletter and the
// admin pages, every service real. The admin service's clock runs ahead of
// the real one by an offset the test moves (the only fake).
type adminSite struct {
	*newsroom
	sq     *sqlite.Store
	svc    *comments.Service
	admin  *admin.Service
	clock  *aheadClock // the admin service's
	story  string      // canonical path of the WhatsApp story
	id     int64       // its ID
	heldIP atomic.Int32
	pokes  atomic.Int32 // calls of Options.PollSoon
}

// newAdminSite serves the site at base (its scheme decides the cookie's
// name and whether it is Secure), with the admin password set.
func newAdminSite(t *testing.T, base string) *adminSite {
	t.Helper()
	ctx := context.Background()
	sq, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "x.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sq.Close() })
	as := &adminSite{sq: sq, clock: &aheadClock{}}
	as.newsroom = fillNewsroom(t, sq)
	keys, svc, _ := commentService(t, comments.Options{Store: sq, Stories: sq})
	as.svc, as.keys = svc, keys
	tr, err := tmail.Open("", filepath.Join(t.TempDir(), "outbox"), tmail.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	nl, err := newsletter.NewService(newsletter.Options{Store: sq, Stories: sq, Keys: keys, Mail: tr, BaseURL: testBase})
	if err != nil {
		t.Fatal(err)
	}
	as.admin, err = admin.NewService(admin.Options{Store: sq, Keys: keys, Now: as.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if err := as.admin.SetPassword(ctx, adminPassword); err != nil {
		t.Fatal(err)
	}
	as.serve(t, views.Options{
		Stories: sq, BaseURL: base, Forms: keys, Comments: svc, Newsletter: nl, Admin: as.admin,
		TrustProxy: true, // each client comes from its own address
	})
	as.id = as.ids["whatsapp"]
	as.story = fmt.Sprintf(whatsappPath, as.id)
	return as
}

// held submits a first comment under the WhatsApp story, which the rules
// hold for moderation, and returns its ID.
func (as *adminSite) held(t *testing.T, author, email, body string) int64 {
	t.Helper()
	n := as.heldIP.Add(1)
	c, err := as.svc.Submit(context.Background(), comments.Submission{
		StoryID: as.id, Author: author, Email: email, Body: body,
		FormTime: time.Now().Add(-time.Minute), IP: fmt.Sprintf("192.0.2.%d", n),
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != comments.Pending {
		t.Fatalf("the comment is %s (%s), want pending", c.Status, c.Reason)
	}
	return c.ID
}

// status is a comment's status as stored; "gone" once erased.
func (as *adminSite) status(t *testing.T, id int64) comments.Status {
	t.Helper()
	c, err := as.sq.Comment(context.Background(), id)
	if err != nil {
		return "gone"
	}
	return c.Status
}

// adminClient is one browser at one address, keeping the admin cookie by
// hand (the test server is plain http, and the cookie may be Secure).
type adminClient struct {
	as     *adminSite
	ip     string
	cookie *http.Cookie // the admin session cookie, or nil
}

var adminClients atomic.Int32

func (as *adminSite) client() *adminClient {
	n := adminClients.Add(1)
	return &adminClient{as: as, ip: fmt.Sprintf("203.0.%d.%d", n/250, n%250+1)}
}

func (a *adminClient) header(extra ...string) []string {
	extra = append(extra, "X-Forwarded-For", a.ip)
	if a.cookie != nil {
		extra = append(extra, "Cookie", a.cookie.Name+"="+a.cookie.Value)
	}
	return extra
}

// keep takes the admin cookie from a response: set, or taken back.
func (a *adminClient) keep(resp *http.Response) {
	for _, ck := range resp.Cookies() {
		if strings.HasSuffix(ck.Name, "tidings_admin") {
			if ck.MaxAge < 0 || ck.Value == "" {
				a.cookie = nil
			} else {
				a.cookie = ck
			}
		}
	}
}

func (a *adminClient) get(t *testing.T, path string) (*http.Response, string) {
	t.Helper()
	resp, body := fetch(t, a.as.ts.URL+path, a.header()...)
	a.keep(resp)
	return resp, body
}

// post sends fields (name, value pairs) to path with a current form token.
func (a *adminClient) post(t *testing.T, path string, fields ...string) (*http.Response, string) {
	t.Helper()
	vals := url.Values{"csrf": {a.as.keys.FormToken(time.Now())}}
	for i := 0; i+1 < len(fields); i += 2 {
		vals.Add(fields[i], fields[i+1])
	}
	return a.postRaw(t, path, vals)
}

// postRaw sends exactly vals.
func (a *adminClient) postRaw(t *testing.T, path string, vals url.Values, header ...string) (*http.Response, string) {
	t.Helper()
	resp, body := post(t, a.as.ts.URL+path, formType, vals.Encode(), a.header(header...)...)
	a.keep(resp)
	return resp, body
}

// login logs in through the login page's form with password.
func (a *adminClient) login(t *testing.T, password string) (*http.Response, string) {
	t.Helper()
	resp, body := a.get(t, "/admin/login")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /admin/login: %d", resp.StatusCode)
	}
	f := onlyForm(t, body)
	f.Fields.Set("password", password)
	return a.postRaw(t, f.Action, f.Fields)
}

// mustLogin logs in with the right password and checks it worked.
func (a *adminClient) mustLogin(t *testing.T) {
	t.Helper()
	resp, body := a.login(t, adminPassword)
	if resp.StatusCode != http.StatusSeeOther || a.cookie == nil {
		t.Fatalf("login: %d, cookie %v\n%s", resp.StatusCode, a.cookie, body)
	}
}
