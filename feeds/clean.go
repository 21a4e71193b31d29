package feeds

import (
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/mmcdole/gofeed"
)

// SummaryMax is the longest plain-text summary kept for a story, in characters.
const SummaryMax = 400

// Limits on the plain-text fields of a story, in characters.
const (
	titleMax         = 300
	titleFromTextMax = 80 // a title made from the summary of an untitled item
	authorMax        = 100
	// guidMax is the longest GUID stored as is; longer ones are hashed.
	guidMax = 512
)

// StoryFromItem builds a cleaned story from a parsed feed item of src: canonical
// URL (relative links resolved against the feed's link or src.URL), namespaced
// GUID, sanitised content, summary, dates (missing: now; future: clamped to now).
// It reports false for an item that cannot be a story (no usable link or title).
// Relevance, tags, visibility and relations are left for the caller.
//
// The URL is the first of item.Link, item.Links and an http(s) GUID (RSS
// permalinks) that canonicalises. An item without a title but with text gets
// the first 80 characters of that text as its title. GUIDs that are http(s)
// URLs become "u:"+canonical URL, so the same article found through two feeds
// is one story; other GUIDs become "s<sourceID>:"+GUID, so two feeds both
// numbering their items from 1 do not collide.
func StoryFromItem(src Source, feed *gofeed.Feed, item *gofeed.Item, now time.Time) (Story, bool) {
	if item == nil {
		return Story{}, false
	}
	now = now.UTC()
	link, ok := itemURL(src, feed, item)
	if !ok {
		return Story{}, false
	}
	body := item.Content
	if strings.TrimSpace(body) == "" {
		body = item.Description
	}
	summarySource := item.Description
	if strings.TrimSpace(summarySource) == "" {
		summarySource = item.Content
	}
	linkURL, _ := url.Parse(link) // canonical, so it parses
	content := CleanHTML(body, linkURL)
	var summary string
	if summarySource == body && !hasImage(body) {
		// The sanitised content has the same text, less what was hidden, and
		// is cheaper to read. (A dropped image leaves no space between the
		// words around it in the content, but does in a summary.)
		summary = cutText(sanitisedText(content, SummaryMax+1), SummaryMax)
	} else {
		summary = Summarize(summarySource, SummaryMax)
	}

	title := Summarize(item.Title, titleMax)
	if title == "" {
		title = Summarize(summary, titleFromTextMax)
	}
	if title == "" {
		return Story{}, false
	}

	return Story{
		SourceID:    src.ID,
		GUID:        storyGUID(src.ID, item.GUID),
		URL:         link,
		Title:       title,
		Summary:     summary,
		Content:     content,
		Author:      itemAuthor(item),
		PublishedAt: itemDate(item, now),
		FirstSeenAt: now,
	}, true
}

// itemURL returns the canonical URL of item: its link, else the first of its
// links, else its GUID when that is an http(s) URL, resolved against the feed's
// own link (itself resolved against the source URL) or the source URL.
func itemURL(src Source, feed *gofeed.Feed, item *gofeed.Item) (string, bool) {
	base, err := url.Parse(strings.TrimSpace(src.URL))
	if err != nil {
		base = nil
	}
	if feed != nil && strings.TrimSpace(feed.Link) != "" {
		if fl, err := CanonicalURL(feed.Link, base); err == nil {
			base, _ = url.Parse(fl)
		}
	}
	candidates := make([]string, 0, 2+len(item.Links))
	candidates = append(candidates, item.Link)
	candidates = append(candidates, item.Links...)
	for _, c := range candidates {
		if strings.TrimSpace(c) == "" {
			continue
		}
		if u, err := CanonicalURL(c, base); err == nil {
			return u, true
		}
	}
	if isAbsoluteHTTP(item.GUID) {
		if u, err := CanonicalURL(item.GUID, nil); err == nil {
			return u, true
		}
	}
	return "", false
}

// isAbsoluteHTTP reports whether s parses as an http(s) URL with a host.
func isAbsoluteHTTP(s string) bool {
	u, err := url.Parse(strings.TrimSpace(s))
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// storyGUID namespaces an item's GUID (see StoryFromItem).
func storyGUID(sourceID int64, guid string) string {
	guid = strings.TrimSpace(validUTF8(guid))
	if guid == "" {
		return ""
	}
	if isAbsoluteHTTP(guid) {
		if u, err := CanonicalURL(guid, nil); err == nil {
			return "u:" + u
		}
	}
	if len(guid) > guidMax {
		sum := sha256.Sum256([]byte(guid))
		guid = "sha256:" + hex.EncodeToString(sum[:])
	}
	return "s" + strconv.FormatInt(sourceID, 10) + ":" + guid
}

// itemAuthor returns the first author's name as plain text. Words that look
// like email addresses are dropped: feeds often put the writer's address in
// the author field, and this site publishes no addresses.
func itemAuthor(item *gofeed.Item) string {
	people := item.Authors
	if len(people) == 0 && item.Author != nil {
		people = []*gofeed.Person{item.Author}
	}
	for _, p := range people {
		if p == nil {
			continue
		}
		words := strings.Fields(Summarize(p.Name, 1000))
		kept := words[:0]
		for _, w := range words {
			if at := strings.IndexByte(w, '@'); at > 0 && strings.Contains(w[at:], ".") {
				continue
			}
			kept = append(kept, w)
		}
		name := strings.Join(kept, " ")
		if strings.HasPrefix(name, "(") && strings.HasSuffix(name, ")") {
			name = strings.TrimSpace(name[1 : len(name)-1])
		}
		if name = cutText(name, authorMax); name != "" {
			return name
		}
	}
	return ""
}

// itemDate returns the item's publication date, else its update date, else
// now; never later than now; always UTC.
func itemDate(item *gofeed.Item, now time.Time) time.Time {
	t := now
	switch {
	case item.PublishedParsed != nil && !item.PublishedParsed.IsZero():
		t = *item.PublishedParsed
	case item.UpdatedParsed != nil && !item.UpdatedParsed.IsZero():
		t = *item.UpdatedParsed
	}
	if t.After(now) {
		t = now
	}
	return t.UTC()
}

// Summarize turns HTML or text into plain text of at most max characters, cut at
// a word boundary with an ellipsis when shortened.
//
// Tags are removed (the text of script, style and similar elements with them),
// entities are decoded, control characters dropped and runs of white space
// collapsed to one space.
func Summarize(htmlOrText string, max int) string {
	// cutText needs the first max+1 runes of the text, no more.
	return cutText(htmlToText(htmlOrText, max+1), max)
}

// cutText shortens s, which has no runs of white space, to at most max runes:
// at the last space that keeps at least half of the text, else inside the
// word, followed by "…".
func cutText(s string, max int) string {
	if max <= 0 {
		return ""
	}
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	// Room for max-1 runes and the ellipsis.
	end, n := 0, 0
	for i := range s {
		if n == max-1 {
			end = i
			break
		}
		n++
	}
	cut := s[:end]
	if s[end] != ' ' {
		if sp := strings.LastIndexByte(cut, ' '); sp > 0 && utf8.RuneCountInString(cut[:sp]) >= (max-1)/2 {
			cut = cut[:sp]
		}
	}
	cut = strings.TrimRightFunc(cut, func(r rune) bool {
		return unicode.IsSpace(r) || strings.ContainsRune(",;:-–—", r)
	})
	return cut + "…"
}
