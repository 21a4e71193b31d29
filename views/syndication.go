package views

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"html"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/tidings/tidings/feeds"
)

// feedLen is how many stories the site's own feeds carry.
const feedLen = 50

// feedFormat is one of the site's feed formats.
type feedFormat int

const (
	formatRSS feedFormat = iota
	formatAtom
	formatJSON
)

// feedFile is the file name of each format, after the site or topic path.
var feedFile = map[feedFormat]string{formatRSS: "/feed.xml", formatAtom: "/atom.xml", formatJSON: "/feed.json"}

// feedEntry is a story as the feeds show it: the link goes to the story page
// on this site, and the original article travels with it.
type feedEntry struct {
	Title, Summary, Page, ID, Original string
	SourceName, SourceFeed             string
	Published                          time.Time
	Tags                               []string
}

// feedData is one feed before it is written in a format.
type feedData struct {
	Title, Description string
	Home, Self         string // absolute URLs of the page and of this feed
	ID                 string // permanent ID of the feed (its page's URL)
	Updated            time.Time
	Entries            []feedEntry
}

// syndicate serves one of the site's feeds, site-wide or for the topic in
// the route's :tag.
func (s *Server) syndicate(format feedFormat) echo.HandlerFunc {
	return func(c echo.Context) error {
		tag := c.Param("tag")
		prefix := ""
		if c.Path() != feedFile[format] {
			if !tagPattern.MatchString(tag) {
				return echo.NewHTTPError(http.StatusNotFound)
			}
			prefix = "/topics/" + tag
		}
		return s.cached(c, prefix+feedFile[format], func(ctx context.Context) (rendered, error) {
			d, err := s.feedData(ctx, tag, prefix+feedFile[format])
			if err != nil {
				return rendered{}, err
			}
			switch format {
			case formatAtom:
				return writeXML("application/atom+xml; charset=utf-8", atomOf(d))
			case formatJSON:
				return writeJSONFeed(d)
			default:
				return writeXML("application/rss+xml; charset=utf-8", rssOf(d))
			}
		})
	}
}

// feedData reads the latest visible stories, of one topic when tag is set.
// A topic the classifier does not give and no story carries is a 404.
func (s *Server) feedData(ctx context.Context, tag, self string) (feedData, error) {
	f := feeds.StoryFilter{VisibleOnly: true, LeadersOnly: true, Tag: tag, Limit: feedLen}
	list, err := s.opts.Stories.Stories(ctx, f)
	if err != nil {
		return feedData{}, err
	}
	d := feedData{
		Title:       siteName + " — tech-privacy news",
		Description: "The latest news about privacy and technology.",
		Home:        s.abs("/"),
		Self:        s.abs(self),
	}
	if tag != "" {
		if len(list) == 0 && !knownTopic(tag) {
			return feedData{}, echo.NewHTTPError(http.StatusNotFound)
		}
		d.Title = siteName + ": " + tag
		d.Description = "Tech-privacy news about " + tag + "."
		d.Home = s.abs("/topics/" + tag)
	}
	d.ID = d.Home
	srcs, err := s.opts.Stories.Sources(ctx, feeds.SourceFilter{})
	if err != nil {
		return feedData{}, err
	}
	byID := make(map[int64]feeds.Source, len(srcs))
	for _, src := range srcs {
		byID[src.ID] = src
	}
	for _, st := range list {
		src, ok := byID[st.SourceID]
		e := feedEntry{
			Title: st.Title, Summary: st.Summary, Page: s.abs(storyPath(st.ID, st.Title)),
			ID: s.abs(storyPath(st.ID, "")), Original: outbound(st.URL),
			Published: st.PublishedAt.UTC(), Tags: st.Tags,
		}
		if ok {
			e.SourceName, e.SourceFeed = sourceName(src), outbound(src.URL)
		}
		if e.Published.After(d.Updated) {
			d.Updated = e.Published
		}
		d.Entries = append(d.Entries, e)
	}
	if d.Updated.IsZero() {
		d.Updated = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) // an empty feed's fixed date
	}
	return d, nil
}

// description is an entry's HTML for RSS and Atom: the summary and a link to
// the original, every piece escaped.
func (e feedEntry) description() string {
	out := "<p>" + html.EscapeString(e.Summary) + "</p>"
	if e.Original != "" {
		name := e.SourceName
		if name == "" {
			name = hostOf(e.Original)
		}
		out += `<p><a href="` + html.EscapeString(e.Original) + `">Read the original at ` + html.EscapeString(name) + "</a></p>"
	}
	return out
}

func writeXML(contentType string, v any) (rendered, error) {
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	enc.Indent("", "  ")
	if err := enc.Encode(v); err != nil {
		return rendered{}, fmt.Errorf("views: writing feed: %w", err)
	}
	buf.WriteByte('\n')
	return rendered{body: buf.Bytes(), contentType: contentType}, nil
}

// RSS 2.0.
type rssDoc struct {
	XMLName xml.Name   `xml:"rss"`
	Version string     `xml:"version,attr"`
	AtomNS  string     `xml:"xmlns:atom,attr"`
	Channel rssChannel `xml:"channel"`
}

type rssChannel struct {
	Title         string    `xml:"title"`
	Link          string    `xml:"link"`
	Description   string    `xml:"description"`
	Language      string    `xml:"language"`
	LastBuildDate string    `xml:"lastBuildDate"`
	Self          atomLink  `xml:"atom:link"`
	Items         []rssItem `xml:"item"`
}

type rssItem struct {
	Title       string     `xml:"title"`
	Link        string     `xml:"link"`
	GUID        rssGUID    `xml:"guid"`
	PubDate     string     `xml:"pubDate"`
	Description string     `xml:"description"`
	Categories  []string   `xml:"category"`
	Source      *rssSource `xml:"source,omitempty"`
}

type rssGUID struct {
	IsPermaLink bool   `xml:"isPermaLink,attr"`
	Value       string `xml:",chardata"`
}

type rssSource struct {
	URL  string `xml:"url,attr"`
	Name string `xml:",chardata"`
}

func rssOf(d feedData) rssDoc {
	ch := rssChannel{
		Title: d.Title, Link: d.Home, Description: d.Description, Language: "en",
		LastBuildDate: d.Updated.Format(time.RFC1123Z),
		Self:          atomLink{Href: d.Self, Rel: "self", Type: "application/rss+xml"},
	}
	for _, e := range d.Entries {
		it := rssItem{
			Title: e.Title, Link: e.Page, GUID: rssGUID{IsPermaLink: true, Value: e.ID},
			PubDate: e.Published.Format(time.RFC1123Z), Description: e.description(), Categories: e.Tags,
		}
		if e.SourceFeed != "" {
			it.Source = &rssSource{URL: e.SourceFeed, Name: e.SourceName}
		}
		ch.Items = append(ch.Items, it)
	}
	return rssDoc{Version: "2.0", AtomNS: "http://www.w3.org/2005/Atom", Channel: ch}
}

// Atom 1.0 (RFC 4287).
type atomDoc struct {
	XMLName xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	Title   string      `xml:"title"`
	ID      string      `xml:"id"`
	Updated string      `xml:"updated"`
	Links   []atomLink  `xml:"link"`
	Author  atomPerson  `xml:"author"`
	Entries []atomEntry `xml:"entry"`
}

type atomLink struct {
	Href string `xml:"href,attr"`
	Rel  string `xml:"rel,attr,omitempty"`
	Type string `xml:"type,attr,omitempty"`
}

type atomPerson struct {
	Name string `xml:"name"`
}

type atomEntry struct {
	Title      string         `xml:"title"`
	ID         string         `xml:"id"`
	Published  string         `xml:"published"`
	Updated    string         `xml:"updated"`
	Links      []atomLink     `xml:"link"`
	Author     *atomPerson    `xml:"author,omitempty"`
	Categories []atomCategory `xml:"category"`
	Summary    atomText       `xml:"summary"`
}

type atomCategory struct {
	Term string `xml:"term,attr"`
}

type atomText struct {
	Type  string `xml:"type,attr"`
	Value string `xml:",chardata"`
}

func atomOf(d feedData) atomDoc {
	doc := atomDoc{
		Title: d.Title, ID: d.ID, Updated: d.Updated.Format(time.RFC3339),
		Links: []atomLink{
			{Href: d.Home, Rel: "alternate", Type: "text/html"},
			{Href: d.Self, Rel: "self", Type: "application/atom+xml"},
		},
		Author: atomPerson{Name: siteName},
	}
	for _, e := range d.Entries {
		ae := atomEntry{
			Title: e.Title, ID: e.ID,
			Published: e.Published.Format(time.RFC3339), Updated: e.Published.Format(time.RFC3339),
			Links:   []atomLink{{Href: e.Page, Rel: "alternate", Type: "text/html"}},
			Summary: atomText{Type: "html", Value: e.description()},
		}
		if e.Original != "" {
			ae.Links = append(ae.Links, atomLink{Href: e.Original, Rel: "related", Type: "text/html"})
		}
		if e.SourceName != "" {
			ae.Author = &atomPerson{Name: e.SourceName}
		}
		for _, t := range e.Tags {
			ae.Categories = append(ae.Categories, atomCategory{Term: t})
		}
		doc.Entries = append(doc.Entries, ae)
	}
	return doc
}

// JSON Feed 1.1 (https://jsonfeed.org/version/1.1).
type jsonFeed struct {
	Version     string     `json:"version"`
	Title       string     `json:"title"`
	HomePageURL string     `json:"home_page_url"`
	FeedURL     string     `json:"feed_url"`
	Description string     `json:"description"`
	Language    string     `json:"language"`
	Items       []jsonItem `json:"items"`
}

type jsonItem struct {
	ID            string       `json:"id"`
	URL           string       `json:"url"`
	ExternalURL   string       `json:"external_url,omitempty"`
	Title         string       `json:"title"`
	ContentText   string       `json:"content_text"`
	Summary       string       `json:"summary,omitempty"`
	DatePublished string       `json:"date_published"`
	Tags          []string     `json:"tags,omitempty"`
	Authors       []jsonAuthor `json:"authors,omitempty"`
}

type jsonAuthor struct {
	Name string `json:"name"`
}

func writeJSONFeed(d feedData) (rendered, error) {
	jf := jsonFeed{
		Version: "https://jsonfeed.org/version/1.1", Title: d.Title, HomePageURL: d.Home,
		FeedURL: d.Self, Description: d.Description, Language: "en", Items: []jsonItem{},
	}
	for _, e := range d.Entries {
		it := jsonItem{
			ID: e.ID, URL: e.Page, ExternalURL: e.Original, Title: e.Title,
			ContentText: e.Summary, Summary: shorten(e.Summary, summaryLen),
			DatePublished: e.Published.Format(time.RFC3339), Tags: e.Tags,
		}
		if e.SourceName != "" {
			it.Authors = []jsonAuthor{{Name: e.SourceName}}
		}
		jf.Items = append(jf.Items, it)
	}
	b, err := json.MarshalIndent(jf, "", "  ")
	if err != nil {
		return rendered{}, fmt.Errorf("views: writing feed: %w", err)
	}
	return rendered{body: append(b, '\n'), contentType: "application/feed+json; charset=utf-8"}, nil
}

// maxSitemapStories bounds the sitemap well under the protocol's 50,000 URLs.
const maxSitemapStories = 10000

type sitemapDoc struct {
	XMLName xml.Name     `xml:"http://www.sitemaps.org/schemas/sitemap/0.9 urlset"`
	URLs    []sitemapURL `xml:"url"`
}

type sitemapURL struct {
	Loc     string `xml:"loc"`
	LastMod string `xml:"lastmod,omitempty"`
}

// sitemap lists the home page, every topic with stories and the latest
// visible stories.
func (s *Server) sitemap(c echo.Context) error {
	return s.cached(c, "/sitemap.xml", func(ctx context.Context) (rendered, error) {
		doc := sitemapDoc{URLs: []sitemapURL{{Loc: s.abs("/")}}}
		for _, tag := range feeds.TopicTags() {
			n, err := s.opts.Stories.CountStories(ctx, feeds.StoryFilter{VisibleOnly: true, LeadersOnly: true, Tag: tag})
			if err != nil {
				return rendered{}, err
			}
			if n > 0 {
				doc.URLs = append(doc.URLs, sitemapURL{Loc: s.abs("/topics/" + tag)})
			}
		}
		list, err := s.opts.Stories.Stories(ctx, feeds.StoryFilter{VisibleOnly: true, Limit: maxSitemapStories})
		if err != nil {
			return rendered{}, err
		}
		for _, st := range list {
			doc.URLs = append(doc.URLs, sitemapURL{
				Loc: s.abs(storyPath(st.ID, st.Title)), LastMod: st.PublishedAt.UTC().Format("2006-01-02"),
			})
		}
		return writeXML("application/xml; charset=utf-8", doc)
	})
}

// robots lets every crawler in, except to the admin pages, and points to the
// sitemap.
func (s *Server) robots(c echo.Context) error {
	return s.cached(c, "/robots.txt", func(context.Context) (rendered, error) {
		body := "User-agent: *\nAllow: /\nDisallow: /admin/\n\nSitemap: " + s.abs("/sitemap.xml") + "\n"
		return rendered{body: []byte(body), contentType: echo.MIMETextPlainCharsetUTF8}, nil
	})
}
