package views_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/tidings/tidings/comments"
)

// fillComment types a comment into the form of the page open in tab and
// returns when the form was served, read from its signed time stamp.
func fillComment(t *testing.T, cs *commentSite, tab context.Context, author, email, text string) time.Time {
	t.Helper()
	if err := chromedp.Do(tab,
		chromedp.SendKeys(chromedp.ID("comment-author"), author),
		chromedp.SendKeys(chromedp.ID("comment-email"), email),
		chromedp.SendKeys(chromedp.ID("comment-text"), text),
	); err != nil {
		t.Fatal(err)
	}
	ts, err := chromedp.Run(tab, chromedp.Value(chromedp.CSS(`#respond input[name="ts"]`)))
	if err != nil {
		t.Fatal(err)
	}
	served, err := cs.keys.CheckFormToken(ts, time.Now(), time.Minute)
	if err != nil {
		t.Fatalf("the form's time stamp %q: %v", ts, err)
	}
	return served
}

// submitComment waits until the form was served more than MinFormTime ago,
// as a person writing would, presses Post Comment and returns the comment's
// ID from the address the browser lands on.
func submitComment(t *testing.T, cs *commentSite, tab context.Context, served time.Time) int64 {
	t.Helper()
	// served is a whole second; the service compares to the instant.
	for time.Since(served) <= comments.MinFormTime+time.Second {
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := chromedp.Run(tab, chromedp.WaitEvent(page.LoadEventFired, nil,
		chromedp.Click(chromedp.CSS(`form.comment-form button[type="submit"]`)))); err != nil {
		t.Fatal(err)
	}
	loc, err := chromedp.Run(tab, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(loc, cs.ts.URL+cs.story+"#comment-") {
		body, _ := chromedp.Run(tab, chromedp.Text(chromedp.CSS("main")))
		t.Fatalf("after posting, the browser is at %s:\n%s", loc, body)
	}
	return commentID(t, loc)
}

// articleText is the text of comment id on the page open in tab, or "".
func articleText(t *testing.T, tab context.Context, id int64) string {
	t.Helper()
	text, err := chromedp.Run(tab, chromedp.Evaluate[string](
		fmt.Sprintf(`(document.getElementById("comment-%d") || {innerText: ""}).innerText`, id)))
	if err != nil {
		t.Fatal(err)
	}
	return text
}

// TestBrowserComments posts through the real form in Chromium, with the
// real clock: the comment is held and shown to its author alone; approved,
// it shows to everyone; a reply through a Reply link nests under it.
func TestBrowserComments(t *testing.T) {
	cs := newCommentSite(t, "http://localhost:8080")
	cs.clock.set(0) // the service's clock is the real one
	tab := browser(t, cs.ts.URL)

	if err := chromedp.Do(tab, chromedp.Navigate(cs.ts.URL+cs.story)); err != nil {
		t.Fatal(err)
	}
	served := fillComment(t, cs, tab, "Ada Lovelace", "ada.browser@example.org", "Metadata is data.\n\nA second paragraph.")
	id := submitComment(t, cs, tab, served)
	if c := cs.stored(t, id); c.Status != comments.Pending {
		t.Fatalf("the comment is %s (%s), want pending", c.Status, c.Reason)
	}
	mine := articleText(t, tab, id)
	if !strings.Contains(mine, "Your comment is awaiting moderation.") || !strings.Contains(mine, "A second paragraph.") {
		t.Errorf("the author sees:\n%s", mine)
	}

	// Someone else, in a fresh browser context (no cookie), does not.
	other, cancel := chromedp.NewContext(tab, chromedp.WithNewBrowserContext())
	defer cancel()
	if err := chromedp.Do(other, chromedp.Navigate(cs.ts.URL+cs.story)); err != nil {
		t.Fatal(err)
	}
	if text := articleText(t, other, id); text != "" {
		t.Errorf("another visitor sees the held comment:\n%s", text)
	}

	// A moderator approves it from the shell; the author reloads (which
	// refreshes the shared page, otherwise up to 30 s old), then the other.
	cs.approve(t, id)
	for _, v := range []struct {
		name string
		ctx  context.Context
	}{{"the author", tab}, {"another visitor", other}} {
		name, ctx := v.name, v.ctx
		if err := chromedp.Do(ctx, chromedp.Navigate(cs.ts.URL+cs.story)); err != nil {
			t.Fatal(err)
		}
		text := articleText(t, ctx, id)
		if !strings.Contains(text, "Metadata is data.") || strings.Contains(text, "awaiting moderation") {
			t.Errorf("%s after approval sees:\n%s", name, text)
		}
	}

	// Reply through the Reply link, as the same (now known) commenter:
	// published at once, nested under the comment.
	if _, err := chromedp.Run(tab, chromedp.WaitEvent(page.LoadEventFired, nil,
		chromedp.Click(chromedp.CSS(fmt.Sprintf("#comment-%d .comment-reply a", id))))); err != nil {
		t.Fatal(err)
	}
	replying, err := chromedp.Run(tab, chromedp.Text(chromedp.CSS(".replying")))
	if err != nil || !strings.Contains(replying, "Replying to Ada Lovelace") {
		t.Fatalf("the reply form says %q (%v)", replying, err)
	}
	served = fillComment(t, cs, tab, "Ada Lovelace", "ada.browser@example.org", "Replying to myself.")
	cs.clock.set(comments.RateInterval) // a person who took a little longer
	reply := submitComment(t, cs, tab, served)
	nested, err := chromedp.Run(tab, chromedp.Evaluate[bool](fmt.Sprintf(
		`!!document.querySelector("#comment-%d").closest("li").querySelector("ol.children #comment-%d")`, id, reply)))
	if err != nil || !nested {
		t.Errorf("the reply is not nested under its parent (%v)", err)
	}
	if text := articleText(t, tab, reply); !strings.Contains(text, "Replying to myself.") || strings.Contains(text, "awaiting") {
		t.Errorf("the reply shows:\n%s", text)
	}
	if err := chromedp.Do(other, chromedp.Navigate(cs.ts.URL+cs.story)); err != nil {
		t.Fatal(err)
	}
	if text := articleText(t, other, reply); !strings.Contains(text, "Replying to myself.") {
		t.Error("another visitor does not see the published reply")
	}
	screenshot(t, tab, cs.ts.URL+cs.story, 375, filepath.Join(artifacts(t), "story-comments-375.png"))
}
