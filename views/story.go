package views

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/tidings/tidings/feeds"
)

// maxSimilar is how many Similar Posts a story page shows.
const maxSimilar = 5

// storyPage is one story with what surrounds it.
type storyPage struct {
	Meta    meta
	Story   storyItem
	Author  string
	Summary string // the whole cleaned summary
	Also    []storyLink
	Similar []storyItem
	// Comments is the discussion and its form; nil on a site without
	// comments.
	Comments *commentsSection
}

// story serves /stories/:id and /stories/:id/:slug. The page is cached under
// its ID alone and knows its canonical path, so a wrong or missing slug is
// redirected without a store round trip. ?replyto=ID (a comment's Reply
// link) is the same page with the form answering that comment, cached
// apart. A visitor whose cookie lists held comments of the story gets a
// page of their own instead (see ownStory).
func (s *Server) story(c echo.Context) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	replyTo := int64(0)
	if s.opts.Comments != nil {
		replyTo = replyParam(c)
	}
	err = s.storyFor(c, id, replyTo)
	var noReply errNoSuchReply
	if errors.As(err, &noReply) {
		return c.Redirect(http.StatusFound, noReply.path)
	}
	return err
}

func (s *Server) storyFor(c echo.Context, id, replyTo int64) error {
	if own := s.ownComments(c); len(own) > 0 {
		if handled, err := s.ownStory(c, id, replyTo, own); handled {
			return err
		}
	}
	return s.cached(c, storyKey(id, replyTo), func(ctx context.Context) (rendered, error) {
		st, err := s.opts.Stories.Story(ctx, id)
		if err != nil {
			return rendered{}, err
		}
		form := newCommentForm(id, commentInput{Parent: replyTo}, nil)
		form.TS = slotMarker
		return s.renderStory(ctx, st, nil, form)
	})
}

// storyData gathers a story page: its source's name, the other outlets in
// its cluster and its Similar Posts, in at most four store calls whatever
// their number.
func (s *Server) storyData(ctx context.Context, st feeds.Story) (storyPage, error) {
	names, err := s.sourceNames(ctx)
	if err != nil {
		return storyPage{}, err
	}
	item := newStoryItem(st, names)
	also, err := s.clusterOf(ctx, st)
	if err != nil {
		return storyPage{}, err
	}
	similar, err := s.similarTo(ctx, st)
	if err != nil {
		return storyPage{}, err
	}
	p := storyPage{
		Story: item, Author: st.Author, Summary: st.Summary,
		Also: linksTo(also, names),
	}
	for _, sim := range similar {
		p.Similar = append(p.Similar, newStoryItem(sim, names))
	}
	page := s.abs(item.Path)
	ld := newsArticle{
		Context: "https://schema.org", Type: "NewsArticle",
		Headline: shorten(st.Title, 110), Description: shorten(st.Summary, 300),
		URL: page, MainEntity: page, DatePublished: st.PublishedAt.UTC().Format(time.RFC3339),
		Keywords: st.Tags, IsBasedOn: item.URL,
	}
	if item.SourceName != "" {
		ld.Author = &organization{Type: "Organization", Name: item.SourceName}
		ld.Publisher = ld.Author
	}
	p.Meta = meta{
		Title:       st.Title + " — " + siteName,
		Heading:     st.Title,
		Description: shorten(st.Summary, 200),
		Canonical:   page,
		Type:        "article",
		Published:   st.PublishedAt,
		Tags:        st.Tags,
		Feeds:       siteFeeds("", siteName),
		LD:          ld,
	}
	return p, nil
}

// clusterOf lists the other visible stories of st's cluster: the leader's
// followers, and the leader itself when st follows it.
func (s *Server) clusterOf(ctx context.Context, st feeds.Story) ([]feeds.Story, error) {
	leader := st.ID
	var out []feeds.Story
	if st.ClusterID != 0 {
		leader = st.ClusterID
		l, err := s.opts.Stories.Story(ctx, leader)
		switch {
		case errors.Is(err, feeds.ErrNotFound):
		case err != nil:
			return nil, err
		case l.Visible:
			out = append(out, l)
		}
	}
	followers, err := s.opts.Stories.Stories(ctx, feeds.StoryFilter{VisibleOnly: true, ClusterID: leader})
	if err != nil {
		return nil, err
	}
	for _, f := range followers {
		if f.ID != st.ID {
			out = append(out, f)
		}
	}
	return out, nil
}

// similarTo reads st's Similar Posts in one batched call, keeping the
// relater's order and dropping hidden or vanished stories.
func (s *Server) similarTo(ctx context.Context, st feeds.Story) ([]feeds.Story, error) {
	var ids []int64
	for _, r := range st.Similar {
		if r.ID != st.ID && !slices.Contains(ids, r.ID) {
			ids = append(ids, r.ID)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	found, err := s.opts.Stories.Stories(ctx, feeds.StoryFilter{VisibleOnly: true, IDs: ids})
	if err != nil {
		return nil, err
	}
	byID := make(map[int64]feeds.Story, len(found))
	for _, f := range found {
		byID[f.ID] = f
	}
	var out []feeds.Story
	for _, id := range ids {
		if f, ok := byID[id]; ok && len(out) < maxSimilar {
			out = append(out, f)
		}
	}
	return out, nil
}
