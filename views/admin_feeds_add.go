package views

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/tidings/tidings/feeds"
)

// Messages of the add and import forms.
const (
	msgEnterFeedURL = "Enter the address of a feed, or of a site that links to its feed."
	msgNotWebURL    = "That is not a web address. Enter one starting with http:// or https://, of a feed or of a site that links to its feed."
	msgChooseFeed   = "This site offers several feeds. Choose the one to add."
	msgChooseFile   = "Choose an OPML file (or a text file with one feed address a line) to import."
	msgNoFeedInFile = "That file holds no usable feed address."
)

// maxTypedURL bounds the address field; CanonicalURL refuses longer ones
// anyway, this only keeps the page shown again small.
const maxTypedURL = 2048

// addFeed serves POST /admin/feeds/add (fields url, ontopic): the address
// typed is a feed, or a site whose page announces one; the feed found is
// added. A site announcing several gets the choice; a refusal shows the
// form again with what was typed and why: 400 for an address that is not
// one, 409 for a feed already there, 422 for an address that gave no feed.
func (s *Server) addFeed(c echo.Context) error {
	form := c.Request().PostForm
	p := feedsPage{URL: strings.TrimSpace(form.Get("url")), OnTopic: form.Get("ontopic") != "", ErrorFor: "add"}
	refuse := func(code int, msg string) error {
		p.Error = msg
		return s.renderFeeds(c, code, p)
	}
	if p.URL == "" {
		return refuse(http.StatusBadRequest, msgEnterFeedURL)
	}
	if len(p.URL) > maxTypedURL {
		p.URL = p.URL[:maxTypedURL]
		return refuse(http.StatusBadRequest, msgNotWebURL)
	}
	u, err := feeds.CanonicalURL(withScheme(p.URL), nil)
	if err != nil {
		return refuse(http.StatusBadRequest, msgNotWebURL)
	}
	ctx := c.Request().Context()
	if src, ok, err := s.sourceByURL(ctx, u); err != nil {
		return err
	} else if ok {
		return refuse(http.StatusConflict, alreadySource(src))
	}
	found := []feeds.FoundFeed{{URL: u}}
	if s.opts.Discover != nil {
		found, err = s.opts.Discover(ctx, u)
		var fe *feeds.FeedError
		switch {
		case errors.Is(err, feeds.ErrNoFeed) && errors.As(err, &fe):
			return refuse(http.StatusUnprocessableEntity, "No feed was found there: it is "+fe.Reason+". Enter the feed's own address instead.")
		case errors.As(err, &fe):
			return refuse(http.StatusUnprocessableEntity, "That address could not be read as a feed: "+fe.Reason+".")
		case err != nil:
			return err
		}
	}
	if len(found) > 1 {
		p.Choices, p.Flash, p.ErrorFor = found, msgChooseFeed, ""
		return s.renderFeeds(c, http.StatusOK, p)
	}
	add := feeds.Source{URL: found[0].URL, OnTopic: p.OnTopic}
	if found[0].Type == "" {
		add.Title = found[0].Title // the feed's own title, known already
	} else {
		add.SiteURL = u // found on this page
	}
	src, err := s.opts.Stories.AddSource(ctx, add)
	switch {
	case errors.Is(err, feeds.ErrExists):
		return refuse(http.StatusConflict, alreadySource(src))
	case err != nil:
		return err
	}
	s.pollSoon()
	q := url.Values{"done": {"added"}, "id": {strconv.FormatInt(src.ID, 10)}}
	return c.Redirect(http.StatusSeeOther, "/admin/feeds?"+q.Encode())
}

// withScheme puts https:// before an address typed without a scheme
// ("example.org/feed"), as a browser's address bar does.
func withScheme(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.Scheme == "" && !strings.HasPrefix(raw, "/") {
		return "https://" + raw
	}
	return raw
}

// sourceByURL finds the source stored under a canonical URL.
func (s *Server) sourceByURL(ctx context.Context, u string) (feeds.Source, bool, error) {
	srcs, err := s.opts.Stories.Sources(ctx, feeds.SourceFilter{})
	if err != nil {
		return feeds.Source{}, false, err
	}
	for _, src := range srcs {
		if src.URL == u {
			return src, true, nil
		}
	}
	return feeds.Source{}, false, nil
}

func alreadySource(src feeds.Source) string {
	return "That feed is already a source: feed #" + strconv.FormatInt(src.ID, 10) + " (" + feedLabel(src) + ")."
}

// importFeeds serves POST /admin/feeds/import: a file (field file, a
// multipart upload within the form guard's size cap) in OPML or with one
// URL a line, read as `tidings feeds import` reads it. Its feeds are
// added; entries that are not feed addresses are listed. A file with no
// usable address is refused with 400.
func (s *Server) importFeeds(c echo.Context) error {
	p := feedsPage{ErrorFor: "import"}
	refuse := func(msg string) error {
		p.Error = msg
		return s.renderFeeds(c, http.StatusBadRequest, p)
	}
	fh, err := c.FormFile("file")
	if err != nil {
		return refuse(msgChooseFile)
	}
	f, err := fh.Open()
	if err != nil {
		return refuse(msgChooseFile)
	}
	defer f.Close()
	urls, err := feeds.ParseSourceList(f)
	var le *feeds.ListError
	if err != nil && !errors.As(err, &le) {
		return refuse("That file could not be read: " + strings.TrimPrefix(err.Error(), "feeds: ") + ".")
	}
	if le != nil {
		p.Problems = le.Problems
	}
	if len(urls) == 0 {
		return refuse(msgNoFeedInFile)
	}
	ctx := c.Request().Context()
	added, existing := 0, 0
	for _, u := range urls {
		_, err := s.opts.Stories.AddSource(ctx, feeds.Source{URL: u})
		switch {
		case errors.Is(err, feeds.ErrExists):
			existing++
		case err != nil:
			return err
		default:
			added++
		}
	}
	if added > 0 {
		s.pollSoon()
	}
	if len(p.Problems) > 0 {
		// The skipped entries cannot ride on a redirect: shown at once.
		p.ErrorFor, p.Flash = "", importSummary(added, existing, len(p.Problems))
		return s.renderFeeds(c, http.StatusOK, p)
	}
	q := url.Values{"done": {"imported"}, "added": {strconv.Itoa(added)}, "existing": {strconv.Itoa(existing)}}
	return c.Redirect(http.StatusSeeOther, "/admin/feeds?"+q.Encode())
}

// exportFeeds serves GET /admin/feeds/export: every source as an OPML
// download, as `tidings feeds export` writes it.
func (s *Server) exportFeeds(c echo.Context) error {
	srcs, err := s.opts.Stories.Sources(c.Request().Context(), feeds.SourceFilter{})
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := feeds.WriteOPML(&buf, siteName+" feeds", srcs); err != nil {
		return err
	}
	c.Response().Header().Set("Content-Disposition", `attachment; filename="tidings-feeds.opml"`)
	return c.Blob(http.StatusOK, "text/x-opml; charset=utf-8", buf.Bytes())
}
