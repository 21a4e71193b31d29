package views

import (
	"context"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/tidings/tidings/comments"
	"github.com/tidings/tidings/feeds"
)

// Comments is what the site needs from the comment service
// (*comments.Service).
type Comments interface {
	// Submit validates, judges and stores a comment. Errors: a
	// *comments.FormError naming the refused fields, comments.ErrRateLimited,
	// comments.ErrNotFound for a missing or hidden story.
	Submit(ctx context.Context, sub comments.Submission) (comments.Comment, error)
	// Thread is a story's approved comments as a tree, oldest first, with the
	// viewer's own held comments (IDs from their cookie) marked Held.
	Thread(ctx context.Context, storyID int64, own []int64) ([]*comments.Node, error)
	// CommentCounts counts the approved comments of each story.
	CommentCounts(ctx context.Context, storyIDs []int64) (map[int64]int, error)
	// OwnToken signs the list of a visitor's held comments for their cookie;
	// ParseOwnToken reads it back (nothing for a bad or expired cookie).
	OwnToken(ids []int64) string
	ParseOwnToken(token string) []int64
	// CheckStopNotify validates a "stop mailing me replies" token without
	// changing anything; StopNotify acts on it. comments.ErrBadToken when bad.
	CheckStopNotify(ctx context.Context, token string) error
	StopNotify(ctx context.Context, token string) error
}

const (
	// ownCookie lists the visitor's held comments (signed by the service), so
	// they see them marked "awaiting moderation" and nobody else does.
	ownCookie = "tidings_own"
	// ownCookieAge is how long the browser keeps it.
	ownCookieAge = 30 * 24 * time.Hour
	// honeypotField is the comment form's hidden trap for robots.
	honeypotField = "website2"
	// formTimeField carries the signed time the comment form was served.
	formTimeField = "ts"
	// maxCommentFeed is how many comments a story's comment feed carries.
	maxCommentFeed = 50
)

// commentsSection is the discussion under a story and its form.
type commentsSection struct {
	Count    int // approved comments
	Thread   []commentView
	FeedPath string
	Form     commentForm
}

// commentView is one comment as the page shows it.
type commentView struct {
	ID                   int64
	Name                 string        // the author's name, as text
	Author, Body, Avatar template.HTML // made safe by the service
	Date                 time.Time
	Held                 bool
	ReplyPath            string
	Children             []commentView
}

// commentForm is the "Leave a Reply" form: what was typed, and why it was
// refused when it is shown again.
type commentForm struct {
	Action string
	// TS is the signed time the form was served: slotMarker in a cached
	// page (filled in for each response), the value itself otherwise.
	TS string
	// Parent is the comment replied to, ReplyingTo its author's name, and
	// CancelPath the form without the reply.
	Parent     int64
	ReplyingTo string
	CancelPath string
	Fields     []formField
	Notify     bool
	// Message is shown above the form: a summary of the refused fields, a
	// refused reply, or the rate limit.
	Message string
}

// formField is one visible field of the comment form.
type formField struct {
	ID, Name, Label, Type string
	Autocomplete          string
	MaxLength             int
	Required              bool
	Value, Error          string
}

// commentInput is what a person typed in the comment form.
type commentInput struct {
	Author, Email, URL, Comment string
	Notify                      bool
	Parent                      int64
}

// newCommentForm lays out the form for a story, holding in and the messages
// of errs (field name → message).
func newCommentForm(storyID int64, in commentInput, errs map[string]string) commentForm {
	f := commentForm{
		Action: storyPath(storyID, "") + "/comments",
		Parent: in.Parent,
		Notify: in.Notify,
		Fields: []formField{
			{ID: "comment-author", Name: "author", Label: "Name", Type: "text", Autocomplete: "name", MaxLength: comments.MaxAuthor, Required: true, Value: in.Author},
			{ID: "comment-email", Name: "email", Label: "Email", Type: "email", Autocomplete: "email", MaxLength: 254, Required: true, Value: in.Email},
			{ID: "comment-url", Name: "url", Label: "Website", Type: "url", Autocomplete: "url", MaxLength: comments.MaxWebsite, Value: in.URL},
			{ID: "comment-text", Name: "comment", Label: "Comment", Type: "textarea", MaxLength: comments.MaxBody, Required: true, Value: in.Comment},
		},
	}
	for i := range f.Fields {
		f.Fields[i].Error = errs[f.Fields[i].Name]
	}
	return f
}

// storyComments builds a story page's comment section from its thread.
// replyTo names the comment the form answers (0: none); it must be an
// approved comment of the thread, or the result is false.
func storyComments(st feeds.Story, nodes []*comments.Node, form commentForm) (*commentsSection, bool) {
	path := storyPath(st.ID, st.Title)
	sec := &commentsSection{FeedPath: storyPath(st.ID, "") + "/comments.xml", Form: form}
	var replyingTo string
	var convert func([]*comments.Node) []commentView
	convert = func(nodes []*comments.Node) []commentView {
		var out []commentView
		for _, n := range nodes {
			c := n.Comment
			v := commentView{
				ID: c.ID, Name: c.Author, Author: n.Author, Body: n.Body, Avatar: n.Avatar,
				Date: c.CreatedAt, Held: n.Held,
				ReplyPath: path + "?replyto=" + strconv.FormatInt(c.ID, 10) + "#respond",
				Children:  convert(n.Children),
			}
			if !n.Held {
				sec.Count++
				if c.ID == form.Parent {
					replyingTo = c.Author
				}
			}
			out = append(out, v)
		}
		return out
	}
	sec.Thread = convert(nodes)
	if form.Parent != 0 {
		if replyingTo == "" {
			return nil, false
		}
		sec.Form.ReplyingTo, sec.Form.CancelPath = replyingTo, path+"#respond"
	}
	return sec, true
}

// shownOf lists the comments of ids that a thread shows, approved; nil
// when ids is empty.
func shownOf(nodes []*comments.Node, ids []int64) []int64 {
	var out []int64
	for _, n := range nodes {
		if !n.Held && slices.Contains(ids, n.Comment.ID) {
			out = append(out, n.Comment.ID)
		}
		out = append(out, shownOf(n.Children, ids)...)
	}
	return out
}

// approvedIDs lists every comment a thread shows that is not held.
func approvedIDs(nodes []*comments.Node) []int64 {
	var out []int64
	for _, n := range nodes {
		if !n.Held {
			out = append(out, n.Comment.ID)
		}
		out = append(out, approvedIDs(n.Children)...)
	}
	return out
}

// storyKey is the page cache's key for a story page answering replyTo.
func storyKey(id, replyTo int64) string {
	if replyTo == 0 {
		return storyPath(id, "")
	}
	return storyPath(id, "") + "?replyto=" + strconv.FormatInt(replyTo, 10)
}

// anyHeld reports whether a thread shows a held comment.
func anyHeld(nodes []*comments.Node) bool {
	for _, n := range nodes {
		if n.Held || anyHeld(n.Children) {
			return true
		}
	}
	return false
}

// errNoSuchReply is what rendering a story page answering a comment gives
// when that comment is not an approved one of the story: the reader is sent
// to the page's form without the reply.
type errNoSuchReply struct{ path string }

func (e errNoSuchReply) Error() string { return "views: no such comment to reply to" }

// replyParam reads ?replyto=ID; anything but a positive ID counts as none.
func replyParam(c echo.Context) int64 {
	id, err := strconv.ParseInt(c.QueryParam("replyto"), 10, 64)
	if err != nil || id < 1 {
		return 0
	}
	return id
}

// ownComments reads the visitor's cookie listing their held comments.
func (s *Server) ownComments(c echo.Context) []int64 {
	if s.opts.Comments == nil {
		return nil
	}
	ck, err := c.Cookie(ownCookie)
	if err != nil || ck.Value == "" || len(ck.Value) > maxLinkToken {
		return nil
	}
	return s.opts.Comments.ParseOwnToken(ck.Value)
}

// setOwnCookie adds id to the visitor's list of held comments.
func (s *Server) setOwnCookie(c echo.Context, id int64) {
	token := s.opts.Comments.OwnToken(append(s.ownComments(c), id))
	if token == "" {
		return
	}
	c.SetCookie(&http.Cookie{
		Name: ownCookie, Value: token, Path: "/",
		MaxAge: int(ownCookieAge / time.Second), HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: s.secureCookies,
	})
}

// renderStory gathers and renders a story page. form is the comment form
// as it should appear (its TS set); own lists the viewer's held comments.
func (s *Server) renderStory(ctx context.Context, st feeds.Story, own []int64, form commentForm) (rendered, error) {
	var nodes []*comments.Node
	if s.opts.Comments != nil && st.Visible {
		var err error
		if nodes, err = s.opts.Comments.Thread(ctx, st.ID, own); err != nil {
			return rendered{}, err
		}
	}
	return s.renderThread(ctx, st, nodes, form)
}

// renderThread is renderStory with the thread read already.
func (s *Server) renderThread(ctx context.Context, st feeds.Story, nodes []*comments.Node, form commentForm) (rendered, error) {
	if !st.Visible {
		return rendered{}, echo.NewHTTPError(http.StatusNotFound)
	}
	data, err := s.storyData(ctx, st)
	if err != nil {
		return rendered{}, err
	}
	var shown []int64
	if s.opts.Comments != nil {
		sec, ok := storyComments(st, nodes, form)
		if !ok {
			return rendered{}, errNoSuchReply{path: data.Story.Path + "#respond"}
		}
		data.Comments = sec
		shown = approvedIDs(nodes)
		data.Meta.Feeds = append(data.Meta.Feeds, feedLink{
			Type: "application/rss+xml", Title: "Comments on “" + st.Title + "” (RSS)", Href: sec.FeedPath,
		})
	}
	r, err := s.html("story", data)
	r.canonical, r.comments = data.Story.Path, shown
	return r, err
}

// ownStory answers a story page for a visitor whose cookie lists held
// comments: when some of them are under this story, the page is rendered
// for them alone, fresh and never stored. handled is false when none is,
// and the shared page should be served.
func (s *Server) ownStory(c echo.Context, id, replyTo int64, own []int64) (handled bool, err error) {
	ctx := c.Request().Context()
	st, err := s.opts.Stories.Story(ctx, id)
	if err != nil {
		return true, err
	}
	if !st.Visible {
		return true, echo.NewHTTPError(http.StatusNotFound)
	}
	nodes, err := s.opts.Comments.Thread(ctx, id, own)
	if err != nil {
		return true, err
	}
	if !anyHeld(nodes) {
		// Their comments were approved, perhaps by a moderator in another
		// process: make sure the shared page shows them.
		if mine := shownOf(nodes, own); len(mine) > 0 && s.cache.lacks(storyKey(id, replyTo), mine) {
			s.Invalidate()
		}
		return false, nil
	}
	if path := storyPath(st.ID, st.Title); c.Request().URL.EscapedPath() != path {
		return true, c.Redirect(http.StatusMovedPermanently, path)
	}
	form := newCommentForm(id, commentInput{Parent: replyTo}, nil)
	form.TS = string(s.forms.value())
	r, err := s.renderThread(ctx, st, nodes, form)
	return true, s.writePersonal(c, http.StatusOK, r, err)
}

// personal renders a story page for one visitor (their held comments, or
// the form they sent, refused): private, and kept by no cache.
func (s *Server) personal(c echo.Context, code int, st feeds.Story, own []int64, form commentForm) error {
	r, err := s.renderStory(c.Request().Context(), st, own, form)
	return s.writePersonal(c, code, r, err)
}

// writePersonal writes a page rendered for one visitor, or returns err.
func (s *Server) writePersonal(c echo.Context, code int, r rendered, err error) error {
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "private, no-store")
	return s.writeRendered(c, code, r)
}
