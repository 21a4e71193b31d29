package comments

import (
	"context"
	"errors"
	"fmt"
	"html"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/tidings/tidings/feeds"
	"github.com/tidings/tidings/mail"
)

// excerptLen bounds the part of a comment quoted in a moderator's mail.
const excerptLen = 600

// mailModerator tells the moderator, if there is one, that a comment is held
// and how to approve it. A failure is logged, never returned: the comment
// is stored and waits in the queue anyway.
func (s *Service) mailModerator(ctx context.Context, story feeds.Story, c Comment) {
	if s.moderator == "" {
		return
	}
	title := OneLine(story.Title, 200)
	link := s.commentURL(story, c.ID)
	website := c.Website
	if website == "" {
		website = "(none)"
	}
	text := fmt.Sprintf("A comment on %s is awaiting moderation.\n\n"+
		"Story:   %s\nAuthor:  %s\nWebsite: %s\nReason:  %s\n\n%s\n\n"+
		"To publish it:   tidings comments approve %[7]d\n"+
		"To reject it:    tidings comments reject %[7]d\n"+
		"If it is spam:   tidings comments spam %[7]d\n\n"+
		"Or use the moderation queue: %[8]s/admin/\nThe story: %[9]s\n",
		s.o.SiteName, title, OneLine(c.Author, MaxAuthor), website, c.Reason, quote(excerpt(c.Body, excerptLen)), c.ID, s.base, link)
	esc := html.EscapeString
	htmlBody := fmt.Sprintf(`<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Comment awaiting moderation</title></head><body>
<p>A comment on %s is awaiting moderation.</p>
<p>Story: <a href="%s">%s</a><br>Author: %s<br>Website: %s<br>Reason: %s</p>
<blockquote>%s</blockquote>
<p>To publish it: <code>tidings comments approve %[8]d</code><br>To reject it: <code>tidings comments reject %[8]d</code><br>If it is spam: <code>tidings comments spam %[8]d</code></p>
<p>Or use the <a href="%[9]s/admin/">moderation queue</a>.</p>
</body></html>
`, esc(s.o.SiteName), esc(link), esc(title), esc(OneLine(c.Author, MaxAuthor)), esc(website), esc(c.Reason),
		RenderBody(excerpt(c.Body, excerptLen)), c.ID, esc(s.base))
	s.send(ctx, c.ID, "moderation", mail.Message{
		To:        s.moderator,
		Subject:   OneLine("["+s.o.SiteName+"] Comment awaiting moderation: "+title, 250),
		Text:      text,
		HTML:      htmlBody,
		MessageID: s.messageID("comment-held", c.ID),
	})
}

// notifyReply mails the author of the comment c replies to, when c is
// approved, the parent is still approved, its author asked for replies, and
// the reply is not their own (same address). A failure is logged.
func (s *Service) notifyReply(ctx context.Context, c Comment) {
	if c.Status != Approved || c.ParentID == 0 {
		return
	}
	p, err := s.o.Store.Comment(ctx, c.ParentID)
	if errors.Is(err, ErrNotFound) {
		return
	}
	if err != nil {
		s.o.Logger.Warn("reply notification not sent", "comment", c.ID, "err", err)
		return
	}
	if !p.NotifyReplies || p.Status != Approved || p.EmailIndex == c.EmailIndex {
		return
	}
	story, err := s.story(ctx, c.StoryID)
	if err != nil {
		if !errors.Is(err, ErrNotFound) {
			s.o.Logger.Warn("reply notification not sent", "comment", c.ID, "err", err)
		}
		return
	}
	to, err := s.o.Keys.Open(p.EmailSealed)
	if err != nil {
		s.o.Logger.Warn("reply notification not sent: the address does not open", "comment", c.ID, "parent", p.ID, "err", err)
		return
	}
	title := OneLine(story.Title, 200)
	link := s.commentURL(story, c.ID)
	stop := s.stopURL(p.ID)
	author := OneLine(c.Author, MaxAuthor)
	text := fmt.Sprintf("Hello %s,\n\n%s replied to your comment on \"%s\" at %s:\n\n%s\n\n"+
		"Read it and answer: %s\n\n"+
		"You get this mail because you asked to be told of replies to this comment. "+
		"To stop, open: %s\n",
		OneLine(p.Author, MaxAuthor), author, title, s.o.SiteName, quote(c.Body), link, stop)
	esc := html.EscapeString
	htmlBody := fmt.Sprintf(`<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>New reply</title></head><body>
<p>Hello %s,</p>
<p>%s replied to your comment on “<a href="%s">%s</a>” at %s:</p>
<blockquote>%s</blockquote>
<p><a href="%[3]s">Read it and answer</a></p>
<p style="font-size:small">You get this mail because you asked to be told of replies to this comment. <a href="%[7]s">Stop these mails</a>.</p>
</body></html>
`, esc(OneLine(p.Author, MaxAuthor)), esc(author), esc(link), esc(title), esc(s.o.SiteName), RenderBody(c.Body), esc(stop))
	s.send(ctx, c.ID, "reply", mail.Message{
		To:              to,
		Subject:         OneLine("New reply to your comment on "+title, 250),
		Text:            text,
		HTML:            htmlBody,
		MessageID:       s.messageID("comment-reply", c.ID),
		ListUnsubscribe: stop,
		OneClick:        true,
	})
}

// send delivers one mail about comment id and logs a failure without the
// address (a server's reply may quote it). The comment is stored by now, so
// a client that goes away does not cancel the mail about it; the transport's
// own timeouts bound the wait.
func (s *Service) send(ctx context.Context, id int64, kind string, m mail.Message) {
	ctx = context.WithoutCancel(ctx)
	m.From = s.o.From
	m.Date = s.now()
	raw, err := m.Bytes()
	if err == nil {
		err = s.o.Mail.Send(mail.WithKind(ctx, mail.KindComment), s.envelope, m.To, raw)
	}
	if err != nil {
		msg := strings.ReplaceAll(err.Error(), m.To, "<address>")
		s.o.Logger.Warn("comment mail not sent", "kind", kind, "comment", id, "err", msg)
	}
}

// commentURL is the link to one comment on its story's page.
func (s *Service) commentURL(story feeds.Story, id int64) string {
	return s.base + feeds.StoryPath(story.ID, story.Title) + "#comment-" + strconv.FormatInt(id, 10)
}

// messageID is a Message-ID that is stable for one (kind, comment).
func (s *Service) messageID(kind string, id int64) string {
	return "<" + kind + "." + strconv.FormatInt(id, 10) + "@" + s.msgHost + ">"
}

// OneLine makes text fit in a header or a one-line field: control and
// format characters become spaces, runs of white space one space, and it is
// cut to at most max characters.
func OneLine(text string, max int) string {
	text = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || unicode.In(r, unicode.Zl, unicode.Zp) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(text, "\uFFFD"))
	text = strings.Join(strings.Fields(text), " ")
	if utf8.RuneCountInString(text) > max {
		text = string([]rune(text)[:max-1]) + "…"
	}
	return text
}

// excerpt is the start of a comment, cut at a word when it is long.
func excerpt(body string, max int) string {
	r := []rune(body)
	if len(r) <= max {
		return body
	}
	cut := string(r[:max])
	if i := strings.LastIndexAny(cut, " \n\t"); i > len(cut)/2 {
		cut = cut[:i]
	}
	return cut + " …"
}

// quote prefixes each line with "> ", as mail programs do.
func quote(text string) string {
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		if l == "" {
			lines[i] = ">"
		} else {
			lines[i] = "> " + l
		}
	}
	return strings.Join(lines, "\n")
}
