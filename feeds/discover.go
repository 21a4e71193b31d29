package feeds

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/url"
	"strings"

	"github.com/mmcdole/gofeed"
	"golang.org/x/net/html"
)

// ErrNoFeed means an address serves neither a feed nor an HTML page that
// announces one. Discover returns it inside a *FeedError whose Reason says
// what was found instead.
var ErrNoFeed = errors.New("feeds: no feed found")

const (
	// maxFoundFeeds bounds the feeds one page may offer.
	maxFoundFeeds = 20
	// maxDiscoverHead is how much of a page is read for its <link>s.
	maxDiscoverHead = 256 << 10
)

// FoundFeed is a feed found by Discover.
type FoundFeed struct {
	URL   string // canonical (see CanonicalURL)
	Title string // the link's title attribute, or the feed's own title; may be empty
	Type  string // "rss", "atom" or "json"; empty when the URL was a feed itself
}

// Discover finds the feeds behind an address, fetched with f, so through its
// private-address guard, size cap, timeouts and redirect limit: the address
// itself when it serves a feed; otherwise, for an HTML page, every feed its
// head announces with <link rel="alternate" type="application/rss+xml"> (or
// atom+xml, feed+json), resolved against the page's address (or its <base>),
// in page order, without repeats. A failure is a *FeedError: one that
// matches ErrNoFeed when the page offers no feed, or the fetch's own.
func (f *Fetcher) Discover(ctx context.Context, rawURL string) ([]FoundFeed, error) {
	u, err := CanonicalURL(rawURL, nil)
	if err != nil {
		return nil, &FeedError{Reason: "not an http(s) URL", Err: err}
	}
	res, err := f.Fetch(ctx, Source{URL: u})
	if err != nil {
		return nil, err
	}
	base, err := url.Parse(res.URL)
	if err != nil {
		return nil, &FeedError{Reason: "not an http(s) URL", Err: err}
	}
	feed, err := ParseFeed(res.Body, res.ContentType, base)
	if err == nil {
		return []FoundFeed{{URL: u, Title: oneLine(feed.Title)}}, nil
	}
	if !errors.Is(err, gofeed.ErrFeedTypeNotDetected) {
		return nil, err // a feed, but a broken one: say so
	}
	found := discoverFeeds(res.Body, base, maxFoundFeeds)
	if len(found) == 0 {
		reason := "neither a feed nor a web page that links to one"
		if looksLikeHTML(res.Body) || strings.Contains(res.ContentType, "html") {
			reason = "a web page that links to no feed (no <link rel=\"alternate\"> to RSS, Atom or JSON Feed)"
		}
		return nil, &FeedError{Reason: reason, Err: ErrNoFeed}
	}
	return found, nil
}

// Discover finds the feeds behind an address with the poller's own fetcher
// (see Fetcher.Discover), so its AllowPrivate setting applies.
func (p *Poller) Discover(ctx context.Context, rawURL string) ([]FoundFeed, error) {
	return p.fetcher.Discover(ctx, rawURL)
}

// feedLinkTypes maps the link types that announce a feed to FoundFeed.Type.
var feedLinkTypes = map[string]string{
	"application/rss+xml":   "rss",
	"application/atom+xml":  "atom",
	"application/feed+json": "json",
	"application/json":      "json",
}

// discoverFeeds returns up to limit feeds an HTML page announces in its head
// with <link rel="alternate" type=…>, canonicalised, in page order, without
// repeats. Reading stops at <body>.
func discoverFeeds(body []byte, base *url.URL, limit int) []FoundFeed {
	var out []FoundFeed
	z := html.NewTokenizer(io.LimitReader(bytes.NewReader(body), maxDiscoverHead))
	for len(out) < limit {
		switch z.Next() {
		case html.ErrorToken:
			return out
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			switch {
			case string(name) == "body":
				return out
			case !hasAttr || (string(name) != "link" && string(name) != "base"):
				continue
			}
			attrs := tagAttrs(z)
			if string(name) == "base" {
				if b, err := url.Parse(strings.TrimSpace(attrs["href"])); err == nil && base != nil {
					base = base.ResolveReference(b)
				}
				continue
			}
			kind, ok := feedLinkTypes[strings.ToLower(strings.TrimSpace(attrs["type"]))]
			if !ok || attrs["href"] == "" || !hasToken(attrs["rel"], "alternate") {
				continue
			}
			u, err := CanonicalURL(attrs["href"], base)
			if err != nil || containsFeed(out, u) {
				continue
			}
			out = append(out, FoundFeed{URL: u, Title: oneLine(attrs["title"]), Type: kind})
		}
	}
	return out
}

// tagAttrs reads the attributes of the tokenizer's current tag; the first of
// a repeated name wins, as in browsers.
func tagAttrs(z *html.Tokenizer) map[string]string {
	attrs := map[string]string{}
	for {
		k, v, more := z.TagAttr()
		if _, seen := attrs[string(k)]; !seen {
			attrs[string(k)] = string(v)
		}
		if !more {
			return attrs
		}
	}
}

// hasToken reports whether a space-separated list (a rel attribute) holds
// token, ignoring case.
func hasToken(list, token string) bool {
	for _, t := range strings.Fields(list) {
		if strings.EqualFold(t, token) {
			return true
		}
	}
	return false
}

func containsFeed(list []FoundFeed, u string) bool {
	for _, f := range list {
		if f.URL == u {
			return true
		}
	}
	return false
}
