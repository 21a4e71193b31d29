package views

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/tidings/tidings/comments"
	"github.com/tidings/tidings/feeds"
)

// Moderation is what the moderation queue needs from the comment service
// (*comments.Service); the server finds it on Options.Comments.
type Moderation interface {
	// List lists the comments matching f, oldest first.
	List(ctx context.Context, f comments.Filter) ([]comments.Comment, error)
	// Approve, Reject and MarkSpam move a comment to that status;
	// comments.ErrNotFound or comments.ErrConflict when it is gone or was
	// changed meanwhile.
	Approve(ctx context.Context, id int64) (comments.Comment, error)
	Reject(ctx context.Context, id int64) (comments.Comment, error)
	MarkSpam(ctx context.Context, id int64) (comments.Comment, error)
	// Delete erases a comment.
	Delete(ctx context.Context, id int64) error
	// Email opens the address of a comment's author.
	Email(c comments.Comment) (string, error)
}

const (
	// queueSize is how many held comments the queue shows at once, oldest
	// first; the rest come as these are dealt with.
	queueSize = 100
	// maxModerated bounds the comments one POST acts on.
	maxModerated = 500
)

// moderationActions are the values of the action field, with the word the
// result message uses.
var moderationActions = map[string]string{
	"approve": "approved",
	"reject":  "rejected",
	"spam":    "marked as spam",
	"delete":  "deleted",
}

// queuePage is /admin/comments.
type queuePage struct {
	Meta  meta
	Nav   adminNav
	Flash string
	Items []queueItem
}

// queueItem is one held comment as the moderator sees it.
type queueItem struct {
	ID, ParentID    int64
	Author, Website string
	// Email is the author's address, opened for the moderator alone;
	// EmailUnreadable when it cannot be opened (another secret key).
	Email           string
	EmailUnreadable bool
	Reason          string
	Body            string // plain text; the page keeps its line breaks
	Created         time.Time
	// The story it is under; StoryPath is empty when the story is gone.
	StoryID     int64
	StoryTitle  string
	StoryPath   string
	StoryHidden bool
}

// moderationQueue serves GET /admin/comments: the oldest held comments with
// why each was held, where, by whom (address included) and what it says,
// each with its own buttons and a checkbox for the buttons that act on
// every checked one.
func (s *Server) moderationQueue(c echo.Context) error {
	ctx := c.Request().Context()
	nav, err := s.adminNav(ctx, "comments")
	if err != nil {
		return err
	}
	held, err := s.moderation().List(ctx, comments.Filter{Statuses: []comments.Status{comments.Pending}, Limit: queueSize})
	if err != nil {
		return err
	}
	stories, err := s.storiesOf(ctx, held)
	if err != nil {
		return err
	}
	p := queuePage{
		Meta:  meta{Title: "Moderation queue — " + siteName + " admin", NoIndex: true},
		Nav:   nav,
		Flash: moderationFlash(c.QueryParams()),
	}
	for _, cm := range held {
		it := queueItem{
			ID: cm.ID, Author: cm.Author, Website: cm.Website, Reason: cm.Reason, Body: cm.Body,
			Created: cm.CreatedAt, ParentID: cm.ParentID, StoryID: cm.StoryID,
		}
		if it.Email, err = s.moderation().Email(cm); err != nil {
			it.EmailUnreadable = true
		}
		if st, ok := stories[cm.StoryID]; ok {
			it.StoryTitle, it.StoryPath, it.StoryHidden = st.Title, storyPath(st.ID, st.Title), !st.Visible
		}
		p.Items = append(p.Items, it)
	}
	return s.render(c, http.StatusOK, "admin_comments", p)
}

// storiesOf loads the stories a list of comments belongs to, in one read.
func (s *Server) storiesOf(ctx context.Context, cs []comments.Comment) (map[int64]feeds.Story, error) {
	var ids []int64
	for _, cm := range cs {
		if !slices.Contains(ids, cm.StoryID) {
			ids = append(ids, cm.StoryID)
		}
	}
	out := map[int64]feeds.Story{}
	if len(ids) == 0 {
		return out, nil
	}
	sts, err := s.opts.Stories.Stories(ctx, feeds.StoryFilter{IDs: ids})
	if err != nil {
		return nil, err
	}
	for _, st := range sts {
		out[st.ID] = st
	}
	return out, nil
}

// moderate serves POST /admin/comments: the action named by the button
// pressed, on one comment (field one = "ACTION:ID", a comment's own
// button) or on every checked one (field action, fields id). Comments
// changed or erased by someone else meanwhile are skipped and counted.
// Then back to the queue, which says what was done; the site's pages are
// refreshed at once.
func (s *Server) moderate(c echo.Context) error {
	action, ids, err := moderationRequest(c.Request().PostForm)
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		return c.Redirect(http.StatusSeeOther, "/admin/comments?done=none")
	}
	ctx := c.Request().Context()
	done, missed := 0, 0
	for _, id := range ids {
		err := s.moderateOne(ctx, action, id)
		switch {
		case err == nil:
			done++
		case errors.Is(err, comments.ErrNotFound), errors.Is(err, comments.ErrConflict):
			missed++
		default:
			if done > 0 {
				s.Invalidate()
			}
			return err
		}
	}
	if done > 0 {
		s.Invalidate()
	}
	q := url.Values{"done": {action}, "n": {strconv.Itoa(done)}}
	if missed > 0 {
		q.Set("missed", strconv.Itoa(missed))
	}
	return c.Redirect(http.StatusSeeOther, "/admin/comments?"+q.Encode())
}

func (s *Server) moderateOne(ctx context.Context, action string, id int64) error {
	var err error
	switch action {
	case "approve":
		_, err = s.moderation().Approve(ctx, id)
	case "reject":
		_, err = s.moderation().Reject(ctx, id)
	case "spam":
		_, err = s.moderation().MarkSpam(ctx, id)
	case "delete":
		err = s.moderation().Delete(ctx, id)
	}
	return err
}

// errBadModeration answers a moderation form no page of ours sends.
func errBadModeration(why string) error {
	return echo.NewHTTPError(http.StatusBadRequest, "The moderation form could not be understood: "+why+". Reload the queue and try again.")
}

// moderationRequest reads the action and the comment IDs of a moderation
// POST; repeated IDs count once.
func moderationRequest(form url.Values) (string, []int64, error) {
	action, raw := form.Get("action"), form["id"]
	if one := form.Get("one"); one != "" {
		var id string
		var ok bool
		if action, id, ok = strings.Cut(one, ":"); !ok {
			return "", nil, errBadModeration("a button names no comment")
		}
		raw = []string{id}
	}
	if _, ok := moderationActions[action]; !ok {
		return "", nil, errBadModeration("no known action was chosen")
	}
	if len(raw) > maxModerated {
		return "", nil, errBadModeration("at most " + strconv.Itoa(maxModerated) + " comments can be changed at once")
	}
	var ids []int64
	for _, v := range raw {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id < 1 {
			return "", nil, errBadModeration("a comment is named by something other than its number")
		}
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	return action, ids, nil
}

// moderationFlash is the message after a moderation, from the fixed words
// above and the counts in the query: nothing a link can make it say.
func moderationFlash(q url.Values) string {
	done := q.Get("done")
	if done == "none" {
		return "No comment was selected. Tick the ones to act on, then press a button below the list."
	}
	verb, ok := moderationActions[done]
	n, err := strconv.Atoi(q.Get("n"))
	if !ok || err != nil || n < 0 {
		return ""
	}
	msg := countNoun(n, "comment", "comments") + " " + verb + "."
	if missed, err := strconv.Atoi(q.Get("missed")); err == nil && missed > 0 {
		msg += " " + countNoun(missed, "comment was", "comments were") + " left alone: changed or erased by someone else meanwhile."
	}
	return msg
}

// countNoun is "1 comment" or "3 comments".
func countNoun(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
