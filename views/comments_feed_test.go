package views_test

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestCommentsFeed: a story's comment feed is RSS 2.0 of its approved
// comments, newest first, naming authors by name only.
func TestCommentsFeed(t *testing.T) {
	cs := newCommentSite(t, testBase)
	const addr = "feed.writer@example.org"
	v := cs.visitor()
	older := v.comment(t, cs.story, "Ada <b>", addr, "First <script>alert(1)</script> & https://eff.example/x")
	cs.approve(t, older)
	newer := v.comment(t, cs.story, "Ada <b>", addr, "Second.") // returning: published
	held := cs.visitor().comment(t, cs.story, "Held Harry", "harry@example.org", "Not yet.")
	feed := fmt.Sprintf("/stories/%d/comments.xml", cs.id)
	resp, body := fetch(t, cs.ts.URL+feed)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/rss+xml; charset=utf-8" || resp.Header.Get("ETag") == "" {
		t.Fatalf("feed: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	checkNoAddress(t, "comment feed", addr, resp, body)
	var doc struct {
		Channel struct {
			Title string `xml:"title"`
			Items []struct {
				Title       string `xml:"title"`
				Link        string `xml:"link"`
				Description string `xml:"description"`
				Creator     string `xml:"http://purl.org/dc/elements/1.1/ creator"`
				Author      string `xml:"author"`
			} `xml:"item"`
		} `xml:"channel"`
	}
	if err := xml.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatalf("feed XML: %v\n%s", err, body)
	}
	ch := doc.Channel
	if ch.Title != "Comments on “WhatsApp Boss Clashes with Elon Musk Over Data Privacy Claims”" || len(ch.Items) != 2 ||
		!strings.Contains(body, "<link>"+testBase+cs.story+"</link>") ||
		!strings.Contains(body, `<atom:link href="`+testBase+feed+`" rel="self" type="application/rss+xml">`) {
		t.Fatalf("channel %q with %d items:\n%s", ch.Title, len(ch.Items), body)
	}
	first, second := ch.Items[0], ch.Items[1]
	if first.Link != fmt.Sprintf("%s%s#comment-%d", testBase, cs.story, newer) || second.Link != fmt.Sprintf("%s%s#comment-%d", testBase, cs.story, older) {
		t.Errorf("items not newest first: %s, %s", first.Link, second.Link)
	}
	if first.Creator != "Ada <b>" || first.Author != "" || first.Title != "Comment by Ada <b>" {
		t.Errorf("item author: creator %q, author %q, title %q", first.Creator, first.Author, first.Title)
	}
	// The description is HTML for the reader: the text escaped once more,
	// so no markup the commenter typed becomes markup.
	if !strings.Contains(second.Description, "&lt;script&gt;alert(1)&lt;/script&gt; &amp;") ||
		!strings.Contains(second.Description, `<a href="https://eff.example/x" rel="nofollow ugc noopener">`) || strings.Contains(second.Description, "<script") {
		t.Errorf("description: %s", second.Description)
	}
	if strings.Contains(body, "Not yet.") || strings.Contains(body, fmt.Sprint(held)) && strings.Contains(body, "Harry") {
		t.Error("the feed shows a held comment")
	}
	if resp, _ := fetch(t, cs.ts.URL+feed, "If-None-Match", resp.Header.Get("ETag")); resp.StatusCode != http.StatusNotModified {
		t.Errorf("conditional feed request: %d", resp.StatusCode)
	}
	for _, p := range []string{"/stories/999999/comments.xml", fmt.Sprintf("/stories/%d/comments.xml", cs.ids["hidden"]), "/stories/x/comments.xml"} {
		if resp, _ := fetch(t, cs.ts.URL+p); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, resp.StatusCode)
		}
	}
}

var stopLink = regexp.MustCompile(`/comments/stop\?token=[A-Za-z0-9_.\-]+`)

// mailLink finds a link matching re in the mails to addr in outbox.
func mailLink(t *testing.T, outbox, addr string, re *regexp.Regexp) string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(outbox, "*.eml"))
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		msg, err := mail.ReadMessage(bytes.NewReader(raw))
		if err != nil || !strings.Contains(strings.ToLower(msg.Header.Get("To")), addr) {
			continue
		}
		_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
		if err != nil {
			t.Fatal(err)
		}
		mr := multipart.NewReader(msg.Body, params["boundary"])
		for {
			part, err := mr.NextPart()
			if err != nil {
				break
			}
			text, _ := io.ReadAll(part)
			if l := re.FindString(string(text)); l != "" {
				return l
			}
		}
	}
	t.Fatalf("no mail to %s with a link like %s", addr, re)
	return ""
}

// TestStopReplyMails: the link in a reply notification shows a button and
// changes nothing; the button, or a one-click POST, stops the mails.
func TestStopReplyMails(t *testing.T) {
	cs := newCommentSite(t, testBase)
	ada := ada(t, cs)
	parent := ada.comment(t, cs.story, "Ada", "ada@example.org", "Tell me of replies.", "notify", "1")
	cs.approve(t, parent)
	cs.srv.Invalidate()
	bob := cs.visitor()
	reply := bob.comment(t, fmt.Sprintf("%s?replyto=%d", cs.story, parent), "Bob", "bob@example.org", "A reply.")
	cs.approve(t, reply) // mails Ada
	link := mailLink(t, cs.outbox, "ada@example.org", stopLink)

	resp, body := fetch(t, cs.ts.URL+link)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Cache-Control") != "no-store" || !strings.Contains(body, "Stop these mails") {
		t.Fatalf("GET stop link: %d\n%s", resp.StatusCode, body)
	}
	if !cs.stored(t, parent).NotifyReplies {
		t.Fatal("following the link changed something")
	}
	f := onlyForm(t, body)
	if resp, body := post(t, cs.ts.URL+f.Action, formType, "csrf="+f.Fields.Get("csrf")); resp.StatusCode != http.StatusOK ||
		!strings.Contains(body, "Reply notifications stopped") {
		t.Fatalf("the button: %d\n%s", resp.StatusCode, body)
	}
	if cs.stored(t, parent).NotifyReplies {
		t.Error("the button did not stop the mails")
	}
	// RFC 8058 one-click: no cookie, no form token, a 200 and no redirect;
	// repeating it is harmless.
	if resp, _ := post(t, cs.ts.URL+link, formType, "List-Unsubscribe=One-Click"); resp.StatusCode != http.StatusOK {
		t.Errorf("one-click POST: %d", resp.StatusCode)
	}
	for _, bad := range []string{"/comments/stop?token=forged.token", "/comments/stop", "/comments/stop?token=" + strings.Repeat("a", 5000)} {
		if resp, body := fetch(t, cs.ts.URL+bad); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "This link does not work") {
			t.Errorf("GET %s: %d", bad[:min(len(bad), 40)], resp.StatusCode)
		}
		if resp, _ := post(t, cs.ts.URL+bad, formType, ""); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("POST %s: %d", bad[:min(len(bad), 40)], resp.StatusCode)
		}
	}
}

// ada is a visitor who has posted before (and been approved), so her
// comments are published at once.
func ada(t *testing.T, cs *commentSite) *visitor {
	t.Helper()
	v := cs.visitor()
	id := v.comment(t, cs.story, "Ada", "ada@example.org", "Hello.")
	cs.approve(t, id)
	v.own = ""
	return v
}

// TestCommentsOff: a site without the comment service has no comment
// section, no form, no counts, and its comment routes are unknown pages.
func TestCommentsOff(t *testing.T) {
	ts, _ := site(t, 2, nil)
	_, home := fetch(t, ts.URL+"/")
	if strings.Contains(home, "comments</a>") || strings.Contains(home, "comment</a>") {
		t.Error("home shows comment counts")
	}
	resp, _ := fetch(t, ts.URL+"/stories/1")
	_, story := fetch(t, ts.URL+resp.Header.Get("Location"))
	if strings.Contains(story, `id="comments"`) || strings.Contains(story, "Leave a Reply") || strings.Contains(story, `name="ts"`) {
		t.Error("the story page has a comment section or form")
	}
	for _, r := range []struct{ method, path string }{
		{"POST", "/stories/1/comments"}, {"GET", "/stories/1/comments.xml"},
		{"GET", "/comments/stop?token=x"}, {"POST", "/comments/stop?token=x"},
	} {
		var code int
		if r.method == "GET" {
			resp, _ := fetch(t, ts.URL+r.path)
			code = resp.StatusCode
		} else {
			resp, _ := post(t, ts.URL+r.path, formType, "comment=x")
			code = resp.StatusCode
		}
		if code != http.StatusNotFound {
			t.Errorf("%s %s: %d, want 404", r.method, r.path, code)
		}
	}
	// A slug that happens to read "comments" is still a story link.
	if resp, _ := fetch(t, ts.URL+"/stories/1/comments"); resp.StatusCode != http.StatusMovedPermanently {
		t.Errorf("GET /stories/1/comments: %d, want the slug redirect", resp.StatusCode)
	}
}

// TestCommentCounts: each list page counts the comments of all its
// stories with one call.
func TestCommentCounts(t *testing.T) {
	cs := newCommentSite(t, testBase)
	v := ada(t, cs)
	v.comment(t, cs.story, "Ada", "ada@example.org", "Another.")
	for _, tc := range []struct {
		path string
		none int64 // a story of the page without comments
	}{
		{"/", cs.ids["metadata"]},
		{"/topics/messaging", cs.ids["metadata"]},
		{fmt.Sprintf("/sources/%d", cs.srcs["Byteline"]), cs.ids["tracked"]},
	} {
		before := cs.probe.countCalls.Load()
		body := cs.page(t, tc.path)
		if calls := cs.probe.countCalls.Load() - before; calls != 1 {
			t.Errorf("%s: %d CommentCounts calls, want 1", tc.path, calls)
		}
		if !strings.Contains(storyItemHTML(t, body, cs.id), ">2 comments</a>") {
			t.Errorf("%s does not count 2 comments", tc.path)
		}
		if !strings.Contains(storyItemHTML(t, body, tc.none), ">0 comments</a>") {
			t.Errorf("%s: a story without comments is not counted 0", tc.path)
		}
	}
}
