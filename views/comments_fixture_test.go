package views_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidings/tidings/comments"
	"github.com/tidings/tidings/secrets"
	"github.com/tidings/tidings/store/sqlite"
	"github.com/tidings/tidings/views"
)

// commentSite is the newsroom on SQLite with the real comment service. The
// service's clock runs ahead of the real one by an offset the test sets
// (the only fake): forms look filled in at human speed without waiting, and
// the rate limit can be stepped past.
type commentSite struct {
	*newsroom
	sq     *sqlite.Store
	svc    *comments.Service
	probe  *countingComments
	keys   *secrets.Keys
	outbox string
	logs   *lockedBuffer
	clock  *aheadClock
	story  string // canonical path of the WhatsApp story
	id     int64  // its ID
}

// aheadClock is the real time plus an offset.
type aheadClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *aheadClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

// set makes the service see forms as filled in over d.
func (c *aheadClock) set(d time.Duration) { c.mu.Lock(); c.offset = d; c.mu.Unlock() }

// later moves the service's clock past the rate limit, keeping well within
// RateHourly comments an hour.
func (c *aheadClock) later() {
	c.mu.Lock()
	c.offset += 7 * time.Minute
	c.mu.Unlock()
}

// countingComments is the real service, counting CommentCounts calls.
type countingComments struct {
	*comments.Service
	countCalls atomic.Int32
}

func (c *countingComments) CommentCounts(ctx context.Context, ids []int64) (map[int64]int, error) {
	c.countCalls.Add(1)
	return c.Service.CommentCounts(ctx, ids)
}

// newCommentSite serves the newsroom with comments at base (its scheme
// decides whether cookies are Secure).
func newCommentSite(t *testing.T, base string) *commentSite {
	t.Helper()
	sq, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "x.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sq.Close() })
	cs := &commentSite{sq: sq, logs: &lockedBuffer{}, clock: &aheadClock{offset: time.Minute}}
	cs.newsroom = fillNewsroom(t, sq)
	logger := slog.New(slog.NewTextHandler(cs.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cs.keys, cs.svc, cs.outbox = commentService(t, comments.Options{Store: sq, Stories: sq, Logger: logger, Now: cs.clock.Now})
	cs.probe = &countingComments{Service: cs.svc}
	cs.serve(t, views.Options{
		Stories: sq, BaseURL: base, Logger: logger, Forms: cs.keys, Comments: cs.probe,
		TrustProxy: true, // each visitor comes from its own address
	})
	cs.id = cs.ids["whatsapp"]
	cs.story = fmt.Sprintf(whatsappPath, cs.id)
	return cs
}

// visitor is one browser at one address: it keeps the tidings_own cookie
// by hand, since the test server is plain http and the cookie may be Secure.
type visitor struct {
	cs  *commentSite
	ip  string
	own string
}

var visitors atomic.Int32

func (cs *commentSite) visitor() *visitor {
	n := visitors.Add(1)
	return &visitor{cs: cs, ip: fmt.Sprintf("198.51.%d.%d", n/250, n%250+1)}
}

func (v *visitor) header(extra ...string) []string {
	extra = append(extra, "X-Forwarded-For", v.ip)
	if v.own != "" {
		extra = append(extra, "Cookie", "tidings_own="+v.own)
	}
	return extra
}

// get fetches a page as this visitor.
func (v *visitor) get(t *testing.T, path string, header ...string) (*http.Response, string) {
	t.Helper()
	return fetch(t, v.cs.ts.URL+path, v.header(header...)...)
}

// form fetches the page at path and returns its comment form.
func (v *visitor) form(t *testing.T, path string) htmlForm {
	t.Helper()
	resp, body := v.get(t, path)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", path, resp.StatusCode)
	}
	return commentForm(t, body)
}

// commentForm returns the comment form of a page.
func commentForm(t *testing.T, body string) htmlForm {
	t.Helper()
	for _, f := range postForms(body) {
		if strings.HasSuffix(f.Action, "/comments") {
			return f
		}
	}
	t.Fatalf("no comment form in the page:\n%s", body)
	return htmlForm{}
}

// send posts form f with its hidden fields and the given ones (name,
// value pairs; a value replaces the hidden field of that name), and keeps
// the cookie the answer sets.
func (v *visitor) send(t *testing.T, f htmlForm, fields ...string) (*http.Response, string) {
	t.Helper()
	vals := url.Values{}
	for k, vs := range f.Fields {
		vals[k] = slices.Clone(vs)
	}
	for i := 0; i+1 < len(fields); i += 2 {
		vals.Set(fields[i], fields[i+1])
	}
	resp, body := post(t, v.cs.ts.URL+f.Action, formType, vals.Encode(), v.header()...)
	for _, ck := range resp.Cookies() {
		if ck.Name == "tidings_own" {
			v.own = ck.Value
		}
	}
	return resp, body
}

// comment posts a comment through the story's form, after moving the
// service's clock past the rate limit, and returns the ID it got.
func (v *visitor) comment(t *testing.T, path, author, email, text string, fields ...string) int64 {
	t.Helper()
	v.cs.clock.later()
	resp, body := v.send(t, v.form(t, path), append([]string{"author", author, "email", email, "comment", text}, fields...)...)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("posting a comment: %d\n%s", resp.StatusCode, body)
	}
	return commentID(t, resp.Header.Get("Location"))
}

var commentAnchor = regexp.MustCompile(`#comment-(\d+)$`)

// commentID reads the comment ID from a redirect to it.
func commentID(t *testing.T, location string) int64 {
	t.Helper()
	m := commentAnchor.FindStringSubmatch(location)
	if m == nil {
		t.Fatalf("redirect to %q, not to a comment", location)
	}
	id, _ := strconv.ParseInt(m[1], 10, 64)
	return id
}

// stored returns a comment as the store keeps it.
func (cs *commentSite) stored(t *testing.T, id int64) comments.Comment {
	t.Helper()
	c, err := cs.sq.Comment(context.Background(), id)
	if err != nil {
		t.Fatalf("comment %d: %v", id, err)
	}
	return c
}

// approve publishes a comment as a moderator would from the shell: through
// the service, behind the site's back.
func (cs *commentSite) approve(t *testing.T, id int64) {
	t.Helper()
	if _, err := cs.svc.Approve(context.Background(), id); err != nil {
		t.Fatal(err)
	}
}

// article returns the <article> of comment id in body, or "".
func article(body string, id int64) string {
	i := strings.Index(body, fmt.Sprintf(`<article id="comment-%d"`, id))
	if i < 0 {
		return ""
	}
	return body[i : i+strings.Index(body[i:], "</article>")]
}

// checkNoEmail fails if addr shows in a response's headers or body, or in
// the site's logs.
func (cs *commentSite) checkNoEmail(t *testing.T, what, addr string, resp *http.Response, body string) {
	t.Helper()
	checkNoAddress(t, what, addr, resp, body)
	if strings.Contains(strings.ToLower(cs.logs.String()), strings.ToLower(addr)) {
		t.Errorf("%s: the address is in the logs", what)
	}
}
