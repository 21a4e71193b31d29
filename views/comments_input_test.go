package views_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tidings/tidings/comments"
)

// countComments is how many comments the store holds for story id.
func (cs *commentSite) countComments(t *testing.T, id int64) int {
	t.Helper()
	list, err := cs.sq.Comments(context.Background(), comments.Filter{StoryID: id})
	if err != nil {
		t.Fatal(err)
	}
	return len(list)
}

// TestCommentFormRefused: a refused form comes back with everything typed,
// a message by each refused field, a 4xx status, and nothing stored.
func TestCommentFormRefused(t *testing.T) {
	cs := newCommentSite(t, testBase)
	v := cs.visitor()
	const text = "My </textarea><script>alert(1)</script> point, & more"
	good := []string{"author", "Grace", "email", "grace@example.org", "url", "https://grace.example", "comment", text, "notify", "1"}
	with := func(k, val string) []string {
		out := append([]string(nil), good...)
		for i := 0; i < len(out); i += 2 {
			if out[i] == k {
				out[i+1] = val
				return out
			}
		}
		return append(out, k, val)
	}
	for _, tc := range []struct {
		name   string
		fields []string
		field  string // the input marked invalid
		want   string
	}{
		{"missing email", with("email", ""), "comment-email", "field-error"},
		{"not an address", with("email", "grace at example"), "comment-email", "field-error"},
		{"missing name", with("author", "  "), "comment-author", "Please enter your name."},
		{"script website", with("url", "javascript:alert(1)"), "comment-url", "like https://example.org"},
		{"empty comment", with("comment", " \n "), "comment-text", "Please write a comment."},
		{"long comment", with("comment", strings.Repeat("x", comments.MaxBody+1)), "comment-text", "Your comment is too long"},
	} {
		cs.clock.later()
		resp, body := v.send(t, v.form(t, cs.story), tc.fields...)
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Cache-Control") != "private, no-store" {
			t.Errorf("%s: %d, Cache-Control %q", tc.name, resp.StatusCode, resp.Header.Get("Cache-Control"))
			continue
		}
		for _, w := range []string{
			"Your comment was not posted. Please correct the fields marked below and send it again.",
			`aria-invalid="true" aria-describedby="` + tc.field + `-error"`,
			`<span class="field-error" id="` + tc.field + `-error">`, tc.want,
			`name="notify" type="checkbox" value="1" checked>`,
		} {
			if !strings.Contains(body, w) {
				t.Errorf("%s: the form shown again lacks %q", tc.name, w)
			}
		}
		// What was typed is kept, escaped.
		f := commentForm(t, body)
		for i := 0; i < len(tc.fields); i += 2 {
			name, typed := tc.fields[i], tc.fields[i+1]
			if name == "notify" || strings.TrimSpace(typed) == "" || len(typed) > 1000 {
				continue
			}
			if !strings.Contains(body, html.EscapeString(typed)) {
				t.Errorf("%s: the form lost the %s typed: %q", tc.name, name, typed)
			}
		}
		if strings.Contains(body, "<script>alert(1)") {
			t.Errorf("%s: the typed text came back unescaped", tc.name)
		}
		if _, err := cs.keys.CheckFormToken(f.Fields.Get("ts"), time.Now(), time.Hour); err != nil || f.Fields.Get("csrf") == "" {
			t.Errorf("%s: the form shown again cannot be sent: ts %v", tc.name, err)
		}
		if addr := "grace@example.org"; tc.name != "missing email" && tc.name != "not an address" {
			checkNoAddress(t, tc.name+" (headers)", addr, &http.Response{Header: resp.Header}, "")
		}
	}
	if n := cs.countComments(t, cs.id); n != 0 {
		t.Errorf("%d comments stored from refused forms", n)
	}
	// The refused form, corrected, goes through.
	cs.clock.later()
	_, body := v.send(t, v.form(t, cs.story), with("email", "")...)
	cs.clock.later()
	resp, _ := v.send(t, commentForm(t, body), good...)
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("the corrected form: %d", resp.StatusCode)
	}
	if strings.Contains(strings.ToLower(cs.logs.String()), "grace@example.org") {
		t.Error("the address is in the logs")
	}
}

// TestCommentRequestsRefused: what no form sends, or sends to nowhere.
func TestCommentRequestsRefused(t *testing.T) {
	cs := newCommentSite(t, testBase)
	v := cs.visitor()
	f := v.form(t, cs.story)
	fields := []string{"author", "Grace", "email", "grace@example.org", "comment", "Hello."}
	// 1 MB: refused before it is read.
	resp, body := v.send(t, f, append(fields, "comment", strings.Repeat("x", 1<<20))...)
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(body, "too large") {
		t.Errorf("1 MB comment: %d", resp.StatusCode)
	}
	// No CSRF token.
	noToken := htmlForm{Action: f.Action, Fields: map[string][]string{"ts": f.Fields["ts"]}}
	if resp, _ := v.send(t, noToken, fields...); resp.StatusCode != http.StatusForbidden {
		t.Errorf("no csrf: %d", resp.StatusCode)
	}
	// A form a day and more old.
	old := htmlForm{Action: f.Action, Fields: map[string][]string{"csrf": f.Fields["csrf"], "ts": {cs.keys.FormToken(time.Now().Add(-25 * time.Hour))}}}
	if resp, body := v.send(t, old, fields...); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "This form has expired") {
		t.Errorf("a 25-hour-old form time: %d", resp.StatusCode)
	}
	// Stories that are not there, or not shown.
	for _, id := range []int64{999999, cs.ids["hidden"]} {
		missing := htmlForm{Action: fmt.Sprintf("/stories/%d/comments", id), Fields: f.Fields}
		if resp, _ := v.send(t, missing, fields...); resp.StatusCode != http.StatusNotFound {
			t.Errorf("story %d: %d, want 404", id, resp.StatusCode)
		}
	}
	for _, action := range []string{"/stories/abc/comments", "/stories/0/comments"} {
		if resp, _ := v.send(t, htmlForm{Action: action, Fields: f.Fields}, fields...); resp.StatusCode != http.StatusNotFound {
			t.Errorf("POST %s: %d, want 404", action, resp.StatusCode)
		}
	}
	// Replies to what cannot be answered: kept text, no parent, a 400.
	cs.clock.later()
	held := v.comment(t, cs.story, "Grace", "grace@example.org", "Held.")
	for _, parent := range []string{strconv.FormatInt(held, 10), "999999", "abc", "-3"} {
		cs.clock.later()
		resp, body := v.send(t, v.form(t, cs.story), append(fields, "parent", parent, "comment", "A reply to "+parent)...)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "The comment you replied to cannot be answered") ||
			!strings.Contains(body, "A reply to "+parent) || strings.Contains(body, `name="parent"`) {
			t.Errorf("parent %s: %d", parent, resp.StatusCode)
		}
	}
	if n := cs.countComments(t, cs.id); n != 1 {
		t.Errorf("%d comments stored, want the one held", n)
	}
}

// TestRateLimited: a second comment within seconds is refused with 429,
// the form and its text kept.
func TestRateLimited(t *testing.T) {
	cs := newCommentSite(t, testBase)
	v := cs.visitor()
	v.comment(t, cs.story, "Grace", "grace@example.org", "First.")
	resp, body := v.send(t, v.form(t, cs.story), "author", "Grace", "email", "grace@example.org", "comment", "Second, too soon.")
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("second comment at once: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	for _, w := range []string{"You have sent several comments in a short time", "Second, too soon.", `value="Grace"`} {
		if !strings.Contains(body, w) {
			t.Errorf("the 429 page lacks %q", w)
		}
	}
	checkNoAddress(t, "429", "grace@example.org", &http.Response{Header: resp.Header}, "")
}

// TestSpamLooksHeld: a form sent back at robot speed, with the honeypot
// filled, or with a missing or forged time stamp is judged spam, but the
// sender gets exactly what a held comment gets, and nobody else sees it.
func TestSpamLooksHeld(t *testing.T) {
	cs := newCommentSite(t, testBase)
	human := cs.visitor()
	heldResp, _ := human.send(t, human.form(t, cs.story), "author", "Human", "email", "h@example.org", "comment", "Held.")
	for _, tc := range []struct {
		name, reason string
		fast         bool
		fields       []string
	}{
		{"robot speed", comments.ReasonTooFast, true, nil},
		{"honeypot", comments.ReasonHoneypot, false, []string{"website2", "https://spam.example"}},
		{"no time stamp", comments.ReasonTooFast, false, []string{"ts", ""}},
		{"forged time stamp", comments.ReasonTooFast, false, []string{"ts", "1700000000.bm90IGEgcmVhbCBzaWduYXR1cmU"}},
	} {
		bot := cs.visitor()
		f := bot.form(t, cs.story)
		if tc.fast {
			cs.clock.set(0) // sent back as soon as served
		}
		resp, _ := bot.send(t, f, append([]string{"author", "Bot", "email", "bot@example.org", "comment", "Buy now"}, tc.fields...)...)
		cs.clock.set(time.Minute)
		if resp.StatusCode != heldResp.StatusCode || len(resp.Cookies()) != len(heldResp.Cookies()) || bot.own == "" {
			t.Errorf("%s: %d with %d cookies; a held comment gets %d with %d", tc.name,
				resp.StatusCode, len(resp.Cookies()), heldResp.StatusCode, len(heldResp.Cookies()))
			continue
		}
		id := commentID(t, resp.Header.Get("Location"))
		if c := cs.stored(t, id); c.Status != comments.Spam || c.Reason != tc.reason {
			t.Errorf("%s: stored as %s (%s)", tc.name, c.Status, c.Reason)
		}
		if _, body := bot.get(t, cs.story); !strings.Contains(article(body, id), "awaiting moderation") {
			t.Errorf("%s: the sender's page does not show it held", tc.name)
		}
		if body := cs.page(t, cs.story); article(body, id) != "" {
			t.Errorf("%s: the spam is public", tc.name)
		}
	}
}
