package comments_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/tidings/tidings/comments"
	"github.com/tidings/tidings/feeds"
)

func TestReplyNotification(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	ctx := context.Background()
	parentSub := f.sub("Ann", "Ann@example.org", "What about metadata?")
	parentSub.Notify = true
	parent := f.approved(t, parentSub)
	quiet := f.approved(t, f.sub("Quinn", "quinn@example.org", "No mails for me."))
	reply := func(to int64, author, email, body string) comments.Submission {
		s := f.sub(author, email, body)
		s.ParentID = to
		return s
	}
	sent := func() int { return len(f.to("Ann@example.org")) }

	// A held reply mails nobody but the moderator until it is approved.
	r := f.submit(t, reply(parent.ID, "Bob", "bob@example.org", "Metadata <is> the message.\n\nSee https://eff.org/x."))
	if r.Status != comments.Pending || sent() != 0 {
		t.Fatalf("held reply: %s, %d mails to the parent's author", r.Status, sent())
	}
	if _, err := f.svc.Approve(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	msgs := f.to("Ann@example.org")
	if len(msgs) != 1 {
		t.Fatalf("%d mails after approval, want 1", len(msgs))
	}
	m := msgs[0]
	text, html := parts(t, m)
	link := "https://news.example.org" + feeds.StoryPath(f.story.ID, storyTitle) + fmt.Sprintf("#comment-%d", r.ID)
	for _, want := range []string{"Hello Ann", "Bob replied", storyTitle, "> Metadata <is> the message.", link, "https://news.example.org/comments/stop?token="} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
	if !strings.Contains(html, "Metadata &lt;is&gt; the message.") || strings.Contains(html, "<is>") ||
		!strings.Contains(html, `<a href="https://eff.org/x" rel="nofollow ugc noopener">`) {
		t.Errorf("HTML:\n%s", html)
	}
	if strings.Contains(string(m.Data), "bob@example.org") {
		t.Error("the notification holds the replier's address")
	}
	lu := m.Header.Get("List-Unsubscribe")
	if m.Header.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" || !strings.HasPrefix(lu, "<https://news.example.org/comments/stop?token=") {
		t.Fatalf("List-Unsubscribe %q, -Post %q", lu, m.Header.Get("List-Unsubscribe-Post"))
	}
	if id := m.Header.Get("Message-Id"); id != fmt.Sprintf("<comment-reply.%d@news.example.org>", r.ID) {
		t.Errorf("Message-ID %q", id)
	}
	// Approving again sends nothing more.
	if _, err := f.svc.Approve(ctx, r.ID); err != nil || sent() != 1 {
		t.Errorf("second approval: %v, %d mails", err, sent())
	}

	// A reply approved by the rules (Bob returns) mails at once; a reply by
	// the parent's own author (same address, any case) never does; a reply
	// to someone who did not ask mails nobody.
	f.submit(t, reply(parent.ID, "Bob", "bob@example.org", "Also this."))
	f.approved(t, reply(parent.ID, "Ann", "ann@EXAMPLE.org", "Answering myself."))
	before := f.sink.Count()
	f.approved(t, reply(quiet.ID, "Bob", "bob@example.org", "Hello Quinn."))
	if sent() != 2 || f.sink.Count() != before {
		t.Errorf("%d mails to the parent's author (want 2); %d other mails", sent(), f.sink.Count()-before)
	}

	// The stop link: checked without effect, then used (twice is fine).
	u, err := url.Parse(strings.Trim(lu, "<>"))
	if err != nil {
		t.Fatal(err)
	}
	tok := u.Query().Get("token")
	if err := f.svc.CheckStopNotify(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if c, _ := f.svc.Comment(ctx, parent.ID); !c.NotifyReplies {
		t.Fatal("CheckStopNotify changed something")
	}
	for range 2 {
		if err := f.svc.StopNotify(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	if c, _ := f.svc.Comment(ctx, parent.ID); c.NotifyReplies {
		t.Fatal("StopNotify did not stop")
	}
	f.submit(t, reply(parent.ID, "Bob", "bob@example.org", "Still there?"))
	if sent() != 2 {
		t.Errorf("%d mails after stopping, want 2", sent())
	}
	for _, bad := range []string{"", "nonsense", tok[:len(tok)-2], f.svc.OwnToken([]int64{parent.ID})} {
		if err := f.svc.StopNotify(ctx, bad); !errors.Is(err, comments.ErrBadToken) {
			t.Errorf("StopNotify(%q) = %v, want ErrBadToken", bad, err)
		}
		if err := f.svc.CheckStopNotify(ctx, bad); !errors.Is(err, comments.ErrBadToken) {
			t.Errorf("CheckStopNotify(%q) = %v, want ErrBadToken", bad, err)
		}
	}
	// The link of a deleted comment is harmless.
	if err := f.svc.Delete(ctx, parent.ID); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.StopNotify(ctx, tok); err != nil {
		t.Errorf("stop link of a deleted comment: %v", err)
	}
}

func TestMailFailureIsLogged(t *testing.T) {
	f := newFixture(t, fixtureOptions{reject: func(from, to string) error {
		return &smtp.SMTPError{Code: 550, Message: "no such user " + to}
	}})
	ctx := context.Background()
	parentSub := f.sub("Ann", "ann@example.org", "Notify me.")
	parentSub.Notify = true
	c, err := f.svc.Submit(ctx, parentSub)
	if err != nil || c.Status != comments.Pending {
		t.Fatalf("Submit with the mail server refusing: %+v, %v", c, err)
	}
	f.advance(comments.RateInterval + time.Second)
	if _, err := f.svc.Approve(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	r, err := f.svc.Submit(ctx, func() comments.Submission {
		s := f.sub("Ann", "ann@example.org", "Fine.")
		s.ParentID = c.ID
		s.Email = "bob@example.org"
		s.Author = "Bob"
		return s
	}())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Approve(ctx, r.ID); err != nil {
		t.Fatalf("Approve with the mail server refusing: %v", err)
	}
	logs := f.logs.String()
	if strings.Count(logs, "comment mail not sent") != 3 || !strings.Contains(logs, "kind=reply") || !strings.Contains(logs, "kind=moderation") {
		t.Errorf("logs:\n%s", logs)
	}
	for _, addr := range []string{"ann@example.org", moderator} {
		if strings.Contains(logs, addr) {
			t.Errorf("the log holds %s:\n%s", addr, logs)
		}
	}
}
