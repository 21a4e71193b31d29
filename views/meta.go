package views

import (
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tidings/tidings/feeds"
)

// siteName is what the site calls itself in titles and feeds.
const siteName = "Tidings"

// meta is what the layout puts in <head>: title, description, canonical link,
// OpenGraph and Twitter card tags, feed links and JSON-LD data. No image is
// ever named, so no page makes a reader's browser fetch from another origin.
type meta struct {
	Title       string // <title>
	Heading     string // og:title and twitter:title; Title when empty
	Description string
	Canonical   string // absolute URL of the page
	Type        string // og:type: "website" or "article"
	Published   time.Time
	Tags        []string
	Feeds       []feedLink
	// LD is marshalled as JSON into an application/ld+json data block.
	// html/template escapes <, > and & in it, so a title cannot end the block.
	LD      any
	NoIndex bool
	// Refresh, when above zero, makes the page reload itself after that
	// many seconds (a send in progress); no script needed.
	Refresh int
}

// OGTitle is the title shared by OpenGraph and Twitter card tags.
func (m meta) OGTitle() string {
	if m.Heading != "" {
		return m.Heading
	}
	return m.Title
}

// feedLink is a <link rel="alternate"> to one of the site's feeds.
type feedLink struct {
	Type, Title, Href string
}

// siteFeeds are the site-wide feed links, for <head> and the footer.
func siteFeeds(prefix, what string) []feedLink {
	return []feedLink{
		{Type: "application/rss+xml", Title: what + " (RSS)", Href: prefix + "/feed.xml"},
		{Type: "application/atom+xml", Title: what + " (Atom)", Href: prefix + "/atom.xml"},
		{Type: "application/feed+json", Title: what + " (JSON Feed)", Href: prefix + "/feed.json"},
	}
}

// abs makes a site path absolute on the base URL.
func (s *Server) abs(path string) string { return s.baseURL + path }

// storyPath is the canonical path of a story page.
func storyPath(id int64, title string) string { return feeds.StoryPath(id, title) }

// sourcePath is the path of a source's page.
func sourcePath(id int64) string { return "/sources/" + strconv.FormatInt(id, 10) }

// outbound returns the link to use for an article on another site: its
// canonical form (http or https, tracking parameters dropped), or "" when it
// has none, so no javascript: or utm_ link reaches a page whatever a store holds.
func outbound(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := feeds.CanonicalURL(raw, nil)
	if err != nil {
		return ""
	}
	return u
}

// shorten cuts s to at most n bytes at a word boundary, adding "…" when cut.
func shorten(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}
	cut := s[:n]
	for !utf8.ValidString(cut) {
		cut = cut[:len(cut)-1]
	}
	if i := strings.LastIndexByte(cut, ' '); i > n/2 {
		cut = cut[:i]
	}
	return strings.TrimRight(cut, " ,;:.-–—") + "…"
}

// newsArticle is the schema.org NewsArticle data of a story page.
type newsArticle struct {
	Context       string        `json:"@context"`
	Type          string        `json:"@type"`
	Headline      string        `json:"headline"`
	Description   string        `json:"description,omitempty"`
	URL           string        `json:"url"`
	MainEntity    string        `json:"mainEntityOfPage"`
	DatePublished string        `json:"datePublished"`
	Keywords      []string      `json:"keywords,omitempty"`
	IsBasedOn     string        `json:"isBasedOn,omitempty"`
	Author        *organization `json:"author,omitempty"`
	Publisher     *organization `json:"publisher,omitempty"`
}

type organization struct {
	Type string `json:"@type"`
	Name string `json:"name"`
	URL  string `json:"url,omitempty"`
}

// hostOf is the host name of a URL, without "www.", or "".
func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return strings.TrimPrefix(u.Hostname(), "www.")
}
