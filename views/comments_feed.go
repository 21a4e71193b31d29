package views

import (
	"context"
	"encoding/xml"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/tidings/tidings/comments"
)

// commentFeed serves GET /stories/:id/comments.xml: the story's approved
// comments, newest first, as RSS 2.0. An item names its author by name
// only (dc:creator; RSS's own author element is an email address) and
// carries the comment as the page shows it: escaped text, paragraphs and
// links with rel="nofollow ugc noopener".
func (s *Server) commentFeed(c echo.Context) error {
	if s.opts.Comments == nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	id, err := idParam(c)
	if err != nil {
		return err
	}
	self := storyPath(id, "") + "/comments.xml"
	return s.cached(c, self, func(ctx context.Context) (rendered, error) {
		st, err := s.opts.Stories.Story(ctx, id)
		if err != nil {
			return rendered{}, err
		}
		if !st.Visible {
			return rendered{}, echo.NewHTTPError(http.StatusNotFound)
		}
		nodes, err := s.opts.Comments.Thread(ctx, id, nil)
		if err != nil {
			return rendered{}, err
		}
		page := s.abs(storyPath(st.ID, st.Title))
		ch := commentChannel{
			Title: "Comments on “" + st.Title + "”", Link: page,
			Description: "Comments on “" + st.Title + "” at " + siteName + ".", Language: "en",
			Self: atomLink{Href: s.abs(self), Rel: "self", Type: "application/rss+xml"},
		}
		updated := st.PublishedAt.UTC()
		for _, n := range newestFirst(nodes, maxCommentFeed) {
			link := page + "#comment-" + strconv.FormatInt(n.Comment.ID, 10)
			at := n.Comment.CreatedAt.UTC()
			if at.After(updated) {
				updated = at
			}
			ch.Items = append(ch.Items, commentItem{
				Title: "Comment by " + n.Comment.Author, Link: link,
				GUID: rssGUID{IsPermaLink: true, Value: link}, PubDate: at.Format(time.RFC1123Z),
				Creator: n.Comment.Author, Description: string(n.Body),
			})
		}
		ch.LastBuildDate = updated.Format(time.RFC1123Z)
		return writeXML("application/rss+xml; charset=utf-8", commentRSS{
			Version: "2.0", AtomNS: "http://www.w3.org/2005/Atom", DCNS: "http://purl.org/dc/elements/1.1/", Channel: ch,
		})
	})
}

// newestFirst flattens a thread's shown comments, newest first, at most n.
func newestFirst(nodes []*comments.Node, n int) []*comments.Node {
	var all []*comments.Node
	var walk func([]*comments.Node)
	walk = func(ns []*comments.Node) {
		for _, x := range ns {
			if !x.Held {
				all = append(all, x)
			}
			walk(x.Children)
		}
	}
	walk(nodes)
	slices.SortFunc(all, func(a, b *comments.Node) int {
		switch {
		case a.Comment.ID > b.Comment.ID:
			return -1
		case a.Comment.ID < b.Comment.ID:
			return 1
		}
		return 0
	})
	return all[:min(n, len(all))]
}

type commentRSS struct {
	XMLName xml.Name       `xml:"rss"`
	Version string         `xml:"version,attr"`
	AtomNS  string         `xml:"xmlns:atom,attr"`
	DCNS    string         `xml:"xmlns:dc,attr"`
	Channel commentChannel `xml:"channel"`
}

type commentChannel struct {
	Title         string        `xml:"title"`
	Link          string        `xml:"link"`
	Description   string        `xml:"description"`
	Language      string        `xml:"language"`
	LastBuildDate string        `xml:"lastBuildDate"`
	Self          atomLink      `xml:"atom:link"`
	Items         []commentItem `xml:"item"`
}

type commentItem struct {
	Title       string  `xml:"title"`
	Link        string  `xml:"link"`
	GUID        rssGUID `xml:"guid"`
	PubDate     string  `xml:"pubDate"`
	Creator     string  `xml:"dc:creator"`
	Description string  `xml:"description"`
}
