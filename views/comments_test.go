package views_test

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tidings/tidings/comments"
)

// TestCommentForm: the form under a story, as issue 5 lays it out.
func TestCommentForm(t *testing.T) {
	cs := newCommentSite(t, testBase)
	before := time.Now().Truncate(time.Second)
	resp, body := fetch(t, cs.ts.URL+cs.story)
	after := time.Now()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Cache-Control") != "public, no-cache" {
		t.Fatalf("story: %d, Cache-Control %q", resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
	for _, w := range []string{
		`<section id="respond"`, `<h2 id="respond-title">Leave a Reply</h2>`,
		fmt.Sprintf(`<form class="comment-form" method="post" action="/stories/%d/comments">`, cs.id),
		"Your email address will not be published. Required fields are marked *",
		`<label for="comment-author">Name <span class="required" aria-hidden="true">*</span></label>`,
		`<input id="comment-author" name="author" type="text" maxlength="100" autocomplete="name" required>`,
		`<label for="comment-email">Email <span class="required" aria-hidden="true">*</span></label>`,
		`<input id="comment-email" name="email" type="email" maxlength="254" autocomplete="email" required>`,
		`<label for="comment-url">Website</label>`,
		`<input id="comment-url" name="url" type="url" maxlength="200" autocomplete="url">`,
		`<label for="comment-text">Comment <span class="required" aria-hidden="true">*</span></label>`,
		`<textarea id="comment-text" name="comment" rows="8" maxlength="5000" required></textarea>`,
		`<input id="comment-notify" name="notify" type="checkbox" value="1">`,
		`<label for="comment-notify">Notify me of replies by email</label>`,
		`<div class="hp" aria-hidden="true">`,
		`<input id="comment-website2" name="website2" type="text" tabindex="-1" autocomplete="off">`,
		`<h2 id="comments-title">Comments</h2>`, "No comments yet.",
		fmt.Sprintf(`<link rel="alternate" type="application/rss&#43;xml" title="Comments on “WhatsApp Boss Clashes with Elon Musk Over Data Privacy Claims” (RSS)" href="/stories/%d/comments.xml">`, cs.id),
	} {
		if !strings.Contains(body, w) {
			t.Errorf("story page lacks %q", w)
		}
	}
	f := commentForm(t, body)
	if _, err := cs.keys.CheckFormToken(f.Fields.Get("csrf"), time.Now(), 24*time.Hour); err != nil {
		t.Errorf("csrf: %v", err)
	}
	served, err := cs.keys.CheckFormToken(f.Fields.Get("ts"), time.Now(), time.Minute)
	if err != nil || served.Before(before) || served.After(after) {
		t.Errorf("ts %q says %v (%v), want between %v and %v", f.Fields.Get("ts"), served, err, before, after)
	}
	if f.Fields.Has("parent") || len(f.Fields) != 2 {
		t.Errorf("hidden fields: %v, want csrf and ts", f.Fields)
	}
	if !strings.Contains(string(styleOf(t, cs, body)), ".hp {") {
		t.Error("the stylesheet does not hide the honeypot")
	}
}

// styleOf fetches the stylesheet a page links to.
func styleOf(t *testing.T, cs *commentSite, body string) string {
	t.Helper()
	m := regexp.MustCompile(`href="(/static/style\.[0-9a-f]+\.css)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no stylesheet")
	}
	_, css := fetch(t, cs.ts.URL+m[1])
	return css
}

var tsField = regexp.MustCompile(`name="ts" value="([^"]*)"`)

// TestFormTimeIsPerResponse: the cached story page carries, in each
// response, the time of that response, in both encodings; its validators
// do not change with it, so conditional requests still get 304.
func TestFormTimeIsPerResponse(t *testing.T) {
	cs := newCommentSite(t, testBase)
	type answer struct {
		ts, etag, length string
		served           time.Time
	}
	get := func(enc string) answer {
		t.Helper()
		resp, body := fetch(t, cs.ts.URL+cs.story, "Accept-Encoding", enc)
		if resp.StatusCode != http.StatusOK || (enc == "gzip") != (resp.Header.Get("Content-Encoding") == "gzip") {
			t.Fatalf("%s: %d %q", enc, resp.StatusCode, resp.Header.Get("Content-Encoding"))
		}
		m := tsField.FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("%s: no ts field", enc)
		}
		served, err := cs.keys.CheckFormToken(m[1], time.Now(), time.Minute)
		if err != nil {
			t.Fatalf("%s: ts %q: %v", enc, m[1], err)
		}
		if strings.Contains(body, "slot") && strings.Contains(body, `value="slot`) {
			t.Fatalf("%s: the slot marker reached the page", enc)
		}
		return answer{m[1], resp.Header.Get("ETag"), resp.Header.Get("Content-Length"), served}
	}
	first := get("identity")
	firstGz := get("gzip")
	// Wait until the clock has moved on a second: the next answers must say so.
	deadline := time.Now().Add(5 * time.Second)
	var next, nextGz answer
	for {
		next, nextGz = get("identity"), get("gzip")
		if next.ts != first.ts && nextGz.ts != firstGz.ts || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if next.ts == first.ts || nextGz.ts == firstGz.ts || !next.served.After(first.served) {
		t.Fatalf("the form time did not move: %s then %s; gzip %s then %s", first.ts, next.ts, firstGz.ts, nextGz.ts)
	}
	if next.etag != first.etag || nextGz.etag != firstGz.etag || first.etag == firstGz.etag {
		t.Errorf("validators: identity %s then %s, gzip %s then %s", first.etag, next.etag, firstGz.etag, nextGz.etag)
	}
	if next.length == "" || next.length != first.length {
		t.Errorf("Content-Length %q then %q", first.length, next.length)
	}
	for _, tc := range []struct{ enc, etag string }{{"identity", first.etag}, {"gzip", firstGz.etag}, {"gzip", first.etag}} {
		resp, body := fetch(t, cs.ts.URL+cs.story, "Accept-Encoding", tc.enc, "If-None-Match", tc.etag)
		if resp.StatusCode != http.StatusNotModified || body != "" {
			t.Errorf("%s with If-None-Match %s: %d", tc.enc, tc.etag, resp.StatusCode)
		}
	}
}

// TestHeldComment: a first comment is held; its author alone sees it,
// marked "awaiting moderation", on a page rendered for them; once approved
// elsewhere it is everyone's, and no page or header ever shows the address.
func TestHeldComment(t *testing.T) {
	cs := newCommentSite(t, testBase)
	const addr = "Ada.Reader@Example.org"
	ada := cs.visitor()
	cs.clock.later()
	resp, body := ada.send(t, ada.form(t, cs.story),
		"author", "Ada", "email", addr, "url", "ada.example.org", "comment", "Metadata is data.\n\nSee https://eff.example/metadata", "notify", "1")
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("post: %d\n%s", resp.StatusCode, body)
	}
	id := commentID(t, resp.Header.Get("Location"))
	if want := cs.story + "#comment-" + strconv.FormatInt(id, 10); resp.Header.Get("Location") != want {
		t.Errorf("redirect to %q, want %q", resp.Header.Get("Location"), want)
	}
	cs.checkNoEmail(t, "POST", addr, resp, body)
	var own *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "tidings_own" {
			own = ck
		}
	}
	if own == nil || !own.HttpOnly || !own.Secure || own.SameSite != http.SameSiteLaxMode || own.Path != "/" || own.MaxAge != 30*24*3600 {
		t.Fatalf("own cookie: %+v", own)
	}
	if got := cs.svc.ParseOwnToken(own.Value); len(got) != 1 || got[0] != id {
		t.Errorf("the cookie lists %v, want [%d]", got, id)
	}
	c := cs.stored(t, id)
	if c.Status != comments.Pending || !c.NotifyReplies || c.Website != "https://ada.example.org" || c.Author != "Ada" {
		t.Errorf("stored: %+v", c)
	}

	// Everyone else gets the shared page, without it.
	resp, public := fetch(t, cs.ts.URL+cs.story)
	if article(public, id) != "" || strings.Contains(public, "awaiting moderation") || resp.Header.Get("Cache-Control") != "public, no-cache" {
		t.Errorf("the held comment is public: %s", resp.Header.Get("Cache-Control"))
	}
	// Its author gets a page of their own: fresh, private, not stored.
	resp, mine := ada.get(t, cs.story, "Accept-Encoding", "gzip")
	a := article(mine, id)
	if !strings.Contains(a, "Your comment is awaiting moderation.") || !strings.Contains(a, "Metadata is data.") ||
		!strings.Contains(a, `<a href="https://ada.example.org" rel="nofollow ugc noopener">Ada</a>`) || !strings.Contains(a, `<svg class="avatar"`) {
		t.Errorf("the author's page shows:\n%s", a)
	}
	if strings.Contains(a, "replyto=") {
		t.Error("a held comment has a Reply link")
	}
	if resp.Header.Get("Cache-Control") != "private, no-store" || resp.Header.Get("ETag") != "" || resp.Header.Get("Content-Encoding") != "gzip" {
		t.Errorf("the author's page: Cache-Control %q, ETag %q, Content-Encoding %q",
			resp.Header.Get("Cache-Control"), resp.Header.Get("ETag"), resp.Header.Get("Content-Encoding"))
	}
	if m := tsField.FindStringSubmatch(mine); m == nil {
		t.Error("the author's page has no form time")
	} else if _, err := cs.keys.CheckFormToken(m[1], time.Now(), time.Minute); err != nil {
		t.Errorf("the author's page's form time: %v", err)
	}
	cs.checkNoEmail(t, "the author's page", addr, resp, mine)
	// The same cookie on another story's page: the shared page.
	other := fmt.Sprintf("/stories/%d/why-message-metadata-still-reveals-who-you-talk-to", cs.ids["metadata"])
	if resp, _ := ada.get(t, other); resp.Header.Get("Cache-Control") != "public, no-cache" {
		t.Errorf("another story with the cookie: %q", resp.Header.Get("Cache-Control"))
	}
	// A forged cookie shows nothing.
	forged := &visitor{cs: cs, own: own.Value[:len(own.Value)-2] + "AA"}
	if _, body := forged.get(t, cs.story); article(body, id) != "" {
		t.Error("a forged cookie showed the held comment")
	}

	// A moderator approves it from the shell; the author coming back
	// brings the shared page up to date at once, not after 30 s.
	cs.approve(t, id)
	resp, mine = ada.get(t, cs.story)
	if a := article(mine, id); a == "" || strings.Contains(a, "awaiting moderation") || resp.Header.Get("Cache-Control") != "public, no-cache" {
		t.Errorf("after approval the author sees (%s):\n%s", resp.Header.Get("Cache-Control"), a)
	}
	_, public = fetch(t, cs.ts.URL+cs.story)
	if article(public, id) == "" || !strings.Contains(public, `<h2 id="comments-title">1 Comment</h2>`) {
		t.Error("after approval, the comment is not public")
	}
	home := storyItemHTML(t, cs.page(t, "/"), cs.id)
	if !strings.Contains(home, "#comments\">1 comment</a>") {
		t.Errorf("home does not count the comment:\n%s", home)
	}
	for _, p := range []string{"/", "/topics/messaging", cs.story, "/feed.xml", fmt.Sprintf("/stories/%d/comments.xml", cs.id)} {
		resp, body := fetch(t, cs.ts.URL+p)
		cs.checkNoEmail(t, p, addr, resp, body)
	}
}

// TestReturningCommenter: a commenter approved before is published at once,
// for everyone, without waiting for the cache to expire; no cookie is set.
func TestReturningCommenter(t *testing.T) {
	cs := newCommentSite(t, testBase)
	ada := cs.visitor()
	first := ada.comment(t, cs.story, "Ada", "ada@example.org", "First.")
	cs.approve(t, first)
	_ = cs.page(t, "/") // cached with the count of before
	ada.own = ""
	second := ada.comment(t, cs.story, "Ada", "ada@example.org", "Second, published at once.")
	if c := cs.stored(t, second); c.Status != comments.Approved {
		t.Fatalf("the returning commenter's comment is %s", c.Status)
	}
	if ada.own != "" {
		t.Error("a published comment set the own cookie")
	}
	body := cs.page(t, cs.story)
	if article(body, second) == "" || !strings.Contains(body, "2 Comments") {
		t.Error("the published comment is not on the page at once")
	}
	if !strings.Contains(storyItemHTML(t, cs.page(t, "/"), cs.id), ">2 comments</a>") {
		t.Error("home still counts the comments of before")
	}
	// Oldest first.
	if strings.Index(body, "First.") > strings.Index(body, "Second, published") {
		t.Error("comments are not oldest first")
	}
}

// TestReplies: Reply links lead to the form answering that comment, replies
// nest under their parent, and nesting stops at three levels.
func TestReplies(t *testing.T) {
	cs := newCommentSite(t, testBase)
	ada := cs.visitor()
	top := ada.comment(t, cs.story, "Ada", "ada@example.org", "Top level.")
	cs.approve(t, top)
	cs.srv.Invalidate() // what 30 seconds would do
	body := cs.page(t, cs.story)
	reply := fmt.Sprintf(`<a rel="nofollow" href="%s?replyto=%d#respond">Reply<span class="vh"> to Ada</span></a>`, cs.story, top)
	if !strings.Contains(article(body, top), reply) {
		t.Fatalf("no Reply link:\n%s", article(body, top))
	}
	path := fmt.Sprintf("%s?replyto=%d", cs.story, top)
	replying := cs.page(t, path)
	for _, w := range []string{
		fmt.Sprintf(`<p class="replying">Replying to <a href="#comment-%d">Ada</a>. <a href="%s#respond">Cancel reply</a></p>`, top, cs.story),
		fmt.Sprintf(`<input type="hidden" name="parent" value="%d">`, top),
	} {
		if !strings.Contains(replying, w) {
			t.Errorf("the reply form lacks %q", w)
		}
	}
	// Each reply answers the one before: levels 2 and 3, then a fourth
	// that stays at level 3.
	ids := []int64{top}
	for i := 2; i <= 4; i++ {
		id := ada.comment(t, fmt.Sprintf("%s?replyto=%d", cs.story, ids[len(ids)-1]), "Ada", "ada@example.org", fmt.Sprintf("Level %d.", i))
		ids = append(ids, id)
	}
	body = cs.page(t, cs.story)
	for i, want := range []int{1, 2, 3, 3} {
		if got := nesting(t, body, ids[i]); got != want {
			t.Errorf("comment %d is at level %d, want %d", i+1, got, want)
		}
	}
	if !strings.Contains(body, "4 Comments") {
		t.Error("the heading does not count 4 comments")
	}
	// A reply to a comment that is not there goes to the plain form; junk
	// is the plain page.
	resp, _ := fetch(t, cs.ts.URL+cs.story+"?replyto=999999")
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != cs.story+"#respond" {
		t.Errorf("?replyto=999999: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if body := cs.page(t, cs.story+"?replyto=abc"); strings.Contains(body, `name="parent"`) {
		t.Error("?replyto=abc made a reply form")
	}
}

// nesting is how many comment lists enclose comment id in body.
func nesting(t *testing.T, body string, id int64) int {
	t.Helper()
	i := strings.Index(body, fmt.Sprintf(`<article id="comment-%d"`, id))
	if i < 0 {
		t.Fatalf("comment %d is not on the page", id)
	}
	start := strings.Index(body, `<ol class="comment-list">`)
	if start < 0 || start > i {
		t.Fatalf("comment %d is outside the comment list", id)
	}
	before := body[start:i]
	return strings.Count(before, "<ol") - strings.Count(before, "</ol>")
}
