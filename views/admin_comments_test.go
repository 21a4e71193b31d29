package views_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/tidings/tidings/comments"
)

// queueEntry returns the entry of comment id in the moderation queue, or "".
func queueEntry(body string, id int64) string {
	i := strings.Index(body, fmt.Sprintf(`<li class="queue-item" id="held-%d">`, id))
	if i < 0 {
		return ""
	}
	return body[i : i+strings.Index(body[i:], "</li>")]
}

// moderate sends the queue's form as pressing a button would, follows the
// redirect, and returns the queue's flash message.
func (a *adminClient) moderate(t *testing.T, fields ...string) string {
	t.Helper()
	resp, body := a.post(t, "/admin/comments", fields...)
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/admin/comments?") {
		t.Fatalf("moderating %v: %d to %q\n%s", fields, resp.StatusCode, loc, body)
	}
	_, body = a.get(t, loc)
	_, flash, _ := strings.Cut(body, `<p class="notice" role="status">`)
	flash, _, _ = strings.Cut(flash, "</p>")
	return flash
}

func TestModerationQueue(t *testing.T) {
	as := newAdminSite(t, "http://localhost:8080")
	ada := as.held(t, "Ada Lovelace", "Ada.Queue@Example.org", "Metadata is data.\n\nA second paragraph.")
	links := as.held(t, "Grace", "grace.queue@example.org", "See https://a.example/x and https://b.example/y")
	hostile := as.held(t, `Eve <script>alert(1)</script>`, "eve.queue@example.org", `<img src=x onerror=alert(2)> & "quotes"`)
	a := as.client()
	a.mustLogin(t)

	resp, body := a.get(t, "/admin/comments")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /admin/comments: %d\n%s", resp.StatusCode, body)
	}
	checkPrivate(t, "the queue", resp, body)
	story := `<a href="` + as.story + `">WhatsApp Boss Clashes with Elon Musk Over Data Privacy Claims</a>`
	for id, wants := range map[int64][]string{
		ada:     {"Ada Lovelace", "Ada.Queue@example.org", comments.ReasonFirst, story, "Metadata is data.\n\nA second paragraph."},
		links:   {"Grace", "grace.queue@example.org", story, "https://a.example/x"},
		hostile: {"Eve &lt;script&gt;alert(1)&lt;/script&gt;", "&lt;img src=x onerror=alert(2)&gt; &amp; &#34;quotes&#34;"},
	} {
		entry := queueEntry(body, id)
		if entry == "" {
			t.Fatalf("comment %d is not in the queue:\n%s", id, body)
		}
		if c, err := as.sq.Comment(t.Context(), id); err != nil || !strings.Contains(entry, "Held because</dt><dd>"+c.Reason+"<") {
			t.Errorf("comment %d: the queue does not give the reason %q (%v)", id, c.Reason, err)
		}
		for _, want := range wants {
			if !strings.Contains(entry, want) {
				t.Errorf("comment %d: the queue lacks %q:\n%s", id, want, entry)
			}
		}
	}
	if strings.Contains(body, "<script>alert") || strings.Contains(body, "<img src=x") {
		t.Error("the queue shows a commenter's markup as markup")
	}

	// Approve one by its own button: the story page (cached before) shows
	// it at once, without the address.
	_, page := fetch(t, as.ts.URL+as.story)
	if article(page, ada) != "" {
		t.Fatal("a held comment is on the story page")
	}
	if flash := a.moderate(t, "one", "approve:"+strconv.FormatInt(ada, 10)); flash != "1 comment approved." {
		t.Errorf("after approving: flash %q", flash)
	}
	resp, page = fetch(t, as.ts.URL+as.story)
	if !strings.Contains(article(page, ada), "Metadata is data.") {
		t.Errorf("the approved comment is not on the story page")
	}
	checkNoAddress(t, "the story page", "Ada.Queue@Example.org", resp, page)
	if st := as.status(t, ada); st != comments.Approved {
		t.Errorf("approved comment is %s", st)
	}

	// In bulk: tick two, reject them.
	if flash := a.moderate(t, "action", "reject", "id", strconv.FormatInt(links, 10), "id", strconv.FormatInt(hostile, 10)); flash != "2 comments rejected." {
		t.Errorf("after rejecting two: flash %q", flash)
	}
	for _, id := range []int64{links, hostile} {
		if st := as.status(t, id); st != comments.Rejected {
			t.Errorf("comment %d is %s, want rejected", id, st)
		}
	}
	_, body = a.get(t, "/admin/comments")
	if !strings.Contains(body, "No comment is waiting for moderation.") || !strings.Contains(body, "Moderation queue (0)") {
		t.Errorf("the queue is not empty:\n%s", body)
	}

	// Spam and delete; a comment gone meanwhile is counted apart.
	spam := as.held(t, "Spammer", "spam.queue@example.org", "Buy now.")
	gone := as.held(t, "Gone", "gone.queue@example.org", "Erase me.")
	if flash := a.moderate(t, "one", "spam:"+strconv.FormatInt(spam, 10)); flash != "1 comment marked as spam." {
		t.Errorf("after spam: flash %q", flash)
	}
	if flash := a.moderate(t, "action", "delete", "id", strconv.FormatInt(gone, 10), "id", strconv.FormatInt(gone, 10)); flash != "1 comment deleted." {
		t.Errorf("after delete: flash %q", flash)
	}
	if as.status(t, spam) != comments.Spam || as.status(t, gone) != "gone" {
		t.Errorf("spam is %s, the deleted one %s", as.status(t, spam), as.status(t, gone))
	}
	if flash := a.moderate(t, "action", "approve", "id", strconv.FormatInt(gone, 10)); flash != "0 comments approved. 1 comment was left alone: changed or erased by someone else meanwhile." {
		t.Errorf("approving an erased comment: flash %q", flash)
	}
	if flash := a.moderate(t, "action", "approve"); !strings.HasPrefix(flash, "No comment was selected.") {
		t.Errorf("nothing ticked: flash %q", flash)
	}
}

// A moderation form no page sends gets a clear 400, and a link cannot make
// the queue say anything of its choosing.
func TestModerationBadInput(t *testing.T) {
	as := newAdminSite(t, "http://localhost:8080")
	id := strconv.FormatInt(as.held(t, "Ada", "ada.bad@example.org", "Still held."), 10)
	a := as.client()
	a.mustLogin(t)
	many := []string{"action", "approve"}
	for i := range 501 {
		many = append(many, "id", strconv.Itoa(i+1))
	}
	for name, fields := range map[string][]string{
		"unknown action":   {"action", "publish", "id", id},
		"no action":        {"id", id},
		"button without":   {"one", "approve"},
		"button, bad ID":   {"one", "approve:x"},
		"button, bad verb": {"one", "eat:" + id},
		"ID not a number":  {"action", "approve", "id", "abc"},
		"negative ID":      {"action", "approve", "id", "-3"},
		"huge ID":          {"action", "approve", "id", "99999999999999999999"},
		"501 IDs":          many,
	} {
		resp, body := a.post(t, "/admin/comments", fields...)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "The moderation form could not be understood") {
			t.Errorf("%s: %d\n%s", name, resp.StatusCode, body)
		}
	}
	if st := as.status(t, mustID(t, id)); st != comments.Pending {
		t.Errorf("a refused form made the comment %s", st)
	}
	for _, q := range []string{"done=" + url.QueryEscape("<b>hi</b>") + "&n=1", "done=approve&n=abc", "done=approve&n=-1", "done=x"} {
		_, body := a.get(t, "/admin/comments?"+q)
		if strings.Contains(body, `class="notice"`) {
			t.Errorf("?%s shows a message", q)
		}
	}
}

func mustID(t *testing.T, s string) int64 {
	t.Helper()
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return id
}
