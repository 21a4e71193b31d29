package views

import (
	"context"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/tidings/tidings/feeds"
)

// perPage is how many stories a list page shows.
const perPage = 30

// maxPage bounds ?page=N, so an absurd offset is a 404 without a query.
const maxPage = 100000

// summaryLen is how much of a summary a list shows: about one line.
const summaryLen = 160

// listPage is a page of stories: home, a topic or a source.
type listPage struct {
	Meta    meta
	Heading string
	// SiteURL is a source's own site, for source pages.
	SiteURL string
	Stories []storyItem
	Pager   pager
	Empty   string // shown when there are no stories
	// Newsletter shows the sign-up box (home only).
	Newsletter bool
	// CommentsOn shows each story's comment count.
	CommentsOn bool
}

// pager links a list page to its neighbours.
type pager struct {
	Prev, Next string // "": none
}

// storyItem is one story in a list.
type storyItem struct {
	ID          int64
	Title       string
	Path        string // the story page
	URL         string // the original article; "" when it has no usable URL
	SourceID    int64
	SourceName  string
	PublishedAt time.Time
	Tags        []string
	Summary     string
	Comments    int
	AlsoCovered []storyLink
}

// storyLink is a short link to another story page.
type storyLink struct {
	Title, Path, SourceName string
}

// pageParam reads ?page=N; anything but a page number in range is a 404.
func pageParam(c echo.Context) (int, error) {
	v := c.QueryParam("page")
	if v == "" {
		return 1, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxPage {
		return 0, echo.NewHTTPError(http.StatusNotFound)
	}
	return n, nil
}

// pageURL is the address of page n of the list at path.
func pageURL(path string, n int) string {
	if n <= 1 {
		return path
	}
	return path + "?page=" + strconv.Itoa(n)
}

func (s *Server) home(c echo.Context) error {
	page, err := pageParam(c)
	if err != nil {
		return err
	}
	return s.cached(c, pageURL("/", page), func(ctx context.Context) (rendered, error) {
		data := listPage{
			Heading:    "Latest privacy stories",
			Empty:      "No stories yet. The feeds are polled every few minutes after start; come back soon.",
			Newsletter: true,
			Meta: meta{
				Title:       siteName + " — tech-privacy news",
				Description: "The latest news about privacy and technology, gathered from privacy news feeds.",
				Canonical:   s.abs(pageURL("/", page)),
				Type:        "website",
				Feeds:       siteFeeds("", siteName),
			},
		}
		f := feeds.StoryFilter{VisibleOnly: true, LeadersOnly: true}
		if err := s.fillList(ctx, &data, f, "/", page, true); err != nil {
			return rendered{}, err
		}
		if page > 1 {
			data.Meta.Title = "Page " + strconv.Itoa(page) + " — " + data.Meta.Title
		}
		return s.html("home", data)
	})
}

// tagPattern is what a topic tag looks like; anything else is a 404 at once.
var tagPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,39}$`)

// knownTopic reports whether tag is one the classifier gives.
func knownTopic(tag string) bool { return slices.Contains(feeds.TopicTags(), tag) }

func (s *Server) topic(c echo.Context) error {
	tag := c.Param("tag")
	if !tagPattern.MatchString(tag) {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	page, err := pageParam(c)
	if err != nil {
		return err
	}
	path := "/topics/" + tag
	return s.cached(c, pageURL(path, page), func(ctx context.Context) (rendered, error) {
		data := listPage{
			Heading: "Stories about " + tag,
			Empty:   "No stories on this topic yet.",
			Meta: meta{
				Title:       "Stories about " + tag + " — " + siteName,
				Description: "Tech-privacy news about " + tag + ".",
				Canonical:   s.abs(pageURL(path, page)),
				Type:        "website",
				Feeds:       siteFeeds(path, siteName+": "+tag),
			},
		}
		f := feeds.StoryFilter{VisibleOnly: true, LeadersOnly: true, Tag: tag}
		if err := s.fillList(ctx, &data, f, path, page, true); err != nil {
			return rendered{}, err
		}
		if len(data.Stories) == 0 && !knownTopic(tag) {
			return rendered{}, echo.NewHTTPError(http.StatusNotFound)
		}
		return s.html("list", data)
	})
}

func (s *Server) source(c echo.Context) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	page, err := pageParam(c)
	if err != nil {
		return err
	}
	path := sourcePath(id)
	return s.cached(c, pageURL(path, page), func(ctx context.Context) (rendered, error) {
		src, err := s.opts.Stories.Source(ctx, id)
		if err != nil {
			return rendered{}, err
		}
		name := sourceName(src)
		data := listPage{
			Heading: "Stories from " + name,
			SiteURL: outbound(src.SiteURL),
			Empty:   "No stories from this source yet.",
			Meta: meta{
				Title:       "Stories from " + name + " — " + siteName,
				Description: "Tech-privacy news from " + name + ".",
				Canonical:   s.abs(pageURL(path, page)),
				Type:        "website",
				Feeds:       siteFeeds("", siteName),
			},
		}
		// Every visible story of the source, followers too: this is the one
		// place a reader sees all of an outlet's coverage.
		f := feeds.StoryFilter{VisibleOnly: true, SourceID: id}
		if err := s.fillList(ctx, &data, f, path, page, false); err != nil {
			return rendered{}, err
		}
		return s.html("list", data)
	})
}

// idParam reads the :id of a route; a missing, negative or garbage ID is a
// 404, never a 500.
func idParam(c echo.Context) (int64, error) {
	v := c.Param("id")
	if v == "" || strings.TrimLeft(v, "0123456789") != "" {
		return 0, echo.NewHTTPError(http.StatusNotFound)
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id < 1 {
		return 0, echo.NewHTTPError(http.StatusNotFound)
	}
	return id, nil
}

// fillList reads page n of the stories matching f into data, with the names
// of their sources and, when clusters is set, the other outlets that covered
// each story. A page past the end is a 404.
func (s *Server) fillList(ctx context.Context, data *listPage, f feeds.StoryFilter, path string, n int, clusters bool) error {
	f.Limit, f.Offset = perPage+1, (n-1)*perPage
	list, err := s.opts.Stories.Stories(ctx, f)
	if err != nil {
		return err
	}
	if n > 1 && len(list) == 0 {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	if len(list) > perPage {
		list, data.Pager.Next = list[:perPage], pageURL(path, n+1)
	}
	if n > 1 {
		data.Pager.Prev = pageURL(path, n-1)
	}
	names, err := s.sourceNames(ctx)
	if err != nil {
		return err
	}
	followers := map[int64][]feeds.Story{}
	if clusters && len(list) > 0 {
		// The other outlets of every story on the page, in one read.
		leaders := make([]int64, len(list))
		for i, st := range list {
			leaders[i] = st.ID
		}
		all, err := s.opts.Stories.Stories(ctx, feeds.StoryFilter{VisibleOnly: true, ClusterIDs: leaders})
		if err != nil {
			return err
		}
		for _, f := range all {
			followers[f.ClusterID] = append(followers[f.ClusterID], f)
		}
	}
	counts, err := s.commentCounts(ctx, list)
	if err != nil {
		return err
	}
	data.CommentsOn = s.opts.Comments != nil
	for _, st := range list {
		item := newStoryItem(st, names)
		item.AlsoCovered = linksTo(followers[st.ID], names)
		item.Comments = counts[st.ID]
		data.Stories = append(data.Stories, item)
	}
	return nil
}

// commentCounts counts the approved comments of every story of a list in
// one call; nothing on a site without comments.
func (s *Server) commentCounts(ctx context.Context, list []feeds.Story) (map[int64]int, error) {
	if s.opts.Comments == nil || len(list) == 0 {
		return nil, nil
	}
	ids := make([]int64, len(list))
	for i, st := range list {
		ids[i] = st.ID
	}
	return s.opts.Comments.CommentCounts(ctx, ids)
}

func newStoryItem(st feeds.Story, names map[int64]string) storyItem {
	item := storyItem{
		ID: st.ID, Title: st.Title, Path: storyPath(st.ID, st.Title), URL: outbound(st.URL),
		SourceName: names[st.SourceID], PublishedAt: st.PublishedAt, Tags: st.Tags,
		Summary: shorten(st.Summary, summaryLen),
	}
	if item.SourceName != "" {
		item.SourceID = st.SourceID
	}
	return item
}

// linksTo turns stories into links to their pages, naming their outlets.
func linksTo(list []feeds.Story, names map[int64]string) []storyLink {
	var out []storyLink
	for _, st := range list {
		name := names[st.SourceID]
		if name == "" {
			name = hostOf(st.URL)
		}
		out = append(out, storyLink{Title: st.Title, Path: storyPath(st.ID, st.Title), SourceName: name})
	}
	return out
}

// sourceNames maps source IDs to the names readers see.
func (s *Server) sourceNames(ctx context.Context) (map[int64]string, error) {
	srcs, err := s.opts.Stories.Sources(ctx, feeds.SourceFilter{})
	if err != nil {
		return nil, err
	}
	m := make(map[int64]string, len(srcs))
	for _, src := range srcs {
		m[src.ID] = sourceName(src)
	}
	return m, nil
}

// sourceName is the name readers see for a source: its title, else its
// site's host, else its feed's host.
func sourceName(src feeds.Source) string {
	switch {
	case src.Title != "":
		return src.Title
	case hostOf(src.SiteURL) != "":
		return hostOf(src.SiteURL)
	default:
		return hostOf(src.URL)
	}
}
