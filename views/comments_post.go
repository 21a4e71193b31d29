package views

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/tidings/tidings/comments"
	"github.com/tidings/tidings/feeds"
	"github.com/tidings/tidings/newsletter"
	"github.com/tidings/tidings/secrets"
)

// Messages above a comment form shown again.
const (
	msgFixFields   = "Your comment was not posted. Please correct the fields marked below and send it again."
	msgRateLimited = "You have sent several comments in a short time, so this one was not posted. Please wait a minute and send it again; what you typed is kept below."
	msgStoreDown   = "Your comment was not posted: the site cannot reach its store right now. Please try again in a moment; what you typed is kept below."
)

// postComment serves POST /stories/:id/comments. A comment published at once
// refreshes the cached pages; a held one (or one judged spam, which looks
// the same from outside, so robots learn nothing) is added to the visitor's
// tidings_own cookie so they alone see it, marked "awaiting moderation".
// Either way the answer is a 303 to the comment on the story page. A
// refused form comes back with everything typed and a message by each
// field: 400, or 429 for the rate limit; when the store cannot be reached,
// 503 and the form alone (see commentNotStored). The address goes into no
// URL, header, log line or cache.
func (s *Server) postComment(c echo.Context) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	form := c.Request().PostForm
	in := commentInput{
		Author: form.Get("author"), Email: strings.TrimSpace(form.Get("email")), URL: form.Get("url"),
		Comment: form.Get("comment"), Notify: form.Get("notify") != "", Parent: parentParam(form.Get("parent")),
	}
	st, err := s.opts.Stories.Story(ctx, id)
	if errors.Is(err, feeds.ErrUnavailable) {
		served, _ := s.formServedAt(form.Get(formTimeField))
		return s.commentNotStored(c, id, in, served)
	}
	if err != nil {
		return err
	}
	if !st.Visible {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	served, err := s.formServedAt(form.Get(formTimeField))
	if err != nil {
		return err
	}
	cm, err := s.opts.Comments.Submit(ctx, comments.Submission{
		StoryID: id, Story: &st, ParentID: in.Parent, Author: in.Author, Email: in.Email, Website: in.URL,
		Body: in.Comment, Notify: in.Notify, Honeypot: form.Get(honeypotField), FormTime: served, IP: c.RealIP(),
	})
	var fe *comments.FormError
	switch {
	case errors.As(err, &fe):
		f := newCommentForm(id, in, fe.Fields)
		f.Message = msgFixFields
		if msg := fe.Fields["parent"]; msg != "" {
			f.Message, f.Parent = msg, 0 // the form now posts a new comment
		}
		return s.refused(c, http.StatusBadRequest, st, f, served)
	case errors.Is(err, comments.ErrRateLimited):
		f := newCommentForm(id, in, nil)
		f.Message = msgRateLimited
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(comments.RateInterval/time.Second)))
		return s.refused(c, http.StatusTooManyRequests, st, f, served)
	case errors.Is(err, feeds.ErrUnavailable):
		return s.commentNotStored(c, id, in, served)
	case err != nil:
		return redacted{err: err, secret: in.Email}
	}
	if cm.Status == comments.Approved {
		s.Invalidate()
	} else {
		s.setOwnCookie(c, cm.ID)
	}
	return c.Redirect(http.StatusSeeOther, storyPath(st.ID, st.Title)+"#comment-"+strconv.FormatInt(cm.ID, 10))
}

// refused shows the story page again with the comment form f as it was
// sent. The form keeps the time it was first served, so a person who
// corrects a field quickly is not taken for a robot.
func (s *Server) refused(c echo.Context, code int, st feeds.Story, f commentForm, served time.Time) error {
	f.TS = s.formStamp(served)
	err := s.personal(c, code, st, s.ownComments(c), f)
	var noReply errNoSuchReply
	if errors.As(err, &noReply) {
		// The comment replied to vanished meanwhile: keep the text, drop the reply.
		f.Parent = 0
		err = s.personal(c, code, st, s.ownComments(c), f)
	}
	return err
}

// commentNotStored answers a comment the store could not take (it is down
// or not answering): 503, and the form sent back with everything typed, on
// a page of its own, since the story page cannot be rendered without the
// store. Submit stores a comment in one atomic write, so nothing of it was
// kept, or (when only the reply was lost) all of it was.
func (s *Server) commentNotStored(c echo.Context, storyID int64, in commentInput, served time.Time) error {
	f := newCommentForm(storyID, in, nil)
	f.Message = msgStoreDown
	f.TS = s.formStamp(served)
	c.Response().Header().Set("Retry-After", retryAfterStoreDown)
	return s.notice(c, http.StatusServiceUnavailable, noticePage{
		Heading: "Your comment was not posted yet",
		Comment: &f,
	})
}

// formStamp is the form-time field of a comment form sent back: the time
// it was first served, so a person who sends it again quickly is not taken
// for a robot, or now when that time is unknown.
func (s *Server) formStamp(served time.Time) string {
	if served.IsZero() {
		return string(s.forms.value())
	}
	return s.opts.Forms.FormToken(served)
}

// formServedAt reads the signed time the comment form was served. A
// missing or forged stamp gives the zero time, which the service judges
// like a form sent back at once (spam, without telling the sender); a
// stamp older than formMaxAge is an expired form, as for the CSRF token.
func (s *Server) formServedAt(ts string) (time.Time, error) {
	served, err := s.opts.Forms.CheckFormToken(ts, time.Now(), formMaxAge)
	switch {
	case errors.Is(err, secrets.ErrExpired):
		return time.Time{}, errFormExpired
	case err != nil:
		return time.Time{}, nil
	}
	return served, nil
}

// parentParam reads the parent field: 0 when empty, -1 (refused by the
// service) when it is not a comment ID.
func parentParam(v string) int64 {
	if v == "" {
		return 0
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id < 1 {
		return -1
	}
	return id
}

// stopNotifyPage serves GET /comments/stop?token=, the link in a reply
// notification: a button, and nothing changed, because mail scanners follow
// links.
func (s *Server) stopNotifyPage(c echo.Context) error {
	token := c.QueryParam("token")
	if err := checkLink(c.Request().Context(), token, s.opts.Comments.CheckStopNotify); err != nil {
		return s.badStopLink(c, err)
	}
	return s.notice(c, http.StatusOK, noticePage{
		Heading:    "Stop reply notifications?",
		Paragraphs: []string{"Press the button and you will get no more mails about replies to your comment."},
		Button:     &formButton{Action: "/comments/stop?token=" + url.QueryEscape(token), Label: "Stop these mails"},
	})
}

// stopNotify serves POST /comments/stop?token=, from the button above or as
// an RFC 8058 one-click POST (no cookie, no form token): 200, never a
// redirect. The token in the URL is the proof.
func (s *Server) stopNotify(c echo.Context) error {
	if err := checkLink(c.Request().Context(), c.QueryParam("token"), s.opts.Comments.StopNotify); err != nil {
		return s.badStopLink(c, err)
	}
	return s.notice(c, http.StatusOK, noticePage{
		Heading:    "Reply notifications stopped",
		Paragraphs: []string{"You will get no more mails about replies to this comment."},
	})
}

// badStopLink answers a damaged stop link (checkLink refuses an empty one
// with newsletter.ErrBadToken) with a 400 page; other errors go to the
// error handler.
func (s *Server) badStopLink(c echo.Context, err error) error {
	if !errors.Is(err, comments.ErrBadToken) && !errors.Is(err, newsletter.ErrBadToken) {
		return err
	}
	return s.notice(c, http.StatusBadRequest, noticePage{
		Heading: "This link does not work",
		Paragraphs: []string{
			"This link is incomplete or damaged; mail programs sometimes cut long links.",
			"Copy the whole link from the mail into your browser and try again.",
		},
	})
}
