package feeds

import (
	"net/url"
	"time"

	"github.com/mmcdole/gofeed"
)

// SummaryMax is the longest plain-text summary kept for a story, in characters.
const SummaryMax = 400

// CanonicalURL returns the canonical form of raw, resolved against base (which
// may be nil): http or https only, lower-case host, no default port, no fragment,
// no tracking parameters (utm_*, fbclid, gclid, …). Anything else is an error.
func CanonicalURL(raw string, base *url.URL) (string, error) {
	panic("TODO(clean): CanonicalURL")
}

// CleanHTML sanitises feed content: no scripts, event handlers, iframes, forms,
// styles, tracking pixels or remote images; links resolved against base and kept
// only when http(s).
func CleanHTML(html string, base *url.URL) string {
	panic("TODO(clean): CleanHTML")
}

// Summarize turns HTML or text into plain text of at most max characters, cut at
// a word boundary with an ellipsis when shortened.
func Summarize(htmlOrText string, max int) string {
	panic("TODO(clean): Summarize")
}

// StoryFromItem builds a cleaned story from a parsed feed item of src: canonical
// URL (relative links resolved against the feed's link or src.URL), namespaced
// GUID, sanitised content, summary, dates (missing: now; future: clamped to now).
// It reports false for an item that cannot be a story (no usable link or title).
// Relevance, tags, visibility and relations are left for the caller.
func StoryFromItem(src Source, feed *gofeed.Feed, item *gofeed.Item, now time.Time) (Story, bool) {
	panic("TODO(clean): StoryFromItem")
}
